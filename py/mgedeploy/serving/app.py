"""The FastAPI app: the Open Inference Protocol (V2) REST endpoints with its repository extension,
/classify, /metrics and the web page, over one ModelWorkers pool (workers.py) per serving model
version (repository.py: --model files and a model repository, reloaded without dropping requests).

    app = make_app({"efficientnet_lite0_deploy": "efficientnet_lite0_deploy.mge"}, Settings())

Every error is `{"error": "<one line>"}` with a 4xx/5xx status: 400 malformed, 404 unknown model or version,
408 slow upload, 413 too big (body, pixels, items), 415 not an image, 429 queue full (with
Retry-After), 500 Lite failed (the worker is rebuilt), 503 shutting down, 504 deadline passed in the queue.
"""
import asyncio
import contextlib
import dataclasses
import html
import logging
import os
import socket
import time
from typing import Callable, NamedTuple, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

import mgedeploy
from mgedeploy import model_encryption, preprocess, records
from mgedeploy.serving import auth
from mgedeploy.serving import repository, v2, v2_binary, workers as workers_lib
from mgedeploy.serving.metrics import Metrics
from mgedeploy.serving.uploads import ClientGone, HttpError, check_image, image_from_body, read_body

PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "page.html")
# Which process answered (host:pid), on every /classify and /infer answer: with several replicas
# (Ray Serve, serve_ray.py) it shows where a request went.
SERVED_BY = "%s:%d" % (socket.gethostname(), os.getpid())
LOG = logging.getLogger("megdeploy.serve")
# The status counted for a request whose client left before it was read (nginx's convention).
CLIENT_GONE = 499


@dataclasses.dataclass
class Settings:
    """The server's knobs; programs/serve.py documents each as a flag."""
    workers: int = 2
    threads: int = 1
    max_batch: int = 1
    max_batch_delay_ms: float = 0.0
    max_queue: int = 32
    timeout_ms: float = 5000.0
    max_body_bytes: int = 32 << 20
    body_timeout_s: float = 10.0
    max_pixels: int = preprocess.DEFAULT_MAX_PIXELS
    max_batch_inputs: int = 64
    lite_options: str = "best"
    backend: str = "lite"  # or onnxruntime / eager, for //bench:serve_load's side-by-side
    api_keys: tuple = ()  # non-empty: every route but /v2/health/* needs one (auth.py)
    grpc_port: Optional[int] = None  # the gRPC service (grpc_service.py) on this port; 0: any free one
    grpc_host: str = "127.0.0.1"
    grpc_tls: tuple = ()  # (certificate PEM, key PEM) bytes: TLS on the gRPC port too
    model_repository: Optional[str] = None  # a directory in Triton's layout (repository.py)
    version_policy: str = "latest:1"
    repository_poll_s: float = 0.0  # rescan the repository this often; 0: only on POST .../load
    # The key file of encrypted models (model_encryption.py), read when the app is made (each Ray
    # replica reads it on its own machine: the key never travels in the deployment's arguments).
    model_key_file: Optional[str] = None
    # POST /v2/repository/models/<n>/load|unload act on this process's models: off behind Ray Serve,
    # where a request reaches one replica of several (each polls the repository instead).
    repository_control: bool = True


class Dispatch(NamedTuple):
    """What the HTTP routes and the gRPC service share: a model version's lease (404), the queue's
    admission (429, 413, 503), the jobs' outcomes (504, 413, 400, 500) and readiness."""
    lease: Callable
    refuse_if_full: Callable
    run_input: Callable
    is_ready: Callable
    model_is_ready: Callable


def model_name(path):
    """A model's name in the URLs: its file name without `.mge`."""
    base = os.path.basename(path)
    return base[:-4] if base.endswith(".mge") else base


# The POST routes registered as plain Starlette routes (make_app), with their /openapi.json summaries.
RAW_ROUTES = {
    "/v2/models/{name}/infer": "V2 inference: FP32 tensors as JSON `data`, or images as a BYTES input "
                               "(base64) named `image`; either also as binary tensor data (Triton's extension: "
                               "`Inference-Header-Content-Length`, `binary_data_size`), and the output too "
                               "(`binary_data_output`).",
    "/v2/models/{name}/versions/{version}/infer": "The same, for one version of the model.",
    "/v2/models/{name}/classify": "An image as the body or as the multipart field `image`; `?topk=N` "
                                  "(default 5). Answers {model, version, image, top: [{index, name, probability}]}.",
    "/v2/models/{name}/versions/{version}/classify": "The same, for one version of the model.",
}


