"""The gRPC service (`//py:serve --grpc_port`), through real clients nobody here wrote
(tritonclient.grpc, and tritonclient.http with its default binary tensors), against the real
program on loopback:
- FP32 tensors and BYTES images give the JSON /infer route's float32 outputs bit for bit;
- health and metadata; errors carry the HTTP route's message with its gRPC code (unknown model
  NOT_FOUND, a wrong raw size and too many items INVALID_ARGUMENT, a malformed protobuf
  INVALID_ARGUMENT, not gRPC's INTERNAL);
- with --api_key_file, every method but ServerLive/ServerReady is UNAUTHENTICATED without the key;
- with --tls_cert, the gRPC port is TLS: a client trusting the certificate classifies, a plaintext
  client gets no answer.
"""
import base64
import concurrent.futures
import os
import sys

import grpc
import httpx
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from mgedeploy import contract, preprocess
from tests import servers, testing, tls

SERVE = os.path.join(testing.ROOT, "py", "serve")
MODEL = testing.LITE0
NAME = "efficientnet_lite0"
INFO = contract.read(MODEL)
INPUT, OUTPUT = INFO["input"]["name"], INFO["output"]["name"]
KEY = "k" * 32


class GrpcServer(servers.Server):
    def __init__(self, *flags):
        super().__init__(SERVE, "--model", MODEL, "--workers", "1", "--grpc_port", "0", *flags)
        self.grpc_address = "127.0.0.1:%d" % self.grpc_port


@pytest.fixture(scope="module")
def server():
    s = GrpcServer()
    yield s
    assert s.stop() == 0, s.stderr


def photos():
    tensor = np.concatenate([preprocess.load(p, INFO["preprocess"]) for p in (testing.CAT, testing.COFFEE)])
    files = [open(p, "rb").read() for p in (testing.CAT, testing.COFFEE)]
    return tensor, files


def json_route(server, body):
    answer = httpx.post("%s/v2/models/%s/infer" % (server.url, NAME), json=body, timeout=60)
    assert answer.status_code == 200, answer.text
    output = answer.json()["outputs"][0]
    return np.asarray(output["data"], np.float32).reshape(output["shape"])


def same_bits(a, b):
    return a.dtype == b.dtype == np.float32 and a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


def test_both_clients_get_the_json_routes_bits(server):
    tensor, files = photos()
    expected_tensor = json_route(server, {"inputs": [{"name": INPUT, "datatype": "FP32", "shape": list(tensor.shape),
                                                      "data": tensor.ravel().tolist()}]})
    expected_images = json_route(server, {"inputs": [{"name": "image", "datatype": "BYTES", "shape": [2],
                                                      "data": [base64.b64encode(f).decode() for f in files]}]})
    for module, address in ((grpcclient, server.grpc_address), (httpclient, "127.0.0.1:%d" % server.port)):
        client = module.InferenceServerClient(address)
        as_tensor = module.InferInput(INPUT, list(tensor.shape), "FP32")
        as_tensor.set_data_from_numpy(tensor)
        as_images = module.InferInput("image", [2], "BYTES")
        as_images.set_data_from_numpy(np.array(files, dtype=np.object_))
        for given, expected in ((as_tensor, expected_tensor), (as_images, expected_images)):
            result = client.infer(NAME, [given], outputs=[module.InferRequestedOutput(OUTPUT)])
            assert same_bits(result.as_numpy(OUTPUT), expected), module.__name__


def test_health_and_metadata(server):
    client = grpcclient.InferenceServerClient(server.grpc_address)
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready(NAME)
    meta = client.get_model_metadata(NAME, as_json=True)
    assert [i["name"] for i in meta["inputs"]] == [INPUT, "image"] and meta["outputs"][0]["name"] == OUTPUT
    assert meta["inputs"][0]["shape"] == ["-1"] + [str(d) for d in INFO["input"]["shape"][1:]]
    assert client.get_server_metadata(as_json=True)["name"] == "megdeploy"


def grpc_error(call):
    with pytest.raises(InferenceServerException) as caught:
        call()
    return caught.value.status(), caught.value.message()


