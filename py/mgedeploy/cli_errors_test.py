"""Bad input to //py:export and //py:inference: a clear one-line error naming the file, a non-zero
exit, no traceback, and no partial output file."""
import os
import shutil
import subprocess
import sys
import time

import pytest

from mgedeploy import contract, paths

RUNFILES = os.path.dirname(paths.REPO_ROOT)
EXPORT = os.path.join(paths.REPO_ROOT, "py", "export")
INFERENCE = os.path.join(paths.REPO_ROOT, "py", "inference")
MODEL = os.path.join(paths.REPO_ROOT, "testdata", "efficientnet_lite0.mge")
HUB_DEADLINE_SECONDS = 90  # --pretrained offline must fail fast, never hang


def run(binary, *args, timeout=300):
    env = dict(os.environ, RUNFILES_DIR=RUNFILES)
    env.pop("BUILD_WORKING_DIRECTORY", None)
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout, env=env)


def assert_one_line_error(result, *words):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def assert_usage_error(result, *words):
    """Our own argument checks: exit 2 and one line, as the C++ programs do."""
    assert result.returncode == 2, result.stderr
    assert_one_line_error(result, *words)


@pytest.fixture
def saved_state(tmp_path):
    """Writes a MegEngine checkpoint from a dict of numpy arrays (in a child: megengine is slow to import)."""

    def write(kind):
        path = str(tmp_path / ("%s.pkl" % kind))
        code = (
            "import megengine, numpy as np\n"
            "from mgedeploy import models\n"
            "s = {k: np.array(v) for k, v in models.build('snetv2_x100').state_dict().items()}\n"
            "if %r == 'keys': s['stem.conv.kernel'] = s.pop('stem.conv.weight')\n"
            "else: s['head.fc.weight'] = np.zeros((10, 10), np.float32)\n"
            "megengine.save(s, %r)\n" % (kind, path)
        )
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                       env=dict(os.environ, PYTHONPATH=os.path.join(paths.REPO_ROOT, "py")))
        return path

    return write


# ---- export ----

def test_export_unknown_model(tmp_path):
    # absl rejects the value while parsing; cli.flags_parser makes that one line and exit 2 too.
    assert_usage_error(run(EXPORT, "--model", "resnet50", "--output", str(tmp_path / "m.mge")), "resnet50")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("kind,words", [("keys", ["keys do not match", "stem.conv.weight"]),
                                        ("shapes", ["head.fc.weight has shape"])])
def test_export_bad_weights(tmp_path, saved_state, kind, words):
    weights = saved_state(kind)
    out = tmp_path / "out" / "m.mge"
    out.parent.mkdir()
    result = run(EXPORT, "--model", "snetv2_x100", "--weights", weights, "--output", str(out))
    assert_one_line_error(result, weights, *words)
    assert os.listdir(out.parent) == []


def test_export_weights_not_a_checkpoint(tmp_path):
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(os.urandom(1000))
    result = run(EXPORT, "--model", "snetv2_x100", "--weights", str(junk), "--output", str(tmp_path / "m.mge"))
    assert_one_line_error(result, str(junk), "not a MegEngine checkpoint")


def test_export_output_in_missing_directory(tmp_path):
    out = tmp_path / "missing" / "m.mge"
    assert_one_line_error(run(EXPORT, "--output", str(out)), str(out), "does not exist")
    assert os.listdir(tmp_path) == []


def test_export_output_unwritable():
    # Tests run as root here, so chmod cannot make a directory unwritable; /sys refuses new files.
    out = "/sys/megdeploy_test.mge"
    assert_one_line_error(run(EXPORT, "--output", out), out, "cannot write")
    assert not os.path.exists(out) and not os.path.exists(out + ".tmp")


