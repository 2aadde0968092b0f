"""What the whole-program tests share: where each program is in the runfiles, running one the way a
user would (no `bazel run` working directory), the one-line error checks, and Bazel test sharding
for pytest (so a long table runs on both cores)."""
import json
import os
import subprocess
import sys
import zlib

from mgedeploy import contract
from tests.fixtures import BAD, CAT, COFFEE, LITE0, ROOT, SNETV2, SNETV2_B8, TESTDATA, TINY  # noqa: F401

PROGRAMS = {
    "py_inference": os.path.join(ROOT, "py", "inference"),
    "cc_inference": os.path.join(ROOT, "cc", "inference"),
    "py_benchmark": os.path.join(ROOT, "py", "benchmark"),
    "cc_benchmark": os.path.join(ROOT, "cc", "benchmark"),
    "export": os.path.join(ROOT, "py", "export"),
    "softmax_check": os.path.join(ROOT, "cc", "softmax_check"),
}
INFERENCE = ("py_inference", "cc_inference")
BENCHMARK = ("py_benchmark", "cc_benchmark")
TIMEOUT_S = 120


def run(program, *args, timeout=TIMEOUT_S, cwd=None, env=None):
    """Runs a program (a PROGRAMS key or a path) as a user would, in `env` (default: this process's);
    returns CompletedProcess (text)."""
    env = dict(os.environ if env is None else env, RUNFILES_DIR=os.path.dirname(ROOT))
    env.pop("BUILD_WORKING_DIRECTORY", None)
    command = [PROGRAMS.get(program, program), *args]
    return subprocess.run(command, capture_output=True, timeout=timeout, env=env, cwd=cwd, errors="replace",
                          text=True)


def stderr_lines(result):
    return [line for line in result.stderr.splitlines() if line.strip()]


def assert_one_line_error(result, status, *words):
    """Exit `status`, exactly one stderr line holding every word, no traceback, no signal."""
    assert result.returncode >= 0, "killed by signal %d: %s" % (-result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == status, "exit %d, wanted %d: %s" % (result.returncode, status, result.stderr)
    lines = stderr_lines(result)
    assert len(lines) == 1, "%d stderr lines: %s" % (len(lines), result.stderr)
    for word in words:
        assert word in lines[0], "%r not in %r" % (word, lines[0])
    return lines[0]


def assert_top5(result):
    """A normal classification: exit 0 and the tutorial's five lines."""
    assert result.returncode == 0, "exit %d: %s" % (result.returncode, result.stderr)
    lines = result.stdout.splitlines()
    assert len(lines) == 5 and all(" with probability = " in line for line in lines), result.stdout
    return lines[0]


def copy_model(source, directory, name):
    """A copy of `source` and its contract in `directory` as `name`, to damage."""
    path = os.path.join(directory, name)
    with open(source, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data)
    with open(contract.path_for(source)) as f:
        info = json.load(f)
    contract.write(info, contract.path_for(path))
    return path


def restamp(model):
    """Rewrites `model`'s contract to match its current bytes, so a damaged model reaches Lite."""
    path = contract.path_for(model)
    with open(path) as f:
        info = json.load(f)
    info["mge_file"] = {"size": os.path.getsize(model), "sha256": contract.file_digest(model)}
    contract.write(info, path)
    return model


class Shard:
    """A pytest plugin: keeps this Bazel shard's share of the tests (TEST_TOTAL_SHARDS)."""

    def pytest_collection_modifyitems(self, config, items):
        total = int(os.environ.get("TEST_TOTAL_SHARDS", "1"))
        index = int(os.environ.get("TEST_SHARD_INDEX", "0"))
        if os.environ.get("TEST_SHARD_STATUS_FILE"):
            open(os.environ["TEST_SHARD_STATUS_FILE"], "w").close()
        if total > 1:
            # By a hash of the name, so that slow and fast rows spread over the shards.
            items[:] = [item for item in items if zlib.crc32(item.nodeid.encode()) % total == index]


def main(test_file, *extra):
    """Runs a test file's tests under pytest, sharded as Bazel asks."""
    import pytest

    sys.exit(pytest.main([test_file, "-q", "-p", "no:cacheprovider", *extra], plugins=[Shard()]))