def test_errors_keep_the_http_message_with_their_code(server):
    client = grpcclient.InferenceServerClient(server.grpc_address)
    tensor, _ = photos()
    given = grpcclient.InferInput(INPUT, list(tensor.shape), "FP32")
    given.set_data_from_numpy(tensor)
    status, message = grpc_error(lambda: client.infer("nope", [given]))
    assert status == "StatusCode.NOT_FOUND" and message.startswith("unknown model 'nope'"), message
    status, message = grpc_error(lambda: client.is_model_ready(NAME, model_version="7") or client.infer(
        NAME, [given], model_version="7"))
    assert status == "StatusCode.NOT_FOUND" and "has no version 7 ready (ready: 1)" in message
    short = grpcclient.InferInput(INPUT, [1, 3, 224, 224], "FP32")
    short.set_data_from_numpy(tensor[:1])
    short._raw_content = short._raw_content[:-4]  # one value short on the wire
    status, message = grpc_error(lambda: client.infer(NAME, [short]))
    assert status == "StatusCode.INVALID_ARGUMENT" and message == \
        "input %r: 602108 bytes of binary data for FP32 shape [1, 3, 224, 224] (602112 expected)" % INPUT
    many = grpcclient.InferInput("image", [65], "BYTES")
    many.set_data_from_numpy(np.array([b"x"] * 65, dtype=np.object_))
    status, message = grpc_error(lambda: client.infer(NAME, [many]))
    assert status == "StatusCode.INVALID_ARGUMENT" and "65 items in one request; the limit is 64" in message
    with grpc.insecure_channel(server.grpc_address) as channel:
        infer = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer")
        with pytest.raises(grpc.RpcError) as caught:
            infer(b"\xff\xff\xff\xff not a protobuf", timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details().startswith("malformed ModelInferRequest protobuf")
    # The server is still serving.
    assert client.is_model_ready(NAME)


def test_api_keys_guard_every_method_but_health(tmp_path):
    keys = tmp_path / "keys.txt"
    keys.write_text(KEY + "\n")
    s = GrpcServer("--api_key_file", str(keys))
    try:
        client = grpcclient.InferenceServerClient(s.grpc_address)
        assert client.is_server_live() and client.is_server_ready()
        guarded = [lambda h: client.is_model_ready(NAME, headers=h), lambda h: client.get_model_metadata(NAME, headers=h),
                   lambda h: client.get_server_metadata(headers=h)]
        for call in guarded:
            for headers in (None, {"authorization": "Bearer " + "x" * 32}, {"authorization": KEY}):
                assert grpc_error(lambda: call(headers)) == ("StatusCode.UNAUTHENTICATED", "unauthorized")
            call({"authorization": "Bearer " + KEY})
    finally:
        assert s.stop() == 0, s.stderr


def test_a_full_queue_and_a_passed_deadline_keep_their_codes():
    """One worker, a queue of 9 items, 40 ms to start: an 8-image request fills the queue and its
    later images wait past the deadline (DEADLINE_EXCEEDED, as HTTP's 504), and another 8 sent
    at once find it full (RESOURCE_EXHAUSTED, as 429) -- the HTTP route's limits, over gRPC."""
    s = GrpcServer("--max_queue", "9", "--timeout_ms", "40")
    try:
        client = grpcclient.InferenceServerClient(s.grpc_address)
        eight = grpcclient.InferInput("image", [8], "BYTES")
        eight.set_data_from_numpy(np.array([open(testing.CAT, "rb").read()] * 8, dtype=np.object_))
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            calls = [pool.submit(grpc_error, lambda: client.infer(NAME, [eight])) for _ in range(2)]
            outcomes = sorted(call.result() for call in calls)
        codes = [code for code, _ in outcomes]
        assert codes == ["StatusCode.DEADLINE_EXCEEDED", "StatusCode.RESOURCE_EXHAUSTED"], outcomes
        assert "--timeout_ms" in outcomes[0][1] and "the server is busy" in outcomes[1][1], outcomes
        image = grpcclient.InferInput("image", [1], "BYTES")
        image.set_data_from_numpy(np.array([open(testing.CAT, "rb").read()], dtype=np.object_))
        assert int(client.infer(NAME, [image]).as_numpy(OUTPUT).argmax()) == 282  # and it serves on
    finally:
        assert s.stop() == 0, s.stderr


def test_tls_on_the_grpc_port(tmp_path):
    cert, key = tls.self_signed(str(tmp_path))
    s = GrpcServer("--tls_cert", cert, "--tls_key", key)
    try:
        client = grpcclient.InferenceServerClient(s.grpc_address, ssl=True, root_certificates=cert)
        image = grpcclient.InferInput("image", [1], "BYTES")
        image.set_data_from_numpy(np.array([open(testing.CAT, "rb").read()], dtype=np.object_))
        assert int(client.infer(NAME, [image]).as_numpy(OUTPUT).argmax()) == 282  # tiger_cat
        with grpc.insecure_channel(s.grpc_address) as channel:
            with pytest.raises(grpc.RpcError) as caught:
                channel.unary_unary("/inference.GRPCInferenceService/ServerLive")(b"", timeout=10)
        assert caught.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    finally:
        assert s.stop() == 0, s.stderr


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
