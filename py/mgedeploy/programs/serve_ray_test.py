"""//py:serve_ray starts the server app as 2 Ray Serve replicas on this machine: requests reach
both replicas, every answer equals the in-process Classifier's, and SIGTERM stops Ray and exits 0.
With --max_replicas, Ray Serve's autoscaling adds a replica under sustained load."""
import concurrent.futures
import os
import signal
import socket
import subprocess
import time

import httpx

from mgedeploy import Classifier, classifier
from tests import testing

SERVE_RAY = os.path.join(testing.ROOT, "py", "serve_ray")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(*flags):
    port = free_port()
    env = dict(os.environ, RUNFILES_DIR=os.path.dirname(testing.ROOT))
    process = subprocess.Popen([SERVE_RAY, "--model", testing.LITE0, "--cpus_per_replica", "0.5", "--port", str(port)]
                               + list(flags), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if "Serving efficientnet_lite0 at http://127.0.0.1:%d/" % port not in line:
        process.kill()
        raise AssertionError((line, process.stderr.read()))
    return process, port


def test_usage_errors_are_one_line():
    testing.assert_one_line_error(testing.run(SERVE_RAY, "--replicas", "2", "--max_replicas", "1"), 2,
                                  "--max_replicas must be 0 or at least --replicas")
    testing.assert_one_line_error(testing.run(SERVE_RAY, "--replicas", "0"), 2, "--replicas must be a positive")


def test_two_replicas_answer_and_agree():
    process, port = start("--replicas", "2")
    try:
        url = "http://127.0.0.1:%d/v2/models/efficientnet_lite0/classify" % port
        raw = open(testing.CAT, "rb").read()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: httpx.post(url, content=raw, timeout=60), range(40)))
        assert [a.status_code for a in answers] == [200] * 40, [a.text for a in answers if a.status_code != 200]
        replicas = {a.headers["x-served-by"] for a in answers}
        assert len(replicas) == 2, replicas
        expected = classifier.top_classes(Classifier(testing.LITE0).probabilities(testing.CAT),
                                          Classifier(testing.LITE0).labels, 5)
        assert all(a.json()["top"] == expected for a in answers)  # same code, same network: identical
    finally:
        process.send_signal(signal.SIGTERM)
        status = process.wait(90)
    assert status == 0, process.stderr.read()


def test_autoscaling_adds_a_replica_under_load():
    process, port = start("--replicas", "1", "--max_replicas", "2")
    try:
        url = "http://127.0.0.1:%d/v2/models/efficientnet_lite0/classify" % port
        raw = open(testing.CAT, "rb").read()
        replicas, statuses = set(), set()
        stop = time.monotonic() + 90  # bounded: Ray decides after its metrics and the 5 s upscale delay
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            while len(replicas) < 2 and time.monotonic() < stop:
                answers = list(pool.map(lambda _: httpx.post(url, content=raw, timeout=60), range(24)))
                replicas |= {a.headers.get("x-served-by") for a in answers if a.status_code == 200}
                statuses |= {a.status_code for a in answers}
        assert len(replicas) == 2, (replicas, statuses)
        assert statuses <= {200, 429}, statuses  # 429 is the replica's own queue, never an error
    finally:
        process.send_signal(signal.SIGTERM)
        status = process.wait(90)
    assert status == 0, process.stderr.read()


if __name__ == "__main__":
    testing.main(__file__)
