"""The Open Inference Protocol over gRPC (grpc_predict_v2.proto) on `--grpc_port`, served from the
HTTP app's own event loop: the same models, queues, workers and limits (app.py's Dispatch), the
same error messages, with each HTTP status as its gRPC code (STATUS_CODES).

ModelInfer takes one input, as /infer does: the graph's FP32 [n, C, H, W] or "image" BYTES [n]
(encoded files), from raw_input_contents (what tritonclient sends) or the typed contents; the
output comes back in raw_output_contents (little-endian float32). API keys, when the app has them,
are the `authorization: Bearer <key>` metadata on every method but ServerLive and ServerReady.
"""
import asyncio
import logging
import struct
import time

import grpc
import numpy as np
from google.protobuf.message import DecodeError

import mgedeploy
from mgedeploy.serving import auth, v2, workers as workers_lib
from mgedeploy.serving import grpc_predict_v2_pb2 as pb
from mgedeploy.serving.uploads import HttpError

LOG = logging.getLogger("megdeploy.serve")
STATUS_CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    404: grpc.StatusCode.NOT_FOUND,
    413: grpc.StatusCode.INVALID_ARGUMENT,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    500: grpc.StatusCode.INTERNAL,
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.DEADLINE_EXCEEDED,
}
OPEN_METHODS = ("/inference.GRPCInferenceService/ServerLive", "/inference.GRPCInferenceService/ServerReady")
SERVICE = "inference.GRPCInferenceService"


class RequireApiKey(grpc.aio.ServerInterceptor):
    """UNAUTHENTICATED, with no detail, for a call without a valid key (auth.py's comparison)."""

    def __init__(self, keys):
        self.keys = keys

        async def refuse(request, context):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "unauthorized")

        self.refusal = grpc.unary_unary_rpc_method_handler(refuse)

    async def intercept_service(self, continuation, details):
        headers = [(k.encode(), v.encode() if isinstance(v, str) else v) for k, v in details.invocation_metadata or ()]
        if details.method in OPEN_METHODS or auth.authorized(headers, self.keys):
            return await continuation(details)
        return self.refusal


def raw_bytes_contents(elements):
    """BYTES elements -> the raw form (each a 4-byte little-endian length, then the bytes)."""
    return b"".join(struct.pack("<I", len(e)) + e for e in elements)


def input_bytes(request, tensor):
    """The one input's raw bytes, from raw_input_contents or its typed contents."""
    if request.raw_input_contents:
        if len(request.raw_input_contents) != len(request.inputs):
            raise HttpError(400, "raw_input_contents has %d entries for %d inputs"
                            % (len(request.raw_input_contents), len(request.inputs)))
        return request.raw_input_contents[0]
    contents = tensor.contents
    if tensor.datatype == "BYTES":
        return raw_bytes_contents(contents.bytes_contents)
    return np.asarray(contents.fp32_contents, "<f4").tobytes()


