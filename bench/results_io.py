"""What the benchmark tools share: where results go, writing them whole, running a --json benchmark."""
import json
import os
import subprocess

from mgedeploy.cli import paths

# Outside the source tree, so that running a benchmark never dirties a checkout; recorded results
# are written to bench/results only when asked (--output_dir bench/results).
DEFAULT_DIR = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "megdeploy", "bench")
OUTPUT_DIR_HELP = "Where results go (default: %s; --output_dir bench/results records them)." % DEFAULT_DIR


def output_dir(flag_value):
    """--output_dir (relative to where the user ran `bazel run`), else DEFAULT_DIR."""
    directory = paths.user_path(flag_value) if flag_value else DEFAULT_DIR
    os.makedirs(directory, exist_ok=True)
    return directory


def write(path, text):
    """Writes to a temp name, then renames: a reader never sees half a file."""
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def save(directory, stem, report, table):
    """`stem`.json (the report) and `stem`.md (its table) in `directory`."""
    write(os.path.join(directory, stem + ".json"), json.dumps(report, indent=1) + "\n")
    write(os.path.join(directory, stem + ".md"), table)


def run_json(command, timeout):
    """Runs a //cc:benchmark or //py:benchmark --json command: (its JSON, "ok") or (None, why)."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "hung (killed after %d s)" % timeout
    if result.returncode != 0:
        return None, "failed: %s" % (result.stderr.strip().splitlines() or ["exit %d" % result.returncode])[-1]
    return json.loads(result.stdout.strip().splitlines()[-1]), "ok"
