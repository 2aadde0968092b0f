"""//py:serve_ray starts the server app as 2 Ray Serve replicas on this machine: requests reach
both replicas, every answer equals the in-process Classifier's, and SIGTERM stops Ray and exits 0."""
import concurrent.futures
import os
import signal
import socket
import subprocess

import httpx

from mgedeploy import Classifier, classifier
from tests import testing

SERVE_RAY = os.path.join(testing.ROOT, "py", "serve_ray")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_replicas_answer_and_agree():
    port = free_port()
    env = dict(os.environ, RUNFILES_DIR=os.path.dirname(testing.ROOT))
    process = subprocess.Popen([SERVE_RAY, "--model", testing.LITE0, "--replicas", "2", "--cpus_per_replica", "0.5",
                                "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        line = process.stdout.readline()
        assert "Serving efficientnet_lite0 at http://127.0.0.1:%d/" % port in line, (line, process.stderr.read())
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


if __name__ == "__main__":
    testing.main(__file__)