def openapi_with_raw_routes(app):
    """FastAPI's schema plus the plain routes it does not see (the POST endpoints)."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi
        schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
        for path, summary in RAW_ROUTES.items():
            parameters = [{"name": part.strip("{}"), "in": "path", "required": True, "schema": {"type": "string"}}
                          for part in path.split("/") if part.startswith("{")]
            if path.endswith("/classify"):
                parameters.append({"name": "topk", "in": "query", "schema": {"type": "integer", "default": 5}})
            schema["paths"].setdefault(path, {})["post"] = {
                "summary": summary, "parameters": parameters,
                "responses": {"200": {"description": "the answer (JSON)"},
                              "4XX": {"description": '{"error": "<one line>"}'}}}
        app.openapi_schema = schema
    return app.openapi_schema


def make_app(models, settings):
    """models: {name: .mge path}, beside settings.model_repository's. Loads and warms up what
    serves now: a --model's ContractError or ModelError, or a repository's RepositoryError, is
    raised here, before the server listens; so is the KeyFileError of a bad settings.model_key_file."""
    metrics = Metrics()
    key = model_encryption.read_key(settings.model_key_file) if settings.model_key_file else None

    def make_pool(name, version, path):
        return workers_lib.ModelWorkers(
            path, workers=settings.workers, threads=settings.threads, max_batch=settings.max_batch,
            max_batch_delay_s=settings.max_batch_delay_ms / 1000, max_queue=settings.max_queue,
            lite_options=settings.lite_options, max_pixels=settings.max_pixels,
            observe=metrics.observer(name, version), backend=settings.backend,
            model_key=model_encryption.key_for_file(path, key))

    served = repository.Models(make_pool, files=models, repository=settings.model_repository,
                               policy=repository.parse_policy(settings.version_policy), on_change=metrics.model_changed)
    served.start(settings.repository_poll_s)
    metrics.track_models(served)
    state = {"ready": True}

    @contextlib.asynccontextmanager
    async def lifespan(app):
        grpc_server = None
        if settings.grpc_port is not None:
            from mgedeploy.serving import grpc_service

            grpc_server, app.state.grpc_port = await grpc_service.start(
                app, settings.grpc_host, settings.grpc_port, settings.max_body_bytes, settings.grpc_tls or None)
        yield
        # uvicorn has stopped accepting and waited for the requests in flight: drain and stop.
        state["ready"] = False
        if grpc_server is not None:  # its calls in flight finish (they hold queued jobs) first
            await grpc_server.stop(settings.timeout_ms / 1000 + 1)
        await asyncio.get_running_loop().run_in_executor(None, served.close)

    app = FastAPI(title="megdeploy model server", version=mgedeploy.__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None)  # Swagger UI loads from a CDN: blank offline
    app.state.models = served
    app.state.metrics = metrics
    app.state.ready = state
    app.state.settings = settings
    app.state.grpc_port = None

    def error(status, message, headers=None):
        headers = dict(headers or {})
        if status in (408, 413):
            # The body was not read to its end: close rather than let the server read and discard
            # the rest (uvicorn drains it to keep the connection: 100 ms of CPU per 100 MB).
            headers["Connection"] = "close"
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    @app.exception_handler(HttpError)
    async def on_http_error(request, e):
        return error(e.status, str(e), e.headers)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request, e):
        first = e.errors()[0] if e.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return error(400, "%s: %s" % (where, first.get("msg", "invalid request")))

    @app.exception_handler(StarletteHTTPException)
    async def on_starlette_error(request, e):
        return error(e.status_code, str(e.detail))

    def too_busy(version, e):
        metrics.rejections.labels(version.name, version.key, "queue_full").inc()
        return HttpError(429, str(e), {"Retry-After": str(e.retry_after_s)})

    def refuse_if_full(version):
        try:
            version.pool.refuse_if_full()
        except workers_lib.QueueFull as e:
            raise too_busy(version, e) from None

    def submit(version, jobs):
        """Queues a request's jobs together, or refuses them all: 429, 413 or 503."""
        try:
            return version.pool.submit_all(jobs)
        except workers_lib.QueueFull as e:
            raise too_busy(version, e) from None
        except workers_lib.TooManyItems as e:
            raise HttpError(413, str(e)) from None
        except workers_lib.ShuttingDown as e:
            metrics.rejections.labels(version.name, version.key, "shutting_down").inc()
            raise HttpError(503, str(e)) from None

    async def outcome(version, job, future):
        """Waits for a queued job until its deadline; its errors become statuses."""
        waiting = asyncio.wrap_future(future)
        try:
            return await asyncio.wait_for(asyncio.shield(waiting), max(0.0, job.deadline - time.monotonic()))
        except asyncio.TimeoutError:
            if future.cancel():  # still queued: it will never run
                metrics.rejections.labels(version.name, version.key, "deadline").inc()
                raise HttpError(504, "not run: the request waited %g ms in the queue (--timeout_ms)"
                                % settings.timeout_ms) from None
            return await waiting  # already running: it ends within one forward pass
        except workers_lib.DeadlineExceeded as e:
            raise HttpError(504, "not run: %s (--timeout_ms)" % e) from None
        except preprocess.ImageTooLarge as e:
            raise HttpError(413, str(e)) from None
        except preprocess.ImageError as e:
            raise HttpError(400, str(e)) from None
        except workers_lib.WorkerFailure as e:
            raise HttpError(500, str(e)) from None

    async def run_jobs(version, jobs):
        """The outputs of every job of one request (admitted together); the first error wins."""
        futures = submit(version, jobs)
        results = await asyncio.gather(*(outcome(version, job, future) for job, future in zip(jobs, futures)),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return results

    async def run_input(version, deadline, kind, value):
        """A parsed V2 input (v2.py: ("tensor", array) or ("images", files)) -> its output rows."""
        if kind == "tensor":
            return list((await run_jobs(version, [workers_lib.Job(deadline, tensor=value)]))[0])
        jobs = [workers_lib.Job(deadline, image=image, name="input 'image' item %d" % i) for i, image in enumerate(value)]
        return [result[0] for result in await run_jobs(version, jobs)]

    def answered(labels, endpoint, started, response):
        response.headers["X-Served-By"] = SERVED_BY
        metrics.requests.labels(*labels, endpoint, str(response.status_code)).inc()
        metrics.latency.labels(*labels, endpoint).observe(time.monotonic() - started)
        return response

    async def handle(name, version, endpoint, request, work):
        """Runs `work(model version, deadline)` on a lease of the version (repository.py: a reload
        meanwhile does not touch it), counting its outcome; HttpError -> its status; a client that
        left -> one log line; anything else -> a one-line 500 (logged), never a traceback."""
        started = time.monotonic()
        labels = ("", "")  # unknown names are not metric labels
        try:
            with served.lease(name, version) as chosen:
                labels = (name, chosen.key)
                response = await work(chosen, started + settings.timeout_ms / 1000)
        except HttpError as e:
            if e.status in (408, 413, 415, 400):
                metrics.rejections.labels(*labels, "too_large" if e.status == 413 else "bad_input").inc()
            response = error(e.status, str(e), e.headers)
        except ClientGone as e:
            LOG.warning("%s %s from %s: %s", request.method, request.url.path, client_of(request), e)
            response = error(CLIENT_GONE, str(e))
        except Exception as e:  # a bug of ours: this request fails, the server goes on
            reason = workers_lib.one_line(e)
            LOG.error("%s %s: internal error: %s", request.method, request.url.path, reason)
            response = error(500, "internal error: %s" % reason)
        return answered(labels, endpoint, started, response)

    def client_of(request):
        return "%s:%s" % tuple(request.client) if request.client else "a client"

    def is_ready(versions=None):
        """Not shutting down, something serves, and each serving version (or each of `versions`)
        has a live, warmed-up worker."""
        versions = served.serving() if versions is None else versions
        return state["ready"] and bool(versions) and all(
            v.pool is not None and v.pool.live_workers() > 0 for v in versions)

    def model_is_ready(name, version):
        """Whether `name` (at `version`, if given) serves now; 404 only for a name never seen."""
        try:
            with served.lease(name, version) as chosen:
                return is_ready([chosen])
        except HttpError:
            if name not in served.names():
                raise
            return False

    app.state.dispatch = Dispatch(served.lease, refuse_if_full, run_input, is_ready, model_is_ready)

    @app.get("/", response_class=HTMLResponse)
    async def page():
        with open(PAGE, encoding="utf-8") as f:
            text = f.read()
        names = sorted({v.name for v in served.serving()})
        options = "".join('<option value="%s">%s</option>' % (html.escape(n), html.escape(n)) for n in names)
        return text.replace("<!--MODELS-->", options)

    @app.get("/v2")
    async def server_metadata():
        return {"name": "megdeploy", "version": mgedeploy.__version__, "extensions": v2.EXTENSIONS}

    @app.get("/v2/health/live")
    async def live():
        return {"live": True}

    @app.get("/v2/health/ready")
    async def ready():
        ok = is_ready()
        return JSONResponse({"ready": ok}, status_code=200 if ok else 503)

    @app.get("/v2/models/{name}")
    @app.get("/v2/models/{name}/versions/{version}")
    async def model_metadata(name: str, version: str = ""):
        with served.lease(name, version) as chosen:
            return v2.metadata(name, chosen.pool.contract, [v.key for v in served.serving(name)])

    @app.get("/v2/models/{name}/ready")
    @app.get("/v2/models/{name}/versions/{version}/ready")
    async def model_ready(name: str, version: str = ""):
        ok = model_is_ready(name, version)
        return JSONResponse({"name": name, "ready": ok}, status_code=200 if ok else 503)

    # The repository extension (KServe V2 / Triton): every version's state, load and unload.
    @app.post("/v2/repository/index")
    async def repository_index(request: Request):
        body = await read_body(request, 4096, settings.body_timeout_s)
        return JSONResponse(served.index(ready_only=v2.index_ready_only(body)))

    def check_control():
        if not settings.repository_control:
            raise HttpError(400, "load and unload are off here: a request reaches one replica of several; put the "
                                 "version in the repository and each replica loads it (--repository_poll_s)")

    @app.post("/v2/repository/models/{name}/load")
    async def repository_load(name: str):
        check_control()
        # Off the event loop: loading and warming up a model takes seconds, and requests go on.
        await asyncio.get_running_loop().run_in_executor(None, served.load, name)
        return JSONResponse({})

    @app.post("/v2/repository/models/{name}/unload")
    async def repository_unload(name: str):
        check_control()
        # Off the event loop too: it waits for a rescan in progress (a poll loading a version).
        await asyncio.get_running_loop().run_in_executor(None, served.unload, name)
        return JSONResponse({})

    # The two endpoints that carry the load are plain Starlette routes: FastAPI's parameter parsing
    # and validation per request cost more event-loop CPU than the rest of the request together
    # (measured at 150 requests/s: a FastAPI route that only reads the body, 12 % of a core; the
    # same as a Starlette route, 7 %), and that CPU is taken from the workers on 2 cores.
    # openapi() below still lists them at /openapi.json.
    async def infer(request: Request):
        name = request.path_params["name"]

        async def work(version, deadline):
            pool = version.pool
            refuse_if_full(version)
            body = await read_body(request, settings.max_body_bytes, settings.body_timeout_s)
            # Off the event loop: a 1x3x224x224 tensor is ~150k numbers to parse and check, and
            # other requests must not wait behind it.
            payload, kind, value = await asyncio.get_running_loop().run_in_executor(
                None, v2.parse_infer_body, body, pool.contract, settings.max_batch_inputs, settings.max_pixels,
                request.headers.get(v2_binary.HEADER))
            outputs = await run_input(version, deadline, kind, value)
            answer, headers = v2.response(name, version.key, payload, pool.contract, outputs)
            return Response(answer, headers=headers,
                            media_type="application/octet-stream" if headers else "application/json")
        return await handle(name, request.path_params.get("version", ""), "infer", request, work)

    async def classify(request: Request):
        name = request.path_params["name"]

        async def work(version, deadline):
            pool = version.pool
            text = request.query_params.get("topk", "5")
            try:
                topk = int(text)
            except ValueError:
                raise HttpError(400, "topk must be an integer, got %r" % text) from None
            classes = len(pool.contract["labels"])
            if not 1 <= topk <= classes:
                raise HttpError(400, "topk must be 1 to %d, got %d" % (classes, topk))
            refuse_if_full(version)
            body = await read_body(request, settings.max_body_bytes, settings.body_timeout_s)
            # Off the event loop: the header check's cost grows with the body (a JPEG of fill bytes).
            image = await asyncio.get_running_loop().run_in_executor(
                None, check_image, await image_from_body(request, body), settings.max_pixels,
                pool.contract["preprocess"])
            outputs = (await run_jobs(version, [workers_lib.Job(deadline, image=image)]))[0]
            return JSONResponse({"model": name, "version": version.key, "image": "upload",
                                 "top": records.top_classes(outputs[0], pool.contract["labels"], topk)})
        return await handle(name, request.path_params.get("version", ""), "classify", request, work)

    endpoints = {"infer": infer, "classify": classify}  # by a RAW_ROUTES path's last part
    for path in RAW_ROUTES:
        app.add_route(path, endpoints[path.rsplit("/", 1)[1]], methods=["POST"])
    app.openapi = lambda: openapi_with_raw_routes(app)

    @app.get("/metrics")
    async def metrics_page():
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    if settings.api_keys:
        app.add_middleware(auth.RequireApiKey, keys=settings.api_keys)
    return app
