"""The same server app as a Ray Serve deployment: `replicas` processes, each building its own app
(make_app: its worker pool, metrics and page) when it starts, behind Ray Serve's HTTP proxy.

On one machine, `ray.init()` starts a local Ray and nothing else is needed; on a cluster, connect
with `address` and the same deployment spreads its replicas over the nodes (num_replicas, or Ray
Serve's autoscaling between `replicas` and `max_replicas`). Ray is imported only here: the single-machine
server (//py:serve) never loads it.

Authentication (Ray 2.60 turns token authentication on by default): a local Ray started here gets a
fresh token through the environment (local_cluster_auth), so nothing is written to ~/.ray, which
may be read-only or not exist. A cluster's token is the user's to give, as Ray reads it:
RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, or ~/.ray/auth_token, with RAY_AUTH_MODE=token.
"""
import os
import secrets
import warnings

AUTH_VARIABLES = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


# Ray Serve adds a replica after the load has stayed above target this long (its default is 30 s;
# a burst of image requests is over by then).
UPSCALE_DELAY_S = 5.0


def scaling_options(replicas, max_replicas, workers):
    """A fixed replica count, or (max_replicas > replicas) Ray Serve's autoscaling between the two,
    aiming at `workers` requests in progress per replica (one per Lite worker)."""
    if max_replicas <= replicas:
        return {"num_replicas": replicas}
    return {"autoscaling_config": {"min_replicas": replicas, "initial_replicas": replicas, "max_replicas": max_replicas,
                                   "target_ongoing_requests": workers, "upscale_delay_s": UPSCALE_DELAY_S}}


class ClusterError(Exception):
    """Joining a Ray cluster failed; the message is one line that says what to do."""


def local_cluster_auth(environ):
    """The variables to set before Ray is imported so that the local Ray started here authenticates
    with a new token held in the environment (its workers inherit it) instead of one Ray would
    generate into ~/.ray/auth_token. Empty when the user configured Ray's authentication already."""
    if any(environ.get(name) for name in AUTH_VARIABLES):
        return {}
    return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}  # Ray's own token size


def cluster_error(address, error, environ):
    """One line for a failure to join or deploy on `address`, with what to do about the cluster's
    token (Ray reports a missing or wrong token only as a failure to connect)."""
    reason = " ".join(str(error).split())[:300] or type(error).__name__
    if any(environ.get(name) for name in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")):
        hint = ("check that RAY_AUTH_TOKEN / RAY_AUTH_TOKEN_PATH hold the cluster's token "
                "(`ray get-auth-token` on the head node prints it)")
    else:
        hint = ("if the cluster uses token authentication, set RAY_AUTH_MODE=token and "
                "RAY_AUTH_TOKEN_PATH=<a file with its token> (or RAY_AUTH_TOKEN)")
    return ClusterError("cannot use the Ray cluster at %s: %s (%s)" % (address, reason, hint))


def application(models, settings, replicas, cpus_per_replica, max_replicas=0):
    """The bound Ray Serve application for serve.run()."""
    from ray import serve

    def build_app():  # runs in each replica process
        from mgedeploy.serving import app as app_lib

        return app_lib.make_app(models, settings)

    deployment = serve.deployment(
        serve.ingress(build_app)(), name="megdeploy", ray_actor_options={"num_cpus": cpus_per_replica},
        # The replica's own queue (--max_queue) answers 429; Ray's must not hold requests longer.
        max_ongoing_requests=settings.max_queue + settings.workers,
        **scaling_options(replicas, max_replicas, settings.workers))
    return deployment.bind()


def run(models, settings, replicas, cpus_per_replica, host, port, address=None, temp_dir=None, max_replicas=0):
    """Starts Ray on loopback (or joins `address`), deploys, returns a stop() function. Raises
    ClusterError (one line) when the cluster cannot be joined or the deployment fails."""
    import logging

    import ray
    from ray import serve

    import mgedeploy

    logging.getLogger("ray.serve").setLevel(logging.WARNING)  # no INFO line per start step
    try:
        if address:
            with warnings.catch_warnings():  # the Ray client's own multi-line warning, said by ours
                warnings.simplefilter("ignore")
                # A cluster's nodes have our dependencies, not our code: Ray uploads the package.
                ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False,
                         runtime_env={"py_modules": [os.path.dirname(os.path.abspath(mgedeploy.__file__))]})
        else:
            ray.init(include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False,
                     _temp_dir=temp_dir, _node_ip_address="127.0.0.1")
        serve.start(http_options={"host": host, "port": port})
        serve.run(application(models, settings, replicas, cpus_per_replica, max_replicas), name="megdeploy",
                  route_prefix="/")
    except Exception as e:  # Ray raises many kinds here (ConnectionError, RuntimeError, AuthenticationError...)
        if ray.is_initialized():
            ray.shutdown()
        raise cluster_error(address or "this machine (a local Ray)", e, os.environ) from None

    def stop():
        serve.shutdown()
        ray.shutdown()

    return stop
