"""Serves exported models over HTTP: the Open Inference Protocol (KServe V2) REST API, a /classify
endpoint that takes an image file, Prometheus /metrics and a web page at /.

Usage (from the wheel: `mgedeploy serve`, with the same flags):
  bazel run //py:serve -- --model efficientnet_lite0_deploy.mge              # http://127.0.0.1:8000/
  bazel run //py:serve -- --model a.mge --model b.mge --port 8080 --workers 2 --max_queue 64
  bazel run //py:serve -- --model_repository models --repository_poll_s 5   # models/<name>/<version>/model.mge

A model's name in the URLs is its file name without `.mge`. The server answers 429 (with
Retry-After) at once when --max_queue requests wait, and 504 for a request that waited past
--timeout_ms; SIGTERM or Ctrl-C stops accepting, finishes what is queued and exits 0.
"""
import os
import signal
import sys

from mgedeploy.cli import program

program.prepare(__name__, megengine=False)  # megenginelite loads with the models

from absl import flags  # noqa: E402

from mgedeploy import classifier as classifier_lib, model_encryption, preprocess  # noqa: E402
from mgedeploy.cli import model_key_flag, paths, repository_flags, usage  # noqa: E402
from mgedeploy.lite import options as lite_options  # noqa: E402

# The shared flags are this program's too: listed by --help, not only --helpfull.
flags.adopt_module_key_flags(model_key_flag)
flags.adopt_module_key_flags(repository_flags)

NAME = "serve"

MODEL = flags.DEFINE_multi_string("model", None, "An exported .mge model (its contract beside it, or packed); repeat for "
                                  "several. Default: efficientnet_lite0_deploy.mge.", short_name="m")
HOST = flags.DEFINE_string("host", "127.0.0.1", "Address to listen on: loopback by default. Any other (0.0.0.0: "
                           "every network this machine is on) needs --api_key_file or --allow_unauthenticated.")
PORT = flags.DEFINE_integer("port", 8000, "TCP port (0: any free port, printed at start-up).")
WORKERS = flags.DEFINE_integer("workers", None, "Worker threads per model, each with its own Lite network (one "
                               "copy of the weights). Default: the CPUs this process may use.")
THREADS = flags.DEFINE_integer("threads", 1, "Lite CPU threads per worker (on 2 cores, 2 workers x 1 thread "
                               "beat 1 x 2: docs/serving.md).")
MAX_BATCH = flags.DEFINE_integer("max_batch", 1, "Inputs a worker takes from the queue at once (one forward pass "
                                 "per `export --batch` images).")
MAX_BATCH_DELAY_MS = flags.DEFINE_float("max_batch_delay_ms", 0.0, "How long a worker waits for more inputs to "
                                        "fill --max_batch (0: only what is already queued).")
MAX_QUEUE = flags.DEFINE_integer("max_queue", 32, "Requests that may wait per model; beyond it, 429 at once.")
TIMEOUT_MS = flags.DEFINE_float("timeout_ms", 5000.0, "A request not started within this is answered 504 "
                                "without running.")
MAX_BODY_BYTES = flags.DEFINE_integer("max_body_bytes", 32 << 20, "Largest request body (413 beyond; a batch-8 FP32 tensor as JSON is ~24 MB).")
BODY_TIMEOUT_S = flags.DEFINE_float("body_timeout_s", 10.0, "A body that has not fully arrived by then: 408.")
MAX_PIXELS = flags.DEFINE_integer("max_pixels", preprocess.DEFAULT_MAX_PIXELS, "Largest image by its header "
                                  "(413 beyond, before decoding).")
MAX_BATCH_INPUTS = flags.DEFINE_integer("max_batch_inputs", 64, "Most items in one V2 infer request (413 beyond).")
MAX_HEADER_BYTES = flags.DEFINE_integer("max_header_bytes", 64 << 10, "Largest request line plus headers "
                                        "(414/431 beyond, then the connection is closed).")
