"""repository.Models with stand-in pools (no Lite): the layout's rules and its problems in the index,
the version policy, leases that hold a switched-away version open, a failed copy that leaves the old
one serving, files still changing left alone, unload and load. //py:serve_repository_test runs the
real server on a real repository."""
import os

import pytest

from mgedeploy import packed_model
from mgedeploy.serving import repository
from mgedeploy.serving.uploads import HttpError
from tests import testing


class Pool:
    """A stand-in ModelWorkers: knows its file's bytes, counts closes."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        if self.data.startswith(b"broken"):
            raise RuntimeError("%s: model contract does not match the model file" % path)
        self.contract = {"model": self.data.decode()}
        self.closes = 0

    def close(self):
        self.closes += 1

    def depth(self):
        return 0

    def live_workers(self):
        return 1


def put(root, name, version, data="model", contract=True):
    directory = os.path.join(str(root), name, str(version))
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "model.mge"), "w") as f:
        f.write(data)
    if contract:
        with open(os.path.join(directory, "model.mge.json"), "w") as f:
            f.write("{}")
    return directory


def models(root, policy="latest:1", files=None):
    served = repository.Models(lambda name, version, path: Pool(path), files=files, repository=str(root),
                               policy=repository.parse_policy(policy))
    served.start()
    return served


def rows(served):
    return {(row["name"], row["version"]): (row["state"], row["reason"]) for row in served.index()}


def answer(served, name, version=""):
    with served.lease(name, version) as chosen:
        return chosen.key, chosen.pool.data.decode()


def test_the_policy_picks_the_highest_versions(tmp_path):
    for version in (1, 2, 10):
        put(tmp_path, "m", version, "m%d" % version)
    latest = models(tmp_path)
    assert answer(latest, "m") == ("10", "m10")  # numbers, not strings: 10 > 2
    assert rows(latest)[("m", "2")] == ("UNAVAILABLE", "not served: version policy latest:1")
    with pytest.raises(HttpError, match=r"model 'm' has no version 2 ready \(ready: 10\)"):
        answer(latest, "m", "2")
    both = models(tmp_path, "latest:2")
    assert answer(both, "m", "2") == ("2", "m2") and [v.key for v in both.serving("m")] == ["10", "2"]
    every = models(tmp_path, "all")
    assert [row["state"] for row in every.index()] == ["READY"] * 3
    for text in ("latest:0", "latest", "newest:1", "latest:x"):
        with pytest.raises(ValueError, match="expected latest:N"):
            repository.parse_policy(text)


def test_what_cannot_be_a_model_is_in_the_index_with_its_reason(tmp_path):
    put(tmp_path, "good", 1)
    put(tmp_path, "good", "abc")
    put(tmp_path, "good", 2, contract=False)
    os.makedirs(tmp_path / "good" / "3")
    os.symlink("4", tmp_path / "good" / "4")  # a version directory that is a symlink to itself
    os.symlink("looped", tmp_path / "looped")  # and a model directory
    os.makedirs(tmp_path / "empty")
    os.makedirs(tmp_path / "bad name!")
    (tmp_path / "README.md").write_text("files beside the models are not models")
    (tmp_path / "good" / "config.pbtxt").write_text("nor beside the versions")
    served = models(tmp_path, "all")
    found = rows(served)
    assert found.pop(("good", "1")) == ("READY", "")
    expected = {
        ("good", "abc"): "version directory 'abc' is not a positive integer",
        ("good", "2"): "model.mge has no contract (model.mge.json) beside it",
        ("good", "3"): "no model.mge in it",
        ("good", "4"): "symbolic link loop",
        ("looped", ""): "symbolic link loop",
        ("empty", ""): "no version directories",
        ("bad name!", ""): "cannot be a model name",
    }
    assert set(found) == set(expected)
    for key, words in expected.items():
        state, reason = found[key]
        assert state == "UNAVAILABLE" and words in reason and reason.startswith(str(tmp_path)), (key, reason)
    assert answer(served, "good") == ("1", "model")
    with pytest.raises(HttpError, match="model 'empty' has no version ready: .*no version directories"):
        answer(served, "empty")
    with pytest.raises(HttpError, match=r"unknown model 'nope' \(this server has: bad name!, empty, good, looped\)"):
        answer(served, "nope")


def test_a_packed_model_needs_no_contract_beside_it(tmp_path):
    put(tmp_path, "m", 1, packed_model.TAG.decode() + " and the rest of a packed file", contract=False)
    assert answer(models(tmp_path), "m")[0] == "1"


def test_a_repository_that_cannot_serve_is_refused_in_one_line(tmp_path):
    with pytest.raises(repository.RepositoryError, match="missing: --model_repository: No such file or directory"):
        repository.Models(Pool, repository=str(tmp_path / "missing"))
    put(tmp_path, "m", 1, "broken bytes")
    with pytest.raises(repository.RepositoryError, match="no model version loaded: .*does not match"):
        models(tmp_path)


def test_a_broken_highest_version_leaves_the_next_one_serving(tmp_path):
    put(tmp_path, "m", 1, "m1")
    put(tmp_path, "m", 2, "broken copy")
    served = models(tmp_path)
    assert answer(served, "m") == ("1", "m1")
    assert rows(served)[("m", "2")] == ("UNAVAILABLE", "%s: model contract does not match the model file"
                                        % os.path.join(str(tmp_path), "m", "2", "model.mge"))


def test_a_switch_leaves_the_leased_version_open_until_its_request_ends(tmp_path):
    put(tmp_path, "m", 1, "m1")
    served = models(tmp_path)
    with served.lease("m") as old:
        put(tmp_path, "m", 2, "m2")
        served.rescan(settle=False)
        assert answer(served, "m") == ("2", "m2")  # new requests go to version 2 at once
        assert old.pool.data == b"m1" and old.pool.closes == 0  # the request in flight keeps its own
        assert rows(served)[("m", "1")] == ("UNLOADING", "version 2 serves now")
    assert old.closed.wait(5) and rows(served)[("m", "1")] == ("UNAVAILABLE", "version 2 serves now")
    served.close()
    assert all(v.closed.is_set() for v in served.serving()) and served.serving() == []


def test_the_poller_leaves_files_that_are_still_changing(tmp_path):
    put(tmp_path, "m", 1, "m1")
    served = models(tmp_path)
    put(tmp_path, "m", 2, "m2 being written")
    served.rescan()  # first sight: not tried
    assert rows(served)[("m", "2")] == ("UNAVAILABLE", "waiting for its files to stop changing")
    assert answer(served, "m") == ("1", "m1")
    served.rescan()  # the same files at the next scan: loaded
    assert answer(served, "m") == ("2", "m2 being written")


def test_a_changed_copy_that_fails_keeps_the_old_copy_serving(tmp_path):
    directory = put(tmp_path, "m", 1, "m1")
    served = models(tmp_path)
    with open(os.path.join(directory, "model.mge"), "w") as f:
        f.write("broken in place")
    served.rescan(settle=False)
    assert answer(served, "m") == ("1", "m1")
    state, reason = rows(served)[("m", "1")]
    assert state == "READY" and reason.startswith("serves the copy loaded before; its files now: ")
    loads = []
    served._make_pool = lambda name, version, path: loads.append(path) or Pool(path)
    served.rescan(settle=False)
    assert loads == []  # the same failed files are not tried again at every scan
    with open(os.path.join(directory, "model.mge"), "w") as f:
        f.write("m1 fixed")
    served.rescan(settle=False)
    assert answer(served, "m") == ("1", "m1 fixed") and rows(served)[("m", "1")] == ("READY", "")


def test_unload_then_load(tmp_path):
    put(tmp_path, "m", 1, "m1")
    put(tmp_path, "other", 1)
    served = models(tmp_path)
    served.unload("m")
    with pytest.raises(HttpError, match="model 'm' has no version ready: it was unloaded"):
        answer(served, "m")
    served.rescan(settle=False)
    served.rescan(settle=False)  # the poller does not bring back what was unloaded
    assert served.serving("m") == [] and answer(served, "other") == ("1", "model")
    served.load("m")
    assert answer(served, "m") == ("1", "m1")
    for call in (served.load, served.unload):
        with pytest.raises(HttpError, match="unknown model 'nope'") as error:
            call("nope")
        assert error.value.status == 404
    with pytest.raises(HttpError, match=r"unknown model 'new'"):
        served.unload("new")
    put(tmp_path, "new", 1, "n1")
    served.load("new")  # a model directory added since the last scan
    assert answer(served, "new") == ("1", "n1")


def test_a_removed_model_directory_stops_serving(tmp_path):
    put(tmp_path, "m", 1)
    put(tmp_path, "gone", 1)
    served = models(tmp_path)
    for name in ("model.mge", "model.mge.json"):
        os.remove(tmp_path / "gone" / "1" / name)
    os.rmdir(tmp_path / "gone" / "1")
    os.rmdir(tmp_path / "gone")
    served.rescan()
    with pytest.raises(HttpError, match="unknown model 'gone'"):
        answer(served, "gone")


def test_a_model_file_and_a_repository_model_cannot_share_a_name(tmp_path):
    put(tmp_path, "m", 1)
    with pytest.raises(repository.RepositoryError, match="model 'm' is both in the repository and a --model"):
        repository.Models(Pool, files={"m": "m.mge"}, repository=str(tmp_path))


if __name__ == "__main__":
    testing.main(__file__)
