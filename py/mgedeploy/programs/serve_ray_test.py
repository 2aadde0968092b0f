"""//py:serve_ray starts the server app as 2 Ray Serve replicas on this machine: requests reach
both replicas, every answer equals the in-process Classifier's, and SIGTERM stops Ray and exits 0.
With --max_replicas, Ray Serve's autoscaling adds a replica under sustained load. Nothing is written
to the home directory (Ray 2.60 would write ~/.ray/auth_token). --address of a cluster with token
authentication: no token or a wrong one is one line saying what to set; the right one serves.
A repository's encrypted version loads in every replica with --model_key_file."""
import concurrent.futures
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import httpx

from mgedeploy import Classifier, contract, model_encryption, packed_model, records
from tests import servers, testing

SERVE_RAY = servers.SERVE_RAY
free_port = servers.free_port


def start(*flags, env=None):
    """serve_ray on a free port (Ray Serve needs one named), half a CPU per replica."""
    return servers.Server(SERVE_RAY, "--model", testing.LITE0, "--cpus_per_replica", "0.5",
                          "--port", str(free_port()), *flags, env=env)


def test_usage_errors_are_one_line():
    testing.assert_one_line_error(testing.run(SERVE_RAY, "--replicas", "2", "--max_replicas", "1"), 2,
                                  "--max_replicas must be 0 or at least --replicas")
    testing.assert_one_line_error(testing.run(SERVE_RAY, "--replicas", "0"), 2, "--replicas must be a positive")


def test_an_encrypted_model_without_its_key_is_one_line_before_ray_starts(tmp_path):
    key_file = str(tmp_path / "model.key")
    with open(key_file, "wb") as f:
        f.write(os.urandom(32))
    encrypted_copy(os.path.join(testing.TESTDATA, "repository", "digits", "1", "model.mge"), str(tmp_path / "m"),
                   key_file)
    model = str(tmp_path / "m" / "model.mge")
    testing.assert_one_line_error(testing.run(SERVE_RAY, "--model", model), 1, model + ": the model is encrypted")
    with open(key_file, "wb") as f:
        f.write(b"short")
    testing.assert_one_line_error(testing.run(SERVE_RAY, "--model", model, "--model_key_file", key_file), 1,
                                  key_file + ": a model key is 32 bytes")


def test_two_replicas_answer_and_agree():
    server = start("--replicas", "2")
    try:
        url = server.url + "/v2/models/efficientnet_lite0/classify"
        raw = open(testing.CAT, "rb").read()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: httpx.post(url, content=raw, timeout=60), range(40)))
        assert [a.status_code for a in answers] == [200] * 40, [a.text for a in answers if a.status_code != 200]
        replicas = {a.headers["x-served-by"] for a in answers}
        assert len(replicas) == 2, replicas
        expected = records.top_classes(Classifier(testing.LITE0).probabilities(testing.CAT),
                                          Classifier(testing.LITE0).labels, 5)
        assert all(a.json()["top"] == expected for a in answers)  # same code, same network: identical
    finally:
        status = server.stop(90)
    assert status == 0, server.stderr


def test_autoscaling_adds_a_replica_under_load():
    server = start("--replicas", "1", "--max_replicas", "2")
    try:
        url = server.url + "/v2/models/efficientnet_lite0/classify"
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
        status = server.stop(90)
    assert status == 0, server.stderr


def encrypted_copy(source, target_dir, key_file):
    """source (a sidecar model) as target_dir/model.mge, packed and encrypted under key_file's key."""
    os.makedirs(target_dir)
    with open(os.path.join(target_dir, "model.mge"), "wb") as f:
        f.write(packed_model.pack(open(source, "rb").read(), contract.read(source),
                                  key=model_encryption.read_key(key_file)))


def test_each_replica_serves_the_repository_and_picks_up_a_new_version(tmp_path):
    """Version 3 arrives encrypted: the key file's path reaches each replica, which reads it there."""
    root = str(tmp_path / "models")
    shutil.copytree(os.path.join(testing.TESTDATA, "repository"), root, copy_function=shutil.copyfile)
    key_file = str(tmp_path / "model.key")
    with open(key_file, "wb") as f:
        f.write(os.urandom(32))
    encrypted_copy(os.path.join(testing.TESTDATA, "repository_extra", "digits", "3", "model.mge"),
                   str(tmp_path / "3"), key_file)
    server = servers.Server(SERVE_RAY, "--model_repository", root, "--repository_poll_s", "0.5", "--replicas", "2",
                            "--cpus_per_replica", "0.5", "--port", str(free_port()), "--model_key_file", key_file)
    try:
        url = server.url + "/v2/models/digits/classify"
        raw = open(testing.CAT, "rb").read()

        def versions_by_replica():
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(lambda _: httpx.post(url, content=raw, timeout=60), range(40)))
            assert [a.status_code for a in answers] == [200] * 40, [a.text for a in answers if a.status_code != 200]
            seen = {}
            for answer in answers:
                seen.setdefault(answer.headers["x-served-by"], set()).add(answer.json()["version"])
            return seen

        assert list(versions_by_replica().values()) == [{"2"}, {"2"}]  # two replicas, each on version 2
        shutil.copytree(str(tmp_path / "3"), os.path.join(root, "digits", "3"), copy_function=shutil.copyfile)
        stop = time.monotonic() + 60
        while time.monotonic() < stop:
            seen = versions_by_replica()
            if len(seen) == 2 and all(v == {"3"} for v in seen.values()):
                break
            time.sleep(1)
        assert len(seen) == 2 and all(v == {"3"} for v in seen.values()), seen
        refused = httpx.post(server.url + "/v2/repository/models/digits/unload", timeout=60)
        assert refused.status_code == 400 and "each replica loads it" in refused.json()["error"], refused.text
    finally:
        status = server.stop(90)
    assert status == 0, server.stderr


def test_a_cluster_with_token_authentication():
    token = os.urandom(32).hex()
    gcs_port = free_port()
    temp_dir = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # Unix socket paths must stay short
    cluster_env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    head = subprocess.Popen(
        [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block", "--node-ip-address", "127.0.0.1",
         "--port", str(gcs_port), "--num-cpus", "1", "--include-dashboard=false", "--temp-dir", temp_dir],
        env=dict(cluster_env, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        address = "127.0.0.1:%d" % gcs_port
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the GCS port answers once the head is up
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", gcs_port)) == 0:
                    break
            time.sleep(0.5)
        for auth, says in (({}, "set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN_PATH"),
                           ({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "0" * 64}, "hold the cluster's token")):
            result = testing.run(SERVE_RAY, "--model", testing.LITE0, "--address", address, "--port",
                                 str(free_port()), env=dict(cluster_env, **auth))
            testing.assert_one_line_error(result, 1, "cannot use the Ray cluster at " + address, says)
        token_file = os.path.join(temp_dir, "token")
        with open(token_file, "w") as f:
            f.write(token)
        server = start("--replicas", "1", "--address", address,
                       env=dict(cluster_env, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=token_file))
        try:
            answer = httpx.post(server.url + "/v2/models/efficientnet_lite0/classify",
                                content=open(testing.CAT, "rb").read(), timeout=60)
            assert answer.status_code == 200 and answer.json()["top"][0]["name"] == "tiger_cat", answer.text
        finally:
            status = server.stop(90)
        assert status == 0, server.stderr
    finally:
        head.send_signal(signal.SIGTERM)  # --block: the head stops its own processes
        head.wait(60)
        shutil.rmtree(temp_dir, ignore_errors=True)


if __name__ == "__main__":
    testing.main(__file__)
