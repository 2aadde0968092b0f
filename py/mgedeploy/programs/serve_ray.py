"""Serves exported models with the //py:serve app scaled out on Ray Serve: several replicas (each a
process with its own Lite workers) behind one HTTP address, on this machine or a Ray cluster.

Usage (from the wheel: `mgedeploy serve-ray`, with the same flags):
  bazel run //py:serve_ray -- --model efficientnet_lite0_deploy.mge --replicas 2     # local Ray
  bazel run //py:serve_ray -- --model m.mge --replicas 8 --address ray://head:10001  # a cluster
  bazel run //py:serve_ray -- --replicas 1 --max_replicas 4      # autoscaling between 1 and 4
  bazel run //py:serve_ray -- --model_repository models --repository_poll_s 5  # each replica polls it

The endpoints are those of //py:serve; every answer names its replica in `X-Served-By`.
SIGTERM or Ctrl-C shuts Serve and Ray down and exits 0.
"""
import os
import shutil
import signal
import sys
import tempfile
import threading

from mgedeploy.cli import program

program.prepare(__name__, megengine=False)

from absl import flags  # noqa: E402

from mgedeploy import classifier as classifier_lib  # noqa: E402
from mgedeploy import model_encryption  # noqa: E402
from mgedeploy.cli import model_key_flag, paths, repository_flags, usage  # noqa: E402

# The shared flags are this program's too: listed by --help, not only --helpfull.
flags.adopt_module_key_flags(model_key_flag)
flags.adopt_module_key_flags(repository_flags)

NAME = "serve_ray"

MODEL = flags.DEFINE_multi_string("model", None, "An exported .mge model (its contract beside it, or packed); repeat for "
                                  "several. Default: efficientnet_lite0_deploy.mge.", short_name="m")
REPLICAS = flags.DEFINE_integer("replicas", 2, "Replicas (processes) of the server app (the minimum with "
                                "--max_replicas).")
MAX_REPLICAS = flags.DEFINE_integer("max_replicas", 0, "Autoscale: add replicas up to this many while more than "
                                    "--workers requests per replica are in progress (0: a fixed --replicas).")
CPUS_PER_REPLICA = flags.DEFINE_float("cpus_per_replica", 1.0, "Ray CPUs each replica reserves.")
WORKERS = flags.DEFINE_integer("workers", 1, "Lite workers per model in each replica.")
HOST = flags.DEFINE_string("host", "127.0.0.1", "Address Ray Serve's proxy listens on.")
PORT = flags.DEFINE_integer("port", 8000, "Its TCP port.")
ADDRESS = flags.DEFINE_string("address", None, "A running Ray cluster to join (default: start Ray here). With "
                               "token authentication on the cluster, set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN_PATH "
                               "(or RAY_AUTH_TOKEN) to its token.")
MAX_QUEUE = flags.DEFINE_integer("max_queue", 32, "Requests that may wait per model in each replica (429 beyond).")
TIMEOUT_MS = flags.DEFINE_float("timeout_ms", 5000.0, "A request not started within this is answered 504.")


def main(argv):
    if len(argv) > 1:
        raise usage.UsageError("unexpected arguments: %s" % " ".join(argv[1:]))
    for name, flag in (("--replicas", REPLICAS), ("--workers", WORKERS), ("--max_queue", MAX_QUEUE)):
        usage.positive(name, flag.value)
    if not 1 <= PORT.value <= 65535:
        raise usage.UsageError("--port must be 1 to 65535, got %d" % PORT.value)
    if MAX_REPLICAS.value and MAX_REPLICAS.value < REPLICAS.value:
        raise usage.UsageError("--max_replicas must be 0 or at least --replicas (%d), got %d"
                               % (REPLICAS.value, MAX_REPLICAS.value))
    if not CPUS_PER_REPLICA.value > 0:
        raise usage.UsageError("--cpus_per_replica must be positive, got %g" % CPUS_PER_REPLICA.value)

    repository_settings = repository_flags.settings()
    from mgedeploy.serving import app as app_lib
    from mgedeploy.serving import ray_app, repository

    models = {}
    default = [] if repository_settings["model_repository"] else ["efficientnet_lite0_deploy.mge"]
    for path in map(paths.user_path, MODEL.value or default):
        models[app_lib.model_name(path)] = os.path.abspath(path)
    if repository_settings["model_repository"]:  # each replica resolves it: make it absolute
        repository_settings["model_repository"] = os.path.abspath(repository_settings["model_repository"])
    key_file = model_key_flag.key_file()
    settings = app_lib.Settings(workers=WORKERS.value, max_queue=MAX_QUEUE.value, timeout_ms=TIMEOUT_MS.value,
                                repository_control=False, model_key_file=key_file and os.path.abspath(key_file),
                                **repository_settings)
    # Each model is checked here, once, so that a bad path is one line now rather than a replica
    # failing to start over and over: the same scan a replica makes, reading each model and its
    # contract without loading it in Lite.
    try:
        key = model_key_flag.key()
        checked = repository.Models(lambda name, version, path: Checked(
                                        classifier_lib.check_model(path, model_encryption.key_for_file(path, key))),
                                    files=models, repository=settings.model_repository,
                                    policy=repository.parse_policy(settings.version_policy))
        checked.start(settings.repository_poll_s)
        names = sorted({v.name for v in checked.serving()})
        checked.close()
    except (classifier_lib.ContractError, classifier_lib.ModelError, repository.RepositoryError,
            model_encryption.KeyFileError) as e:
        return program.fail(NAME, e)

    if not ADDRESS.value:
        os.environ.update(ray_app.local_cluster_auth(os.environ))  # before Ray is imported
    # Ray's sockets live in its temp dir, and a Unix socket path must stay under 108 bytes.
    temp_dir = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    try:
        stop = ray_app.run(models, settings, REPLICAS.value, CPUS_PER_REPLICA.value, HOST.value, PORT.value,
                           address=ADDRESS.value, temp_dir=temp_dir, max_replicas=MAX_REPLICAS.value)
    except ray_app.ClusterError as e:
        shutil.rmtree(temp_dir, ignore_errors=True)
        return program.fail(NAME, e)
    replicas = ("%d-%d replicas (autoscaling)" % (REPLICAS.value, MAX_REPLICAS.value)
                if MAX_REPLICAS.value > REPLICAS.value else "%d replicas" % REPLICAS.value)
    print("Serving %s at http://%s:%d/ (%s x %d workers; Ctrl-C to stop)"
          % (", ".join(names) or "nothing yet", HOST.value, PORT.value, replicas, WORKERS.value), flush=True)
    finished = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: finished.set())
    finished.wait()
    stop()
    shutil.rmtree(temp_dir, ignore_errors=True)
    print("Stopped.", file=sys.stderr)
    return 0


class Checked:
    """What the up-front check 'loads' for each version: the model and contract were read, nothing runs."""

    def __init__(self, _):
        pass

    def close(self):
        pass


if __name__ == "__main__":
    program.run(main, NAME)
