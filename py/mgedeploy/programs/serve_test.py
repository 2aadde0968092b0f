"""//py:serve as a user runs it: a real socket on loopback, usage errors, a slow upload, and
SIGTERM with requests in flight (all answered, exit 0)."""
import concurrent.futures
import json
import os
import re
import signal
import socket
import subprocess
import time

import httpx

from mgedeploy import contract
from mgedeploy.lite import options as lite_options
from tests import testing

SERVE = os.path.join(testing.ROOT, "py", "serve")
URL = "/v2/models/efficientnet_lite0/classify"


class Server:
    """Starts //py:serve on a free loopback port; `stop()` sends SIGTERM and returns the exit status."""

    def __init__(self, *flags, model=testing.LITE0):
        env = dict(os.environ, RUNFILES_DIR=os.path.dirname(testing.ROOT))
        self.process = subprocess.Popen([SERVE, "--port", "0", "--model", model, *flags], env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()  # "Serving ... at http://127.0.0.1:PORT/ ..."
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, "no start-up line: %r %s" % (line, self.process.stderr.read() if not line else "")
        self.port = int(match.group(1))
        self.url = "http://127.0.0.1:%d" % self.port

    def stop(self, timeout=60):
        self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout)
        self.stderr = self.process.stderr.read()
        return status


def test_usage_and_model_errors_are_one_line():
    testing.assert_one_line_error(testing.run(SERVE, "--workers", "0"), 2, "--workers must be a positive")
    testing.assert_one_line_error(testing.run(SERVE, "--port", "70000"), 2, "--port")
    testing.assert_one_line_error(testing.run(SERVE, "--model", "/nonexistent.mge"), 1, "model file not found")
    testing.assert_one_line_error(testing.run(SERVE, "--model", testing.LITE0, "--model", testing.LITE0), 2,
                                  "two models named")


def recorded(tmp_path):
    """The test export with the settings export picks on most machines (weight preprocess and a
    recorded kernel sequence), as a user's model has them: the server's networks must be freed on
    the threads that recorded them, or MegEngine aborts at exit."""
    model = testing.copy_model(testing.LITE0, str(tmp_path), "efficientnet_lite0.mge")
    info = json.load(open(contract.path_for(model)))
    info["lite"] = {"weight_preprocess": True, "record_level": 1, "nchw88": False,
                    "cpu": lite_options.cpu_fingerprint()}
    contract.write(info, contract.path_for(model))
    return model


def test_serves_on_loopback_refuses_a_slow_upload_and_drains_on_sigterm(tmp_path):
    server = Server("--workers", "2", "--body_timeout_s", "1", model=recorded(tmp_path))
    try:
        raw = open(testing.CAT, "rb").read()
        answer = httpx.post(server.url + URL, content=raw, timeout=60)  # the first run records the kernels
        assert answer.status_code == 200 and answer.json()["top"][0]["name"] == "tiger_cat"
        assert httpx.get(server.url + "/").status_code == 200

        # A slow upload: headers promise 1000 bytes, 10 arrive, then nothing: 408 after ~1 s.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(b"POST " + URL.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + raw[:10])
            reply = s.recv(4096).decode(errors="replace")
        assert reply.startswith("HTTP/1.1 408"), reply

        # SIGTERM while 6 requests are in flight: every one is answered, exit 0.
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(httpx.post, server.url + URL, content=raw, timeout=30) for _ in range(6)]
            time.sleep(0.3)
            status = server.stop()
            codes = [f.result().status_code for f in futures]
        assert codes == [200] * 6, codes
        assert status == 0, server.stderr
        assert "Traceback" not in server.stderr, server.stderr
    finally:
        if server.process.poll() is None:
            server.process.kill()


if __name__ == "__main__":
    testing.main(__file__)
