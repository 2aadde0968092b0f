"""The server's Prometheus metrics (GET /metrics), in a registry of its own per app. Every series
of a request or a worker is labelled by model and version (empty for a request to no known model);
the repository's state (each version's state, the queue per serving version) is read at scrape time,
so a version that no longer exists leaves no stale series."""
import prometheus_client as prom
from prometheus_client.core import GaugeMetricFamily

# Seconds: from a fraction of a millisecond (a 429) to the default --timeout_ms and past it.
# No `_created` series: nobody reads them and they double the page.
prom.disable_created_metrics()

LATENCY_BUCKETS = (.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)


class Metrics:
    def __init__(self):
        self.registry = prom.CollectorRegistry()
        r = self.registry
        self.requests = prom.Counter("megdeploy_requests", "Requests answered, by model, version, endpoint and "
                                     "HTTP status.", ["model", "version", "endpoint", "status"], registry=r)
        self.rejections = prom.Counter("megdeploy_rejections", "Requests refused before running, by reason "
                                       "(queue_full, deadline, too_large, bad_input, shutting_down).",
                                       ["model", "version", "reason"], registry=r)
        self.latency = prom.Histogram("megdeploy_request_seconds", "Whole request, body read to answer.",
                                      ["model", "version", "endpoint"], buckets=LATENCY_BUCKETS, registry=r)
        self.stage = prom.Histogram("megdeploy_stage_seconds", "Time per request in each stage: queue (waiting "
                                    "for a worker), preprocess (decode, resize, normalise), inference (Lite).",
                                    ["model", "version", "stage"], buckets=LATENCY_BUCKETS, registry=r)
        self.batch = prom.Histogram("megdeploy_batch_size", "Inputs per worker batch.", ["model", "version"],
                                    buckets=BATCH_BUCKETS, registry=r)
        self.restarts = prom.Counter("megdeploy_worker_restarts", "Networks rebuilt after a failure in Lite.",
                                     ["model", "version"], registry=r)
        self.loads = prom.Counter("megdeploy_model_loads", "Model versions loaded, failed to load and unloaded "
                                  "(outcome: loaded, failed, unloaded).", ["model", "version", "outcome"], registry=r)

    def model_changed(self, model, version, event, pool=None):
        """repository.Models' on_change: counts loads, failures and unloads."""
        self.loads.labels(model, version, event).inc()

    def observer(self, model, version):
        """The `observe(kind, value)` callback a ModelWorkers reports to (workers.py)."""
        stages = {kind: self.stage.labels(model, version, kind) for kind in ("queue", "preprocess", "inference")}
        batch, restarts = self.batch.labels(model, version), self.restarts.labels(model, version)
        expired = self.rejections.labels(model, version, "deadline")

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

    def track_models(self, models):
        """The queue of every serving version and the state of every version (repository.Models)."""
        self.registry.register(_ModelsCollector(models))

    def exposition(self):
        return prom.generate_latest(self.registry), prom.CONTENT_TYPE_LATEST


class _ModelsCollector:
    def __init__(self, models):
        self.models = models

    def collect(self):
        depth = GaugeMetricFamily("megdeploy_queue_depth", "Requests waiting for a worker.",
                                  labels=["model", "version"])
        for version in self.models.serving():
            pool = version.pool
            depth.add_metric([version.name, version.key], pool.depth() if pool is not None else 0)
        yield depth
        states = GaugeMetricFamily("megdeploy_model_state", "1 for each model version's state (READY, LOADING, "
                                   "UNLOADING, UNAVAILABLE): the repository index.", labels=["model", "version", "state"])
        for row in self.models.index():
            states.add_metric([row["name"], row["version"], row["state"]], 1)
        yield states
