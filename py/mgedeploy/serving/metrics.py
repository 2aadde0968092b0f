"""The server's Prometheus metrics (GET /metrics), in a registry of its own per app."""
import prometheus_client as prom

# Seconds: from a fraction of a millisecond (a 429) to the default --timeout_ms and past it.
# No `_created` series: nobody reads them and they double the page.
prom.disable_created_metrics()

LATENCY_BUCKETS = (.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)


class Metrics:
    def __init__(self):
        self.registry = prom.CollectorRegistry()
        r = self.registry
        self.requests = prom.Counter("megdeploy_requests", "Requests answered, by model, endpoint and HTTP status.",
                                     ["model", "endpoint", "status"], registry=r)
        self.rejections = prom.Counter("megdeploy_rejections", "Requests refused before running, by reason "
                                       "(queue_full, deadline, too_large, bad_input, shutting_down).",
                                       ["model", "reason"], registry=r)
        self.latency = prom.Histogram("megdeploy_request_seconds", "Whole request, body read to answer.",
                                      ["model", "endpoint"], buckets=LATENCY_BUCKETS, registry=r)
        self.stage = prom.Histogram("megdeploy_stage_seconds", "Time per request in each stage: queue (waiting "
                                    "for a worker), preprocess (decode, resize, normalise), inference (Lite).",
                                    ["model", "stage"], buckets=LATENCY_BUCKETS, registry=r)
        self.batch = prom.Histogram("megdeploy_batch_size", "Inputs per worker batch.", ["model"],
                                    buckets=BATCH_BUCKETS, registry=r)
        self.queue_depth = prom.Gauge("megdeploy_queue_depth", "Requests waiting for a worker.", ["model"],
                                      registry=r)
        self.restarts = prom.Counter("megdeploy_worker_restarts", "Networks rebuilt after a failure in Lite.",
                                     ["model"], registry=r)

    def observer(self, model):
        """The `observe(kind, value)` callback a ModelWorkers reports to (workers.py)."""
        stages = {kind: self.stage.labels(model, kind) for kind in ("queue", "preprocess", "inference")}
        batch, restarts = self.batch.labels(model), self.restarts.labels(model)
        expired = self.rejections.labels(model, "deadline")

        def observe(kind, value):
            if kind in stages:
                stages[kind].observe(value)
            elif kind == "batch":
                batch.observe(value)
            elif kind == "restart":
                restarts.inc()
            elif kind == "expired":
                expired.inc()
        return observe

    def track_queue(self, model, workers):
        self.queue_depth.labels(model).set_function(workers.depth)

    def exposition(self):
        return prom.generate_latest(self.registry), prom.CONTENT_TYPE_LATEST
