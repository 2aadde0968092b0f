"""Path conventions shared by the programs: user paths resolve where the user ran `bazel run`."""
import os

from mgedeploy import package_data

# This file is py/mgedeploy/cli/paths.py in the source tree and in Bazel runfiles alike (in an
# installed wheel, REPO_ROOT is meaningless and unused: only the benchmarks and tests read it).
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DEFAULT_IMAGE = package_data.find(package_data.SAMPLE_IMAGE) or package_data.candidates(package_data.SAMPLE_IMAGE)[0]


def user_path(path):
    """Resolves a path the user typed against the directory they ran `bazel run` from."""
    base = os.environ.get("BUILD_WORKING_DIRECTORY") or os.getcwd()
    return os.path.normpath(os.path.join(base, os.path.expanduser(path)))


def shown(path):
    """A path as the user would type it: relative to where they ran the command when inside it."""
    base = os.environ.get("BUILD_WORKING_DIRECTORY") or os.getcwd()
    if path == DEFAULT_IMAGE:
        return package_data.SAMPLE_IMAGE_NAME
    if path.startswith(REPO_ROOT + os.sep) and not path.startswith(base + os.sep):
        return os.path.relpath(path, REPO_ROOT)
    rel = os.path.relpath(path, base)
    return path if rel.startswith("..") else rel