class InferenceService:
    """The service's methods, each (request message, context) -> response message."""

    def __init__(self, app):
        self.dispatch = app.state.dispatch
        self.models = app.state.models
        self.metrics = app.state.metrics
        self.settings = app.state.settings

    async def _answer(self, context, name, version, work):
        """Runs `work(model version)` on a lease of it, counting the outcome as the HTTP routes do;
        an HttpError -> its code with the same one-line message; anything else -> INTERNAL, one line."""
        started = time.monotonic()
        labels = ("", "")
        status = 200
        try:
            with self.dispatch.lease(name, version) as chosen:
                labels = (name, chosen.key)
                return await work(chosen)
        except HttpError as e:
            status = e.status
            await context.abort(STATUS_CODES.get(e.status, grpc.StatusCode.UNKNOWN), str(e))
        except asyncio.CancelledError:
            status = 499
            raise
        except grpc.aio.AbortError:
            raise
        except Exception as e:  # a bug of ours: this call fails, the server goes on
            status = 500
            reason = workers_lib.one_line(e)
            LOG.error("gRPC ModelInfer: internal error: %s", reason)
            await context.abort(grpc.StatusCode.INTERNAL, "internal error: %s" % reason)
        finally:
            self.metrics.requests.labels(*labels, "grpc_infer", str(status)).inc()
            self.metrics.latency.labels(*labels, "grpc_infer").observe(time.monotonic() - started)

    async def _checked(self, context, call):
        try:
            return call()
        except HttpError as e:
            await context.abort(STATUS_CODES.get(e.status, grpc.StatusCode.UNKNOWN), str(e))

    def _metadata(self, name, version):
        with self.dispatch.lease(name, version) as chosen:  # empty version: the server's choice
            return v2.metadata(name, chosen.pool.contract, [v.key for v in self.models.serving(name)])

    async def ServerLive(self, request, context):
        return pb.ServerLiveResponse(live=True)

    async def ServerReady(self, request, context):
        return pb.ServerReadyResponse(ready=self.dispatch.is_ready())

    async def ModelReady(self, request, context):
        ready = await self._checked(context, lambda: self.dispatch.model_is_ready(request.name, request.version))
        return pb.ModelReadyResponse(ready=ready)

    async def ServerMetadata(self, request, context):
        return pb.ServerMetadataResponse(name="megdeploy", version=mgedeploy.__version__, extensions=v2.EXTENSIONS)

    async def ModelMetadata(self, request, context):
        meta = await self._checked(context, lambda: self._metadata(request.name, request.version))
        tensors = lambda items: [pb.ModelMetadataResponse.TensorMetadata(  # noqa: E731
            name=t["name"], datatype=t["datatype"], shape=t["shape"]) for t in items]
        return pb.ModelMetadataResponse(name=meta["name"], versions=meta["versions"], platform=meta["platform"],
                                        inputs=tensors(meta["inputs"]), outputs=tensors(meta["outputs"]))

    async def ModelInfer(self, request, context):
        name = request.model_name

        async def work(version):
            pool = version.pool
            self.dispatch.refuse_if_full(version)
            if len(request.inputs) != 1:
                raise v2.one_input_problem(pool.contract)
            v2.check_outputs([{"name": output.name} for output in request.outputs], pool.contract)
            tensor = request.inputs[0]
            budget = self.settings.timeout_ms / 1000
            remaining = context.time_remaining()
            deadline = time.monotonic() + (min(budget, remaining) if remaining is not None else budget)
            # Off the event loop, as /infer: checking 150k numbers or decoding image headers.
            kind, value = await asyncio.get_running_loop().run_in_executor(
                None, v2.parse_input_bytes, tensor.name, list(tensor.shape), tensor.datatype,
                input_bytes(request, tensor), pool.contract, self.settings.max_batch_inputs, self.settings.max_pixels)
            outputs = await self.dispatch.run_input(version, deadline, kind, value)
            probabilities = np.ascontiguousarray(np.stack(outputs), "<f4")
            output = pb.ModelInferResponse.InferOutputTensor(
                name=pool.contract["output"]["name"], datatype="FP32", shape=list(probabilities.shape))
            return pb.ModelInferResponse(model_name=name, model_version=version.key, id=request.id,
                                         outputs=[output], raw_output_contents=[probabilities.tobytes()])
        return await self._answer(context, name, request.model_version, work)


def handlers(service):
    """The service's method handlers. Requests arrive as bytes and are parsed here, not by gRPC: a
    malformed protobuf is then INVALID_ARGUMENT naming the message, not gRPC's INTERNAL."""
    def method(name):
        request_type = getattr(pb, name + "Request")
        implementation = getattr(service, name)

        async def parse_then_run(raw, context):
            try:
                request = request_type.FromString(raw)
            except DecodeError:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "malformed %s protobuf (%d bytes)"
                                    % (request_type.__name__, len(raw)))
            return await implementation(request, context)

        return grpc.unary_unary_rpc_method_handler(
            parse_then_run, response_serializer=getattr(pb, name + "Response").SerializeToString)

    names = [m.name for m in pb.DESCRIPTOR.services_by_name["GRPCInferenceService"].methods]
    return grpc.method_handlers_generic_handler(SERVICE, {name: method(name) for name in names})


async def start(app, host, port, max_message_bytes, tls=None):
    """Starts the gRPC server on host:port (0: any free port) in the running loop; returns (server,
    port). tls: (certificate PEM bytes, key PEM bytes) or None."""
    interceptors = [RequireApiKey(app.state.settings.api_keys)] if app.state.settings.api_keys else []
    server = grpc.aio.server(interceptors=interceptors, options=[
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.so_reuseport", 0),  # a second server on the same port is an error, not a silent share
    ])
    server.add_generic_rpc_handlers([handlers(InferenceService(app))])
    address = ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)
    if tls:
        bound = server.add_secure_port(address, grpc.ssl_server_credentials([(tls[1], tls[0])]))
    else:
        bound = server.add_insecure_port(address)
    await server.start()
    return server, bound
