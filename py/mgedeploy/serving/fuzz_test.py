"""Property-based fuzzing of the server's request grammar, in-process (httpx over ASGI): the V2
infer JSON (structures near the real one and arbitrary JSON), /classify's raw and multipart bodies
and its query. Whatever is generated, the answer is never a 5xx, and every error is one line of
JSON. Derandomized with no example database: the same few thousand requests on every run, and
nothing written outside the test's temp dir. No subnormal floats: importing megengine turns on
flush-to-zero for the process, and hypothesis refuses to generate them then.
"""
import asyncio
import json

import httpx
from hypothesis import HealthCheck, given, settings, strategies as st

from mgedeploy.serving import app as app_lib
from tests import testing

MODEL = "efficientnet_lite0"
APP = app_lib.make_app({MODEL: testing.LITE0}, app_lib.Settings(workers=1, max_queue=8))
URL = "/v2/models/%s" % MODEL
FUZZ = settings(max_examples=1000, derandomize=True, database=None, deadline=None,
                suppress_health_check=list(HealthCheck))
LOOP = asyncio.new_event_loop()
CLIENT = httpx.AsyncClient(transport=httpx.ASGITransport(app=APP), base_url="http://fuzz")


def send(method, path, **kwargs):
    answer = LOOP.run_until_complete(CLIENT.request(method, path, **kwargs))
    assert answer.status_code < 500, (path, kwargs.get("content", b"")[:200], answer.status_code, answer.text[:300])
    if answer.status_code >= 400:
        error = answer.json()["error"]
        assert isinstance(error, str) and "\n" not in error and "Traceback" not in error, error
    return answer


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False, allow_subnormal=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30)
shapes = st.one_of(st.lists(st.one_of(st.integers(-3, 300), st.booleans(), st.floats(0, 5, allow_subnormal=False), st.text(max_size=2)),
                            max_size=5),
                   st.just([1, 3, 224, 224]), st.just([1]), st.just([2]), json_values)
inputs = st.fixed_dictionaries(
    {},
    optional={"name": st.sampled_from(["data", "image", "x", ""]) | json_values,
              "datatype": st.sampled_from(["FP32", "BYTES", "INT8", "fp32"]) | json_values,
              "shape": shapes,
              "data": st.one_of(st.lists(st.floats(allow_nan=False, allow_subnormal=False, width=32), max_size=30),
                                st.lists(st.text(alphabet="AZaz09+/=", max_size=40), max_size=4),
                                json_values),
              "parameters": json_values})
requests = st.one_of(
    st.fixed_dictionaries({"inputs": st.lists(inputs, max_size=3)},
                          optional={"outputs": st.lists(st.fixed_dictionaries({"name": json_values}), max_size=2)
                                    | json_values, "id": json_values}),
    json_values)


@FUZZ
@given(requests)
def test_v2_infer_json_is_never_a_5xx(request):
    send("POST", URL + "/infer", content=json.dumps(request).encode(), headers={"content-type": "application/json"})


@FUZZ
@given(st.binary(max_size=300))
def test_v2_infer_bytes_are_never_a_5xx(body):
    send("POST", URL + "/infer", content=body, headers={"content-type": "application/json"})


MAGIC = [b"", b"\xff\xd8\xff", b"\xff\xd8", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", b"BM", b"RIFF\0\0\0\0WEBPVP8 "]


@FUZZ
@given(st.sampled_from(MAGIC), st.binary(max_size=200), st.sampled_from(["", "?topk=3", "?topk=-1", "?topk=x"]))
def test_classify_raw_bodies_are_never_a_5xx(magic, rest, query):
    send("POST", URL + "/classify" + query, content=magic + rest)


@FUZZ
@given(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12).map(str.encode),
       st.lists(st.tuples(st.sampled_from(["image", "photo", ""]), st.sampled_from(MAGIC), st.binary(max_size=60)),
                max_size=3),
       st.booleans())
def test_classify_multipart_bodies_are_never_a_5xx(boundary, parts, closed):
    body = b""
    for name, magic, data in parts:
        body += (b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"" + name.encode()
                 + b"\"; filename=\"a\"\r\nContent-Type: application/octet-stream\r\n\r\n" + magic + data + b"\r\n")
    body += b"--" + boundary + b"--\r\n" if closed else b""
    send("POST", URL + "/classify", content=body,
         headers={"content-type": "multipart/form-data; boundary=" + boundary.decode("latin-1")})


if __name__ == "__main__":
    testing.main(__file__)
