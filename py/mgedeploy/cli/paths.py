"""Path conventions shared by the programs: user paths resolve where the user ran `bazel run`."""
import os

# This file is py/mgedeploy/cli/paths.py in the source tree and in Bazel runfiles alike.
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DEFAULT_IMAGE = os.path.join(REPO_ROOT, "testdata", "cat.jpg")


def user_path(path):
    """Resolves a path the user typed against the directory they ran `bazel run` from."""
    base = os.environ.get("BUILD_WORKING_DIRECTORY") or os.getcwd()
    return os.path.normpath(os.path.join(base, os.path.expanduser(path)))


def shown(path):
    """A path as the user would type it: relative to where they ran the command when inside it."""
    base = os.environ.get("BUILD_WORKING_DIRECTORY") or os.getcwd()
    if path == DEFAULT_IMAGE or path.startswith(REPO_ROOT + os.sep) and not path.startswith(base + os.sep):
        return os.path.relpath(path, REPO_ROOT)
    rel = os.path.relpath(path, base)
    return path if rel.startswith("..") else rel