MAX_HEADERS = flags.DEFINE_integer("max_headers", 100, "Most headers in one request (431 beyond).")
HEADER_TIMEOUT_S = flags.DEFINE_float("header_timeout_s", 10.0, "A connection whose request headers have not all "
                                      "arrived by then (also one that sends nothing): 408, closed.")
KEEPALIVE_TIMEOUT_S = flags.DEFINE_float("keepalive_timeout_s", 5.0, "An idle kept-alive connection is closed after "
                                         "this.")
MAX_CONNECTIONS = flags.DEFINE_integer("max_connections", 1000, "Open connections (and requests in progress) at "
                                       "most; beyond, requests are answered 503.")
BACKEND = flags.DEFINE_enum("backend", "lite", ["lite", "onnxruntime", "eager"],
                            "What runs the model: MegEngine Lite; onnxruntime and eager (MegEngine) rebuild the "
                            "same network from the contract's weights, for comparison (//bench:serve_load).")
API_KEY_FILE = flags.DEFINE_string("api_key_file", None, "A file of API keys, one per line: every route but "
                                   "/v2/health/* then needs 'Authorization: Bearer <key>' (401 otherwise).")
ALLOW_UNAUTHENTICATED = flags.DEFINE_bool("allow_unauthenticated", False, "Serve a --host other than loopback "
                                          "without --api_key_file (anyone who reaches the port may use it).")
TLS_CERT = flags.DEFINE_string("tls_cert", None, "Serve HTTPS with this PEM certificate (chain); needs --tls_key.")
TLS_KEY = flags.DEFINE_string("tls_key", None, "The PEM private key of --tls_cert.")
DRAIN_S = flags.DEFINE_float("drain_s", 5.0, "On SIGTERM or Ctrl-C: report not ready at once, keep serving this many "
                             "seconds (a load balancer notices), then stop accepting, answer what is held, exit 0. "
                             "A second signal stops at once.")
GRPC_PORT = flags.DEFINE_integer("grpc_port", None, "Also serve the Open Inference Protocol's gRPC service on this "
                                 "port of --host (0: any free port, printed at start-up), with the same models, "
                                 "queue, limits, keys and TLS. Default: off.")
LITE_OPTIONS = flags.DEFINE_enum("lite_options", "best", lite_options.CHOICES,
                                 "best: the settings recorded in each contract; default: Lite's own.")


