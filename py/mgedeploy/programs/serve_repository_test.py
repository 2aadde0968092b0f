"""//py:serve on a model repository (testdata's: digits and colour, versions 1 and 2 each), on
loopback: the index; each version answers exactly what //py:inference --json says of its file;
unload and load; 404s with a V2 error body; a repository's problems in the index; encrypted
versions beside plain ones under one --model_key_file; and a reload
under open-loop load — a new version copied in slowly, in pieces, then a broken one — with no
answer but 200 and every answer from exactly one version."""
import base64
import concurrent.futures
import json
import os
import re
import shutil
import threading
import time

import httpx
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from mgedeploy import contract, model_encryption, packed_model
from tests import servers, testing

REPOSITORY = os.path.join(testing.TESTDATA, "repository")
NEW_VERSION = os.path.join(testing.TESTDATA, "repository_extra", "digits", "3")
CAT = open(testing.CAT, "rb").read()
# The reload test's load: open loop (requests leave on schedule, whatever the answers do).
RATE = 60  # requests/s
LOAD_S = 22.0


def copy_repository(tmp_path):
    root = str(tmp_path / "models")
    shutil.copytree(REPOSITORY, root, copy_function=shutil.copyfile)  # writable copies
    return root


def model_file(root, name, version):
    return os.path.join(root, name, str(version), "model.mge")


