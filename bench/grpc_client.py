"""The load generator's gRPC client: prebuilt ModelInferRequest bytes sent on one HTTP/2 channel
(gRPC multiplexes the calls), answers read only for their status. The same `send(request) ->
(status, body)` as http_client.Connections, with each gRPC code as the HTTP status the server maps
it from (grpc_service.py), so one summary counts both protocols."""
import struct

import grpc

from mgedeploy.serving import grpc_predict_v2_pb2 as pb

METHOD = "/inference.GRPCInferenceService/ModelInfer"
HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


def infer_request_bytes(model, image):
    """ModelInfer with the image file as the BYTES input "image" (raw contents, as tritonclient sends)."""
    request = pb.ModelInferRequest(
        model_name=model, inputs=[pb.ModelInferRequest.InferInputTensor(name="image", datatype="BYTES", shape=[1])],
        raw_input_contents=[struct.pack("<I", len(image)) + image])
    return request.SerializeToString()


class Channel:
    def __init__(self, host, port, timeout_s=60):
        self.channel = grpc.aio.insecure_channel("%s:%d" % (host, port))
        self.call = self.channel.unary_unary(METHOD)  # no (de)serializers: bytes in, bytes out
        self.timeout_s = timeout_s

    async def send(self, request):
        try:
            return 200, await self.call(request, timeout=self.timeout_s)
        except grpc.aio.AioRpcError as e:
            return HTTP_STATUS.get(e.code(), 0), b""

    async def close(self):
        await self.channel.close()