def test_export_pretrained_without_network(tmp_path):
    out = tmp_path / "m.mge"
    start = time.monotonic()
    result = run(EXPORT, "--model", "snetv2_x100", "--pretrained", "--output", str(out), timeout=HUB_DEADLINE_SECONDS)
    assert_one_line_error(result, "--pretrained", "MegEngine hub", "--weights FILE")
    assert time.monotonic() - start < HUB_DEADLINE_SECONDS
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("content,words", [(None, ["cannot read image"]), (b"hello", ["not an image"])])
def test_export_bad_image(tmp_path, content, words):
    image = tmp_path / "sample.jpg"
    if content is not None:
        image.write_bytes(content)
    out = tmp_path / "m.mge"
    assert_one_line_error(run(EXPORT, "--image", str(image), "--output", str(out)), str(image), *words)
    assert not out.exists() and not (tmp_path / "m.mge.tmp").exists()


# ---- inference ----

@pytest.fixture
def model_copy(tmp_path):
    """A copy of the test model with its contract, to damage."""
    path = str(tmp_path / "model.mge")
    shutil.copy(MODEL, path)
    shutil.copy(contract.path_for(MODEL), contract.path_for(path))
    return path


def test_inference_missing_model(tmp_path):
    path = str(tmp_path / "nothing.mge")
    assert_one_line_error(run(INFERENCE, "-m", path), path, "not found")


def test_inference_directory_as_model(tmp_path):
    assert_one_line_error(run(INFERENCE, "-m", str(tmp_path)), str(tmp_path), "directory")


def test_inference_empty_model(model_copy):
    open(model_copy, "wb").close()
    assert_one_line_error(run(INFERENCE, "-m", model_copy), model_copy, "empty")


def test_inference_truncated_model(model_copy):
    with open(model_copy, "r+b") as f:
        f.truncate(os.path.getsize(MODEL) // 2)
    assert_one_line_error(run(INFERENCE, "-m", model_copy), model_copy, "does not match its contract")


def test_inference_model_without_contract(model_copy):
    os.remove(contract.path_for(model_copy))
    assert_one_line_error(run(INFERENCE, "-m", model_copy), contract.path_for(model_copy), "no model contract")


@pytest.mark.parametrize("damage", ["random", "truncated"])
def test_inference_lite_rejects_damaged_model(model_copy, damage):
    """With a contract that matches the damaged bytes, the file reaches Lite, which must refuse it."""
    import json

    if damage == "random":
        data = os.urandom(100_000)
    else:
        data = open(MODEL, "rb").read()[: os.path.getsize(MODEL) // 2]
    with open(model_copy, "wb") as f:
        f.write(data)
    info = json.load(open(contract.path_for(model_copy)))
    info["mge_file"] = {"size": len(data), "sha256": contract.file_digest(model_copy)}
    json.dump(info, open(contract.path_for(model_copy), "w"))
    assert_one_line_error(run(INFERENCE, "-m", model_copy), model_copy, "Lite cannot load the model")


@pytest.mark.parametrize("content,words", [(None, ["cannot read image"]), (b"<html>404</html>", ["not an image"]),
                                           (b"", ["empty"])])
def test_inference_bad_image(tmp_path, content, words):
    image = tmp_path / "photo.jpg"
    if content is not None:
        image.write_bytes(content)
    assert_one_line_error(run(INFERENCE, "-m", MODEL, "-i", str(image)), str(image), *words)


def test_inference_bad_flags():
    assert_usage_error(run(INFERENCE, "-m", MODEL, "--topk", "0"), "--topk must be a positive integer")
    assert_usage_error(run(INFERENCE, "-m", MODEL, "--threads", "-1"), "--threads must be a positive integer")
    assert_usage_error(run(EXPORT, "--model", "snetv2_x100"), "no packaged weights")
    assert_usage_error(run(INFERENCE, "-m", MODEL, "--topk", "2000"), "more than the model's 1000 classes")


def test_inference_good_model_still_works():
    """The control case: the same harness on a good model prints five tutorial lines."""
    result = run(INFERENCE, "-m", MODEL)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 5 and all(" with probability = " in line for line in lines)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