def main(argv):
    if len(argv) > 1:
        raise usage.UsageError("unexpected arguments: %s (models go after --model)" % " ".join(argv[1:]))
    for name, flag in (("--threads", THREADS), ("--max_batch", MAX_BATCH), ("--max_queue", MAX_QUEUE),
                       ("--max_body_bytes", MAX_BODY_BYTES), ("--max_pixels", MAX_PIXELS),
                       ("--max_batch_inputs", MAX_BATCH_INPUTS), ("--max_header_bytes", MAX_HEADER_BYTES),
                       ("--max_headers", MAX_HEADERS), ("--max_connections", MAX_CONNECTIONS)):
        usage.positive(name, flag.value)
    if WORKERS.value is not None:
        usage.positive("--workers", WORKERS.value)
    if not 0 <= PORT.value <= 65535:
        raise usage.UsageError("--port must be 0 to 65535, got %d" % PORT.value)
    for name, flag in (("--timeout_ms", TIMEOUT_MS), ("--body_timeout_s", BODY_TIMEOUT_S),
                       ("--header_timeout_s", HEADER_TIMEOUT_S), ("--keepalive_timeout_s", KEEPALIVE_TIMEOUT_S)):
        if not flag.value > 0:
            raise usage.UsageError("%s must be positive, got %g" % (name, flag.value))
    if MAX_BATCH_DELAY_MS.value < 0:
        raise usage.UsageError("--max_batch_delay_ms must be 0 or more, got %g" % MAX_BATCH_DELAY_MS.value)
    if not 0 <= DRAIN_S.value <= 3600:
        raise usage.UsageError("--drain_s must be 0 to 3600, got %g" % DRAIN_S.value)
    if bool(TLS_CERT.value) != bool(TLS_KEY.value):
        raise usage.UsageError("--tls_cert and --tls_key go together")
    if GRPC_PORT.value is not None and not 0 <= GRPC_PORT.value <= 65535:
        raise usage.UsageError("--grpc_port must be 0 to 65535, got %d" % GRPC_PORT.value)
    repository_settings = repository_flags.settings()
    if not API_KEY_FILE.value and not ALLOW_UNAUTHENTICATED.value and not is_loopback(HOST.value):
        raise usage.UsageError("--host %s serves other machines: give --api_key_file, or say --allow_unauthenticated"
                               % HOST.value)

    import uvicorn

    from mgedeploy.weights.sources import WeightsError

    from mgedeploy.serving import app as app_lib
    from mgedeploy.serving import auth, protocol, repository

    try:
        api_keys = auth.load_keys(paths.user_path(API_KEY_FILE.value)) if API_KEY_FILE.value else ()
    except auth.KeyFileError as e:
        return program.fail(NAME, e)
    tls = {}
    if TLS_CERT.value:
        tls = {"ssl_certfile": paths.user_path(TLS_CERT.value), "ssl_keyfile": paths.user_path(TLS_KEY.value)}
        problem = tls_problem(tls["ssl_certfile"], tls["ssl_keyfile"])
        if problem:
            return program.fail(NAME, problem)

    models = {}
    default = [] if repository_settings["model_repository"] else ["efficientnet_lite0_deploy.mge"]
    for path in map(paths.user_path, MODEL.value or default):
        name = app_lib.model_name(path)
        if name in models:
            raise usage.UsageError("two models named %r (%s and %s): names come from file names"
                                   % (name, paths.shown(models[name]), paths.shown(path)))
        models[name] = path
    settings = app_lib.Settings(
        workers=WORKERS.value or len(os.sched_getaffinity(0)), threads=THREADS.value, max_batch=MAX_BATCH.value,
        max_batch_delay_ms=MAX_BATCH_DELAY_MS.value, max_queue=MAX_QUEUE.value, timeout_ms=TIMEOUT_MS.value,
        max_body_bytes=MAX_BODY_BYTES.value, body_timeout_s=BODY_TIMEOUT_S.value, max_pixels=MAX_PIXELS.value,
        max_batch_inputs=MAX_BATCH_INPUTS.value, lite_options=LITE_OPTIONS.value, backend=BACKEND.value,
        api_keys=api_keys, grpc_port=GRPC_PORT.value, grpc_host=HOST.value, grpc_tls=grpc_tls(tls),
        model_key_file=model_key_flag.key_file(), **repository_settings)
    if BACKEND.value == "eager":  # megengine's native chatter already goes through the filter
        import megengine.logger

        megengine.logger.set_log_level("ERROR")
    # The socket is ours, bound before the models load: an address in use is one line, exit 1
    # (uvicorn would print its own and exit 3, after loading every model).
    try:
        listener = listen(HOST.value, PORT.value)
    except OSError as e:
        return program.fail(NAME, "cannot listen on %s:%d: %s" % (HOST.value, PORT.value, e.strerror or e))
    if GRPC_PORT.value:  # gRPC binds its own socket at start-up: an address in use is said now, in one line
        try:
            listen(HOST.value, GRPC_PORT.value).close()
        except OSError as e:
            return program.fail(NAME, "cannot listen on %s:%d (--grpc_port): %s"
                                % (HOST.value, GRPC_PORT.value, e.strerror or e))
    try:
        app = app_lib.make_app(models, settings)
    except (classifier_lib.ContractError, classifier_lib.ModelError, WeightsError, repository.RepositoryError,
            model_encryption.KeyFileError) as e:
        return program.fail(NAME, e)

    limits = protocol.Limits(max_header_bytes=MAX_HEADER_BYTES.value, max_headers=MAX_HEADERS.value,
                             header_timeout_s=HEADER_TIMEOUT_S.value)
    config = uvicorn.Config(app, log_level="warning", access_log=False, http=protocol.limited(limits), **tls,
                            timeout_keep_alive=KEEPALIVE_TIMEOUT_S.value, limit_concurrency=MAX_CONNECTIONS.value,
                            timeout_graceful_shutdown=TIMEOUT_MS.value / 1000 + BODY_TIMEOUT_S.value)
    server = uvicorn.Server(config)

    # Say where it listens once serving starts (port 0 picked a free one).
    original_startup = server.startup
    port = listener.getsockname()[1]

    async def startup(sockets=None):
        await original_startup(sockets)
        grpc = "" if app.state.grpc_port is None else ", gRPC on %s:%d" % (HOST.value, app.state.grpc_port)
        print("Serving %s at %s://%s:%d/%s (%d workers x %d Lite threads per model; Ctrl-C to stop)"
              % (serving_names(app.state.models), "https" if tls else "http", HOST.value, port, grpc, settings.workers,
                 settings.threads), flush=True)

    server.startup = startup
    server.handle_exit = draining(server.handle_exit, app.state.ready, DRAIN_S.value)
    # uvicorn handles SIGTERM/SIGINT (stop accepting, finish the requests in flight), then re-raises
    # the signal to whatever handler was there before: make that one a no-op, so a graceful stop
    # exits 0 instead of dying of the signal.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    server.run(sockets=[listener])
    print("Stopped.", file=sys.stderr)
    return 0


