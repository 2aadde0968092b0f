"""The same server app as a Ray Serve deployment: `replicas` processes, each building its own app
(make_app: its worker pool, metrics and page) when it starts, behind Ray Serve's HTTP proxy.

On one machine, `ray.init()` starts a local Ray and nothing else is needed; on a cluster, connect
with `address` and the same deployment spreads its replicas over the nodes (num_replicas, or Ray
Serve's autoscaling config instead of a fixed count). Ray is imported only here: the single-machine
server (//py:serve) never loads it.
"""


def application(models, settings, replicas, cpus_per_replica):
    """The bound Ray Serve application for serve.run()."""
    from ray import serve

    def build_app():  # runs in each replica process
        from mgedeploy.serving import app as app_lib

        return app_lib.make_app(models, settings)

    deployment = serve.deployment(
        serve.ingress(build_app)(), name="megdeploy", num_replicas=replicas,
        ray_actor_options={"num_cpus": cpus_per_replica},
        # The replica's own queue (--max_queue) answers 429; Ray's must not hold requests longer.
        max_ongoing_requests=settings.max_queue + settings.workers)
    return deployment.bind()


def run(models, settings, replicas, cpus_per_replica, host, port, address=None, temp_dir=None):
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
    serve.run(application(models, settings, replicas, cpus_per_replica), name="megdeploy", route_prefix="/")

    def stop():
        serve.shutdown()
        ray.shutdown()

    return stop
