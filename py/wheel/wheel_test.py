"""The wheel (//py:wheel): the same bytes from two more builds, exactly the package's files (no
tests, no bench/), and metadata that lets pip resolve it: Requires-Python, the dependencies as
ranges that the lock satisfies (each one a direct requirement in requirements.in), the extras
that extras.py names, and the `mgedeploy` console script.

Arguments (from py/BUILD.bazel): the wheel, the builder, the builder's arguments but --output.
"""
import email.parser
import hashlib
import importlib.metadata
import os
import re
import subprocess
import sys
import zipfile

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mgedeploy import extras

WHEEL, BUILDER, BUILDER_ARGS = sys.argv[1], sys.argv[2], sys.argv[3:]
LOCK = "third_party/python/requirements.lock"
REQUIREMENTS_IN = "third_party/python/requirements.in"
# What an application that only classifies must not get.
NOT_IN_THE_BASE = ("fastapi", "uvicorn", "ray", "onnxruntime", "onnx", "prometheus-client")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def names():
    with zipfile.ZipFile(WHEEL) as wheel:
        return wheel.namelist()


def dist_info(name):
    with zipfile.ZipFile(WHEEL) as wheel:
        info = next(n for n in wheel.namelist() if n.endswith(".dist-info/" + name))
        return wheel.read(info).decode()


def metadata():
    return email.parser.Parser().parsestr(dist_info("METADATA"))


def requirements():
    return [Requirement(line) for line in metadata().get_all("Requires-Dist")]


def test_two_more_builds_give_the_same_bytes(tmp_path):
    digests = set()
    for run in ("first", "second"):
        output = tmp_path / run / os.path.basename(WHEEL)
        output.parent.mkdir()
        subprocess.run([BUILDER, "--output", str(output)] + BUILDER_ARGS, check=True, timeout=300)
        digests.add(sha256(output))
    assert digests == {sha256(WHEEL)}


def test_it_holds_the_package_files_and_nothing_else():
    package = sorted(n for n in names() if not re.match(r"mgedeploy-[^/]+\.dist-info/", n))
    given = sorted(a[a.index("py/mgedeploy/") + 3:] for a in BUILDER_ARGS if "py/mgedeploy/" in a)
    assert package == given
    for required in ("mgedeploy/py.typed", "mgedeploy/data/cat.jpg", "mgedeploy/serving/page.html",
                     "mgedeploy/lite/libmegdeploy_crash_guard.so", "mgedeploy/lite/libmegdeploy_xbyak_amd_fix.so",
                     "mgedeploy/__main__.py"):
        assert required in package
    assert not [n for n in package if n.endswith("_test.py") or n.startswith(("bench/", "tests/", "mgedeploy/tests/"))]
    assert not [n for n in package if not n.startswith("mgedeploy/")]


def test_the_tag_says_x86_64_linux():
    assert re.search(r"^Tag: py3-none-linux_x86_64$", dist_info("WHEEL"), re.M)
    assert WHEEL.endswith("-py3-none-linux_x86_64.whl")


def test_metadata_names_python_3_10_and_the_extras():
    info = metadata()
    assert info["Name"] == "mgedeploy"
    assert info["Requires-Python"] == "==3.10.*"
    assert info["License-Expression"] == "Apache-2.0"
    assert set(info.get_all("Provides-Extra")) == set(extras.MODULES)
    base = {canonicalize_name(r.name) for r in requirements() if r.marker is None}
    assert "megengine" in base
    assert not base & set(NOT_IN_THE_BASE)


def test_each_dependency_is_a_direct_requirement_and_a_range_the_lock_satisfies():
    with open(LOCK) as f:
        pins = {canonicalize_name(m[0]): m[1] for m in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", f.read(), re.M)}
    with open(REQUIREMENTS_IN) as f:
        lines = [line.split("#")[0].strip() for line in f]
    direct = {canonicalize_name(Requirement(line).name) for line in lines if line}
    for requirement in requirements():
        name = canonicalize_name(requirement.name)
        assert name in direct, "%s is not in requirements.in" % name
        assert requirement.specifier.contains(pins[name], prereleases=True), (str(requirement), pins[name])


def test_each_extra_brings_the_modules_extras_py_checks_for():
    by_extra = {}
    for requirement in requirements():
        if requirement.marker is not None:
            extra = re.search(r"""extra == ["']([a-z]+)["']""", str(requirement.marker)).group(1)
            by_extra.setdefault(extra, set()).add(canonicalize_name(requirement.name))
    distributions = {}  # top-level module -> the installed distributions that hold it
    for dist in importlib.metadata.distributions():  # (3.10's packages_distributions reads top_level.txt only)
        for file in dist.files or ():
            module = file.parts[0].removesuffix(".py")
            distributions.setdefault(module, set()).add(canonicalize_name(dist.metadata["Name"]))
    for extra, modules in extras.MODULES.items():
        for module in modules:
            owners = distributions[module.split(".")[0]]
            assert owners & by_extra[extra], (extra, module, owners)


def test_the_console_script_is_the_command():
    assert re.search(r"^mgedeploy = mgedeploy\.cli\.command:main$", dist_info("entry_points.txt"), re.M)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
