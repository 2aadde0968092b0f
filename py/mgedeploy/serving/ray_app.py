"""The same server app as a Ray Serve deployment: `replicas` processes, each building its own app
(make_app: its worker pool, metrics and page) when it starts, behind Ray Serve's HTTP proxy.

On one machine, `ray.init()` starts a local Ray and nothing else is needed; on a cluster, connect
with `address` and the same deployment spreads its replicas over the nodes (num_replicas, or Ray
Serve's autoscaling between `replicas` and `max_replicas`). Ray is imported only here: the single-machine
server (//py:serve) never loads it.
"""


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
    """Starts Ray (or joins `address`), deploys, returns a stop() function."""
    import logging

    import ray
    from ray import serve

    logging.getLogger("ray.serve").setLevel(logging.WARNING)  # no INFO line per start step
    if address:
        ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
    else:
        ray.init(include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False,
                 _temp_dir=temp_dir)
    serve.start(http_options={"host": host, "port": port})
    serve.run(application(models, settings, replicas, cpus_per_replica, max_replicas), name="megdeploy",
              route_prefix="/")

    def stop():
        serve.shutdown()
        ray.shutdown()

    return stop
