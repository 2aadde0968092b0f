"""The public API: `from mgedeploy import Classifier` as the README shows it.

- Importing mgedeploy changes nothing in the host process: no megengine loaded, sys.stderr and fd 2
  untouched, no signal handlers.
- The README's first ```python block runs as written, inside Bazel and outside it (a plain
  `python` with PYTHONPATH=py, no runfiles, from the repository root), and prints the same top-5 as
  `//py:inference --json`.
- Paths, encoded bytes and decoded arrays give the same records; errors are the library's types.
"""
import os
import shutil
import subprocess
import sys

import pytest

from mgedeploy.cli import paths
from tests import fixtures, readme_example

ROOT = paths.REPO_ROOT
MODEL, CAT, COFFEE = fixtures.LITE0, fixtures.CAT, fixtures.COFFEE
INFERENCE = os.path.join(ROOT, "py", "inference")


def test_import_changes_nothing():
    code = (
        "import os, signal, sys\n"
        "before = (os.fstat(2).st_ino, sys.stderr, [signal.getsignal(s) for s in (signal.SIGSEGV, signal.SIGINT)])\n"
        "import mgedeploy\n"
        "from mgedeploy import Classifier\n"
        "after = (os.fstat(2).st_ino, sys.stderr, [signal.getsignal(s) for s in (signal.SIGSEGV, signal.SIGINT)])\n"
        "assert before == after, (before, after)\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('megengine', 'megenginelite', 'cv2'))\n"
        "print(loaded)\n"
    )
    # `from mgedeploy import Classifier` loads the runtime (megenginelite, cv2) but still leaves
    # stderr and the signal handlers alone; a bare `import mgedeploy` loads none of it.
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "py")))
    assert result.returncode == 0, result.stderr
    bare = subprocess.run([sys.executable, "-c", "import mgedeploy, sys; print(sorted(m for m in sys.modules "
                           "if m.split('.')[0] in ('megengine', 'megenginelite', 'cv2', 'numpy')))"],
                          capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "py")))
    assert bare.stdout.strip() == "[]", bare.stdout


def cli_top5():
    env = {k: v for k, v in os.environ.items() if k != "BUILD_WORKING_DIRECTORY"}
    result = subprocess.run([INFERENCE, "-m", MODEL, "-i", CAT, "-i", COFFEE, "--json"], capture_output=True,
                            text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    return readme_example.records_top5(result.stdout)


def run_example(tmp_path, outside_bazel):
    """Runs the README example from a copy of the repository layout the README assumes: the
    exported model at the root (the README's first command writes it there) and testdata/."""
    root = tmp_path / "repo"
    (root / "testdata").mkdir(parents=True)
    for name in ("cat.jpg", "coffee.jpg"):
        shutil.copy(os.path.join(ROOT, "testdata", name), root / "testdata" / name)
    shutil.copy(MODEL, root / "efficientnet_lite0_deploy.mge")
    shutil.copy(MODEL + ".json", root / "efficientnet_lite0_deploy.mge.json")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": os.path.join(ROOT, "py")}
    if not outside_bazel:
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "py"))
        env.pop("BUILD_WORKING_DIRECTORY", None)
    script = root / "example.py"
    script.write_text(readme_example.python_example(os.path.join(ROOT, "README.md")))
    result = subprocess.run([sys.executable, str(script)], cwd=root, capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("outside_bazel", [False, True], ids=["inside_bazel", "outside_bazel"])
def test_readme_example_prints_the_cli_top5(tmp_path, outside_bazel):
    out = run_example(tmp_path, outside_bazel)
    assert readme_example.printed_top5(out) == cli_top5(), out


def test_paths_bytes_and_arrays_agree():
    import cv2
    import numpy as np

    from mgedeploy import Classifier, ContractError, ImageError, ModelError

    classifier = Classifier(MODEL)
    with open(CAT, "rb") as f:
        raw = f.read()
    decoded = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
    by_path, by_bytes, by_array = classifier.classify([CAT, raw, decoded], topk=3)
    assert by_path["top"] == by_bytes["top"] == by_array["top"]
    assert [by_path["image"], by_bytes["image"], by_array["image"]] == [CAT, "bytes", "array"]
    with pytest.raises(ImageError, match="bytes: not an image OpenCV can decode"):
        classifier.classify_one(b"not an image")
    with pytest.raises(ModelError, match="model file not found"):
        Classifier("/nonexistent/model.mge")
    with pytest.raises(ContractError, match="no model contract"):
        Classifier(fixtures.CAT)
    # The library never loads the crash guard (its signal handlers are for programs only).
    with open("/proc/self/maps") as f:
        assert "crash_guard" not in f.read()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
