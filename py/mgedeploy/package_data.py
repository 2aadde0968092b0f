"""Files that ship inside the package: the embedded sample image and the two C libraries.

One place to find them, so that a Bazel program (they sit beside the modules in its runfiles,
copied there by py/BUILD.bazel) and an installed wheel (they are package data) look in the same
spot. In a source checkout with PYTHONPATH=py they are where Bazel built them, under bazel-bin.
"""
import os

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_BAZEL_BIN = os.path.join(os.path.dirname(os.path.dirname(PACKAGE_DIR)), "bazel-bin", "py", "mgedeploy")

SAMPLE_IMAGE = "data/cat.jpg"
XBYAK_AMD_FIX_LIBRARY = "lite/libmegdeploy_xbyak_amd_fix.so"
CRASH_GUARD_LIBRARY = "lite/libmegdeploy_crash_guard.so"
# The embedded image's name in outputs: the same as the C++ programs print for it.
SAMPLE_IMAGE_NAME = "testdata/cat.jpg"


def candidates(relative):
    """Where `relative` (one of the names above) may be, in the order looked at."""
    return (os.path.join(PACKAGE_DIR, relative), os.path.join(_BAZEL_BIN, relative))


def find(relative):
    """The file's path, or None when this package was neither built by Bazel nor installed."""
    return next((path for path in candidates(relative) if os.path.exists(path)), None)