def expected_top(path):
    """//py:inference --json's top-5 for the cat photo: what the server must answer, exactly."""
    result = testing.run("py_inference", "-m", path, "-i", testing.CAT, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["top"]


def index(client):
    answer = client.post("/v2/repository/index")
    assert answer.status_code == 200, answer.text
    return {(row["name"], row["version"]): (row["state"], row["reason"]) for row in answer.json()}


@pytest.fixture
def repository(tmp_path):
    return copy_repository(tmp_path)


def test_every_version_answers_its_own_results(repository):
    expected = {(name, v): expected_top(model_file(repository, name, v)) for name in ("digits", "colour") for v in (1, 2)}
    assert expected[("digits", 1)] != expected[("digits", 2)] and expected[("colour", 1)] != expected[("colour", 2)]
    server = servers.Server(servers.SERVE, "--model_repository", repository, "--version_policy", "all",
                            "--workers", "1", "--drain_s", "0", "--grpc_port", "0")
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            grpc_versions(server, expected)
            assert index(client) == {key: ("READY", "") for key in
                                     [("colour", "1"), ("colour", "2"), ("digits", "1"), ("digits", "2")]}
            for (name, version), top in expected.items():
                answer = client.post("/v2/models/%s/versions/%d/classify" % (name, version), content=CAT).json()
                assert answer == {"model": name, "version": str(version), "image": "upload", "top": top}
                meta = client.get("/v2/models/%s/versions/%d" % (name, version)).json()
                assert meta["versions"] == ["2", "1"], meta
            # No version: the highest serving.
            assert client.post("/v2/models/digits/classify", content=CAT).json()["version"] == "2"
            infer = client.post("/v2/models/colour/versions/1/infer", json={"inputs": [
                {"name": "image", "datatype": "BYTES", "shape": [1], "data": [base64.b64encode(CAT).decode()]}]})
            assert infer.status_code == 200 and infer.json()["model_version"] == "1"
            for path, words in (("/v2/models/nope/classify", "unknown model 'nope' (this server has: colour, digits)"),
                                ("/v2/models/digits/versions/7/classify", "model 'digits' has no version 7 ready"),
                                ("/v2/models/digits/versions/x/infer", "model 'digits' has no version x ready"),
                                ("/v2/repository/models/nope/load", "unknown model 'nope'"),
                                ("/v2/repository/models/nope/unload", "unknown model 'nope'")):
                answer = client.post(path, content=CAT)
                assert answer.status_code == 404 and list(answer.json()) == ["error"], (path, answer.text)
                assert words in answer.json()["error"], (path, answer.text)
            assert client.get("/v2/models/digits/versions/7/ready").status_code == 503
            assert client.get("/v2/models/nope/ready").status_code == 404

            assert client.post("/v2/repository/models/digits/unload").json() == {}
            gone = client.post("/v2/models/digits/classify", content=CAT)
            assert gone.status_code == 404 and "it was unloaded" in gone.json()["error"]
            assert client.get("/v2/models/digits/ready").status_code == 503
            time.sleep(1)  # the unloaded pools close on their own threads
            assert index(client)[("digits", "1")] == ("UNAVAILABLE", "unloaded")
            assert client.post("/v2/repository/models/digits/load").json() == {}
            assert client.post("/v2/models/digits/versions/1/classify", content=CAT).json()["top"] == expected[("digits", 1)]
            assert client.post("/v2/repository/index", json={"ready": True}).status_code == 200
            assert client.post("/v2/repository/index", content=b"[").status_code == 400

            metrics = client.get("/metrics").text
            for line in ('megdeploy_model_state{model="digits",state="READY",version="1"} 1.0',
                         'megdeploy_model_loads_total{model="digits",outcome="loaded",version="2"} 2.0',
                         'megdeploy_model_loads_total{model="digits",outcome="unloaded",version="2"} 1.0',
                         'megdeploy_requests_total{endpoint="classify",model="colour",status="200",version="1"} 1.0'):
                assert line in metrics, line
    finally:
        assert server.stop() == 0, server.stderr


def test_a_repository_s_problems_are_in_the_index_and_the_rest_serves(repository, tmp_path):
    os.makedirs(os.path.join(repository, "digits", "latest"))
    os.makedirs(os.path.join(repository, "nocontract", "1"))
    shutil.copyfile(model_file(repository, "digits", 1), model_file(repository, "nocontract", 1))
    os.symlink("loop", os.path.join(repository, "loop"))
    digits = model_file(repository, "digits", 1)  # the same model as one packed file (export --pack)
    os.makedirs(os.path.join(repository, "packed", "1"))
    with open(model_file(repository, "packed", 1), "wb") as f:
        f.write(packed_model.pack(open(digits, "rb").read(), contract.read(digits)))
    server = servers.Server(servers.SERVE, "--model_repository", repository, "--workers", "1", "--drain_s", "0")
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            rows = index(client)
            assert rows[("digits", "2")] == ("READY", "") and rows[("colour", "2")] == ("READY", "")
            assert "version directory 'latest' is not a positive integer" in rows[("digits", "latest")][1]
            assert "model.mge has no contract (model.mge.json) beside it" in rows[("nocontract", "1")][1]
            assert rows[("loop", "")] == ("UNAVAILABLE", "%s: symbolic link loop" % os.path.join(repository, "loop"))
            answer = client.post("/v2/repository/models/nocontract/load")
            assert answer.status_code == 400 and "failed to load 'nocontract'" in answer.json()["error"]
            assert client.post("/v2/models/digits/classify", content=CAT).status_code == 200
            assert rows[("packed", "1")] == ("READY", "")
            packed = client.post("/v2/models/packed/classify", content=CAT).json()["top"]
            assert packed == expected_top(digits)  # exactly the sidecar form's record
    finally:
        assert server.stop() == 0, server.stderr
    for flags, status, words in (
            (["--model_repository", str(tmp_path / "missing")], 1, "missing: --model_repository: No such file"),
            (["--model_repository", repository, "--version_policy", "newest"], 2, "--version_policy: expected"),
            (["--repository_poll_s", "1"], 2, "--repository_poll_s needs --model_repository")):
        testing.assert_one_line_error(testing.run(servers.SERVE, *flags), status, words)


def test_encrypted_versions_serve_with_the_server_s_key(repository, tmp_path):
    """One --model_key_file for a repository that mixes plain and encrypted versions: the key goes to
    the encrypted ones only; without it (or with another key) an encrypted version is UNAVAILABLE
    with its one-line reason and the version below it serves."""
    key_file, other_key = str(tmp_path / "model.key"), str(tmp_path / "other.key")
    for path in (key_file, other_key):
        with open(path, "wb") as f:
            f.write(os.urandom(32))
    plain = model_file(repository, "digits", 2)
    expected = expected_top(plain)
    sealed = packed_model.pack(open(plain, "rb").read(), contract.read(plain), key=model_encryption.read_key(key_file))
    for stale in (plain, plain + ".json"):
        os.remove(stale)
    with open(plain, "wb") as f:  # digits version 2, encrypted; version 1 and colour stay plain
        f.write(sealed)
    for key_flags, reason in (([], "the model is encrypted: give its key with --model_key_file"),
                              (["--model_key_file", other_key], "wrong key, or the file was modified"),
                              (["--model_key_file", key_file], "")):
        server = servers.Server(servers.SERVE, "--model_repository", repository, "--workers", "1", "--drain_s", "0",
                                *key_flags)
        try:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                rows = index(client)
                assert rows[("colour", "2")] == ("READY", ""), key_flags
                state, why = rows[("digits", "2")]
                answer = client.post("/v2/models/digits/classify", content=CAT).json()
                if not reason:
                    assert (state, why) == ("READY", "")
                    assert answer == {"model": "digits", "version": "2", "image": "upload", "top": expected}
                else:
                    assert state == "UNAVAILABLE" and why.startswith(plain + ": ") and reason in why, why
                    assert answer["version"] == "1"  # latest:1 walks down to the version that loads
        finally:
            assert server.stop() == 0, server.stderr
        assert open(key_file, "rb").read().hex() not in server.stderr
    short_key = str(tmp_path / "short.key")
    with open(short_key, "wb") as f:
        f.write(b"12345")
    for flags, words in ((["--model", plain], "the model is encrypted: give its key with --model_key_file"),
                         (["--model", plain, "--model_key_file", short_key], "a model key is 32 bytes, or 64 hex"),
                         (["--model", plain, "--model_key_file", str(tmp_path / "none")],
                          "cannot read the model key file")):
        testing.assert_one_line_error(testing.run(servers.SERVE, "--port", "0", *flags), 1, words)


def grpc_versions(server, expected):
    """Over gRPC (tritonclient, a client nobody here wrote): each version answers its own
    probabilities, the same as /classify's; an unknown version is NOT_FOUND."""
    client = grpcclient.InferenceServerClient("127.0.0.1:%d" % server.grpc_port)
    image = grpcclient.InferInput("image", [1], "BYTES")
    image.set_data_from_numpy(np.array([CAT], dtype=np.object_))
    for (name, version), top in expected.items():
        meta = client.get_model_metadata(name, str(version))
        assert meta.versions == ["2", "1"]
        result = client.infer(name, [image], model_version=str(version))
        assert result.get_response().model_version == str(version)
        probabilities = result.as_numpy(meta.outputs[0].name)[0]
        assert [float(probabilities[t["index"]]) for t in top] == [t["probability"] for t in top]
    with pytest.raises(InferenceServerException, match="has no version 9 ready"):
        client.infer("digits", [image], model_version="9")


def copy_slowly(source_dir, target_dir, pieces=4, pause_s=0.4, stop_at=None):
    """Copies a version directory as a slow network copy would: the contract, then the model in
    `pieces` writes with pauses between them; stop_at: stop after that many pieces (a copy cut short)."""
    os.makedirs(target_dir)
    shutil.copyfile(os.path.join(source_dir, "model.mge.json"), os.path.join(target_dir, "model.mge.json"))
    with open(os.path.join(source_dir, "model.mge"), "rb") as f:
        data = f.read()
    step = -(-len(data) // pieces)
    with open(os.path.join(target_dir, "model.mge"), "wb") as out:
        for i in range(pieces if stop_at is None else stop_at):
            out.write(data[i * step:(i + 1) * step])
            out.flush()
            time.sleep(pause_s)


def test_reload_under_load_answers_every_request_from_one_version(repository):
    expected = {"2": expected_top(model_file(repository, "digits", 2)), "3": expected_top(os.path.join(NEW_VERSION, "model.mge"))}
    server = servers.Server(servers.SERVE, "--model_repository", repository, "--repository_poll_s", "0.5",
                            "--workers", "2", "--drain_s", "0")
    answers, lock = [], threading.Lock()
    local = threading.local()

    def post(sent):
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=server.url, timeout=30)
        try:
            answer = local.client.post("/v2/models/digits/classify", content=CAT)
            record = (sent, answer.status_code, answer.json())
        except (httpx.HTTPError, ValueError) as e:
            record = (sent, repr(e), None)
        with lock:
            answers.append(record)

    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            assert index(client)[("digits", "2")] == ("READY", "")

            def copies():
                time.sleep(3)
                copy_slowly(NEW_VERSION, os.path.join(repository, "digits", "3"))
                time.sleep(6)  # then a broken version, cut short half-way
                copy_slowly(NEW_VERSION, os.path.join(repository, "digits", "4"), stop_at=2)

            copier = threading.Thread(target=copies)
            started = time.monotonic()
            copier.start()
            with concurrent.futures.ThreadPoolExecutor(16) as pool:
                for i in range(int(RATE * LOAD_S)):
                    time.sleep(max(0.0, started + i / RATE - time.monotonic()))
                    pool.submit(post, time.monotonic() - started)
            copier.join()
            time.sleep(2)  # the poller has seen the broken copy settle
            rows = index(client)
    finally:
        status = server.stop()
    assert status == 0, server.stderr

    assert len(answers) == int(RATE * LOAD_S) >= 50 * 20
    bad = [a for a in answers if a[1] != 200]
    assert not bad, bad[:5]
    versions = [a[2]["version"] for a in sorted(answers, key=lambda a: a[0])]
    for _, _, body in answers:  # the whole answer is that version's, not a mix
        assert body["top"] == expected[body["version"]], body
    assert set(versions) == {"2", "3"}
    switch = versions.index("3")
    assert "2" not in versions[switch + 2 * RATE:], "version 2 still answered 2 s after the switch"
    log = re.search(r"model digits: version 3 serves now \(loaded and warmed up in ([0-9.]+) s", server.stderr)
    assert log, server.stderr
    print("switch: version 3 took requests from %.2f s into the load; loaded and warmed up in %s s; %d answers"
          % (sorted(answers)[switch][0], log.group(1), len(answers)))
    assert rows[("digits", "3")] == ("READY", "")
    state, reason = rows[("digits", "4")]
    assert state == "UNAVAILABLE" and "the model file does not match its contract" in reason, reason
    assert rows[("digits", "2")] == ("UNAVAILABLE", "not served: version policy latest:1")


if __name__ == "__main__":
    testing.main(__file__)
