"""Builds the mgedeploy wheel with hatchling (py/pyproject.toml), offline, from the venv.

Called by //py:wheel. The files Bazel gives (sources and generated data, from several output
roots) are copied into one tree laid out as the project: pyproject.toml, LICENSE, wheel/, and
mgedeploy/ with every file at its package path; then hatchling's PEP 517 build_wheel runs there
(no isolated build environment: that would need a download). Modes are normalised and
SOURCE_DATE_EPOCH fixed, so two builds give the same bytes (//py:wheel_test builds twice).

Usage: build_wheel.py --output OUT.whl --pyproject P --license L --hook H FILE...
"""
import argparse
import os
import shutil
import sys
import tempfile

PACKAGE = "mgedeploy"
# hatchling's own default for reproducible builds, set explicitly so that the machine's
# SOURCE_DATE_EPOCH (or its absence) cannot change the bytes.
SOURCE_DATE_EPOCH = "1580601600"


def package_path(path):
    """py/mgedeploy/x/y.py or bazel-out/.../py/mgedeploy/x/y.so -> mgedeploy/x/y.*"""
    marker = "py/%s/" % PACKAGE
    where = path.find(marker)
    if where < 0:
        raise SystemExit("build_wheel: %s is not under py/%s/" % (path, PACKAGE))
    return path[where + len("py/"):]


def copy(source, destination):
    os.makedirs(os.path.dirname(destination), exist_ok=True)
    shutil.copyfile(source, destination)
    os.chmod(destination, 0o755 if destination.endswith(".so") else 0o644)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True)
    parser.add_argument("--pyproject", required=True)
    parser.add_argument("--license", required=True)
    parser.add_argument("--hook", required=True)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()

    os.environ["SOURCE_DATE_EPOCH"] = SOURCE_DATE_EPOCH
    with tempfile.TemporaryDirectory() as work:
        tree = os.path.join(work, "project")
        copy(args.pyproject, os.path.join(tree, "pyproject.toml"))
        copy(args.license, os.path.join(tree, "LICENSE"))
        copy(args.hook, os.path.join(tree, "wheel", os.path.basename(args.hook)))
        for path in sorted(set(args.files)):
            copy(path, os.path.join(tree, package_path(path)))

        from hatchling.build import build_wheel

        out = os.path.join(work, "dist")
        os.makedirs(out)
        here = os.getcwd()
        os.chdir(tree)
        try:
            name = build_wheel(out)
        finally:
            os.chdir(here)
        if name != os.path.basename(args.output):
            # The BUILD file names the output from version.bzl; hatchling from __init__.py.
            raise SystemExit("build_wheel: hatchling built %s, expected %s (is __version__ the version.bzl one?)"
                             % (name, os.path.basename(args.output)))
        shutil.copyfile(os.path.join(out, name), args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
