"""The wheel as a user meets it: installed with pip into a new venv (the same CPython 3.10,
offline, from the downloaded-wheel directory), then used outside the repository (another working
directory, no PYTHONPATH, a fresh HOME):
- the base install brings no web stack, Ray or ONNX Runtime;
- `mgedeploy --help` (and `python -m mgedeploy --help`) lists the subcommands;
- `mgedeploy export` then `mgedeploy classify --json` give exactly `//py:inference --json`'s records;
- the README's Python example runs and prints the same top-5;
- the installed package is typed (py.typed: `mypy --strict` on an application passes, a misuse fails);
- `mgedeploy serve` without the `serve` extra says in one line which extra to install; with it,
  it serves and `/v2/health/ready` answers.

Arguments (from py/BUILD.bazel): the wheel, the file naming the wheel directory, //py:inference.
"""
import json
import os
import shutil
import subprocess
import sys

import httpx
import pytest

from tests import fixtures, readme_example, servers

WHEEL = os.path.abspath(sys.argv[1])
with open(sys.argv[2]) as _f:
    WHEEL_DIR = _f.read().strip()
INFERENCE = os.path.abspath(sys.argv[3])
README = os.path.abspath("README.md")
SUBCOMMANDS = ("export", "classify", "benchmark", "serve", "serve-ray", "version")
MODEL = "efficientnet_lite0_deploy.mge"  # the README example's model name


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    """A new venv with the wheel installed, an application directory, and how to run there."""
    root = tmp_path_factory.mktemp("user")
    venv, app, home = root / "venv", root / "app", root / "home"
    app.mkdir()
    home.mkdir()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env = {"PATH": "%s:/usr/bin:/bin" % (venv / "bin"), "HOME": str(home), "PYTHONNOUSERSITE": "1",
           "LANG": "C.UTF-8"}

    def run(*command, check=True, timeout=600):
        result = subprocess.run(list(command), cwd=app, env=env, capture_output=True, text=True, timeout=timeout)
        if check:
            assert result.returncode == 0, "%s: exit %d\n%s" % (command, result.returncode, result.stderr[-3000:])
        return result

    def pip_install(requirement):
        run(str(venv / "bin" / "python"), "-m", "pip", "--isolated", "--disable-pip-version-check", "install",
            "--quiet", "--no-index", "--find-links", WHEEL_DIR, requirement)

    run.venv, run.app, run.env, run.pip_install = venv, app, env, pip_install
    pip_install(WHEEL)
    return run


def installed(user, modules):
    code = "import importlib.util, sys; print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m)))"
    return user("python", "-c", code, *modules).stdout.split()


def test_the_base_install_brings_no_web_stack_ray_or_onnxruntime(user):
    assert installed(user, ["mgedeploy", "megenginelite", "cv2"]) == ["mgedeploy", "megenginelite", "cv2"]
    assert installed(user, ["fastapi", "uvicorn", "ray", "onnxruntime", "onnx", "prometheus_client"]) == []


def test_help_lists_the_subcommands(user):
    command = user("mgedeploy", "--help").stdout
    for name in SUBCOMMANDS:
        assert "\n  %s " % name in command, command
    assert user("python", "-m", "mgedeploy", "--help").stdout == command
    unknown = user("mgedeploy", "classfy", check=False)
    assert unknown.returncode == 2 and "invalid choice: 'classfy'" in unknown.stderr


def test_version_is_the_programs_version(user):
    line = user("mgedeploy", "version").stdout.strip()
    assert line.startswith("mgedeploy (megdeploy %s) Lite " % os.path.basename(WHEEL).split("-")[1]), line
    assert user("python", "-m", "mgedeploy", "--version").stdout.strip() == line


@pytest.fixture(scope="module")
def exported(user):
    # The user's photos, where the README example looks for them.
    (user.app / "testdata").mkdir()
    for photo in (fixtures.CAT, fixtures.COFFEE):
        shutil.copy(photo, user.app / "testdata")
    result = user("mgedeploy", "export", "--lite_settings", "none", "--output", MODEL)
    assert "Wrote %s and its contract %s.json" % (MODEL, MODEL) in result.stdout, result.stdout
    return user.app / MODEL


def bazel_inference(user, *flags):
    env = {k: v for k, v in os.environ.items() if k != "BUILD_WORKING_DIRECTORY"}
    result = subprocess.run([INFERENCE, *flags], cwd=user.app, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_classify_gives_the_bazel_programs_records(user, exported):
    for flags in ([], ["-i", "testdata/cat.jpg", "-i", "testdata/coffee.jpg", "--topk", "3"]):
        ours = user("mgedeploy", "classify", "-m", MODEL, "--json", *flags).stdout
        theirs = bazel_inference(user, "-m", MODEL, "--json", *flags)
        assert ours == theirs  # the same bytes: same records, same floats
        assert len(ours.splitlines()) == max(1, len(flags) // 2 - 1) and json.loads(ours.splitlines()[0])["top"]
    missing = user("mgedeploy", "classify", "-m", "absent.mge", check=False)
    assert missing.returncode == 1 and missing.stderr.strip().count("\n") == 0, missing.stderr
    assert "absent.mge" in missing.stderr


def test_the_readme_example_runs_against_the_installed_package(user, exported):
    (user.app / "example.py").write_text(readme_example.python_example(README))
    printed = user("python", "example.py").stdout
    expected = bazel_inference(user, "-m", MODEL, "--json", "-i", "testdata/cat.jpg", "-i", "testdata/coffee.jpg")
    assert readme_example.printed_top5(printed) == readme_example.records_top5(expected), printed


def test_the_installed_package_is_typed(user, tmp_path):
    good = "from mgedeploy import Classifier\nindex: int = Classifier('m.mge').classify(['a.jpg'])[0]['top'][0]['index']\n"
    bad = good.replace("index: int", "index: str")
    results = []
    for name, code in (("good.py", good), ("bad.py", bad)):
        (tmp_path / name).write_text(code)
        # The Bazel venv's mypy, looking at the user's venv: it finds mgedeploy there, typed by py.typed.
        results.append(subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir", str(tmp_path / "cache"),
             "--python-executable", str(user.venv / "bin" / "python"), str(tmp_path / name)],
            cwd=tmp_path, capture_output=True, text=True, timeout=600))
    assert results[0].returncode == 0, results[0].stdout
    assert results[1].returncode == 1 and "Incompatible types in assignment" in results[1].stdout, results[1].stdout


def test_serve_asks_for_its_extra_then_serves(user, exported):
    without = user("mgedeploy", "serve", "-m", MODEL, "--port", "0", check=False)
    assert without.returncode == 1
    assert without.stderr.strip().splitlines() == [
        "mgedeploy serve: needs the 'serve' extra (fastapi, uvicorn, multipart, prometheus_client, orjson, msgspec, "
        "grpc, google.protobuf not installed): pip install 'mgedeploy[serve]'"]
    user.pip_install(WHEEL + "[serve]")
    assert installed(user, ["ray", "onnxruntime"]) == []
    server = servers.Server(str(user.venv / "bin" / "mgedeploy"), "serve", "--port", "0", "--model",
                            str(exported), env=user.env)
    try:
        ready = httpx.get(server.url + "/v2/health/ready", timeout=60)
        assert ready.status_code == 200, ready.text
    finally:
        assert server.stop() == 0, server.stderr


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