def serving_names(models):
    """`a, b (versions 2, 3)`: what serves, as the start-up line says it."""
    names = {}
    for version in models.serving():
        names.setdefault(version.name, []).append(version.key)
    return ", ".join(name if keys == ["1"] else "%s (version%s %s)" % (name, "s" if len(keys) > 1 else "", ", ".join(keys))
                     for name, keys in sorted(names.items())) or "nothing yet"


def grpc_tls(tls):
    """(certificate PEM, key PEM) for the gRPC port, the files uvicorn serves HTTPS with; () without TLS."""
    if not tls:
        return ()
    with open(tls["ssl_certfile"], "rb") as cert, open(tls["ssl_keyfile"], "rb") as key:
        return cert.read(), key.read()


def tls_problem(cert, key):
    """Why the certificate and key cannot serve TLS (one line), or None: loaded here, as uvicorn
    would, so that a wrong file is our one-line error and not a traceback after the models load."""
    import ssl

    for path, what in ((cert, "--tls_cert"), (key, "--tls_key")):
        if not os.path.isfile(path):
            return "%s: %s is not a readable file" % (path, what)
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (ssl.SSLError, OSError, ValueError) as e:
        return "%s, %s: cannot serve TLS with them: %s" % (cert, key, getattr(e, "reason", None) or e)
    return None


def is_loopback(host):
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve anywhere


def draining(stop, state, drain_s):
    """uvicorn's signal handler, preceded by the drain: the first signal makes readiness false at
    once and calls `stop` (stop accepting, answer what is held) after `drain_s`; a second signal
    calls it at once."""
    import threading

    signals = []

    def handle_exit(sig, frame):
        signals.append(sig)
        if len(signals) > 1 or drain_s == 0:
            stop(sig, frame)
            return
        state["ready"] = False
        print("Draining: not ready; still serving for %g s, then stopping (signal again to stop now)" % drain_s,
              file=sys.stderr, flush=True)
        timer = threading.Timer(drain_s, stop, (sig, frame))
        timer.daemon = True
        timer.start()

    return handle_exit


def listen(host, port):
    """A listening TCP socket on host:port (IPv6 for an address with a colon)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


if __name__ == "__main__":
    program.run(main, NAME)
