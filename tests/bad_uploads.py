"""The bad-upload corpus: requests a server must answer with a 4xx at once, without harm. One list
for the app test (serving/app_test.py) and the load benchmark (//bench:serve_load --bad_uploads).
(A slow upload needs a real socket held open: programs/serve_test.py sends one.)"""
import base64
import collections
import json
import os

Upload = collections.namedtuple("Upload", "what method path content_type body status words")

HUNDRED_MB = 100 << 20


def corpus(model, testdata):
    """The corpus for the model named `model` (its V2 FP32 input "data", [n, 3, 224, 224]);
    `testdata` is the repository's testdata folder."""
    url = "/v2/models/%s" % model
    bad = os.path.join(testdata, "bad")

    def read(*parts):
        with open(os.path.join(*parts), "rb") as f:
            return f.read()

    def post(what, path, body, status, words, content_type="application/octet-stream"):
        return Upload(what, "POST", path, content_type, body, status, words)

    def infer(what, payload, status, words):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return post(what, url + "/infer", body, status, words, "application/json")

    tensor = {"name": "data", "datatype": "FP32", "shape": [1, 3, 224, 224], "data": [0.0] * (3 * 224 * 224)}
    image = {"name": "image", "datatype": "BYTES", "shape": [1]}
    cat = read(testdata, "cat.jpg")
    form = (b'--B\r\nContent-Disposition: form-data; name="photo"; filename="a.jpg"\r\n'
            b'Content-Type: image/jpeg\r\n\r\nx\r\n--B--\r\n')
    return [
        post("empty body", url + "/classify", b"", 400, "empty"),
        post("truncated JPEG", url + "/classify", read(bad, "truncated.jpg"), 400, "truncated"),
        post("truncated PNG", url + "/classify", read(bad, "truncated.png"), 400, "not an image"),
        post("text", url + "/classify", read(bad, "notes.txt"), 415, "not a JPEG"),
        post("HTML page", url + "/classify", read(bad, "page.html"), 415, "not a JPEG"),
        post("GIF", url + "/classify", read(testdata, "images", "small.gif"), 415, "not a JPEG"),
        post("100 MB body", url + "/classify", b"\0" * HUNDRED_MB, 413, "limit"),
        post("decompression bomb", url + "/classify", read(bad, "bomb30000.png"), 413, "30000x30000"),
        post("multipart without 'image'", url + "/classify", form, 400, "image", "multipart/form-data; boundary=B"),
        post("topk 0", url + "/classify?topk=0", cat, 400, "topk"),
        post("topk not a number", url + "/classify?topk=abc", cat, 400, "topk"),
        post("unknown model", "/v2/models/nope/classify", cat, 404, "unknown model"),
        Upload("unknown version", "GET", url + "/versions/7", "", b"", 404, "version"),
        infer("body not JSON", b"{inputs: [", 400, "not JSON"),
        infer("JSON not an object", [1, 2], 400, "JSON object"),
        infer("no inputs", {"inputs": []}, 400, "list of one input"),
        infer("wrong shape", {"inputs": [dict(tensor, shape=[1, 3, 100, 100])]}, 400, "shape must be [n, 3, 224, 224]"),
        infer("wrong datatype", {"inputs": [dict(tensor, datatype="INT8")]}, 400, "datatype must be FP32"),
        infer("too few values", {"inputs": [dict(tensor, data=[0.0] * 10)]}, 400, "values for shape"),
        infer("not numbers", {"inputs": [dict(tensor, data=[{"a": 1}] * 3)]}, 400, "numbers"),
        infer("NaN", b'{"inputs": [{"name": "data", "datatype": "FP32", "shape": [1, 3, 224, 224], "data": [NaN]}]}',
              400, ""),
        infer("unknown input", {"inputs": [dict(tensor, name="pixels")]}, 400, "unknown input"),
        infer("unknown output", {"inputs": [tensor], "outputs": [{"name": "x"}]}, 400, "unknown output"),
        infer("bad base64", {"inputs": [dict(image, data=["%%%"])]}, 400, "base64"),
        infer("too many items", {"inputs": [dict(image, shape=[65], data=[])]}, 413, "limit"),
        infer("text as a BYTES image", {"inputs": [dict(image, data=[base64.b64encode(b"hello").decode()])]}, 415,
              "not a JPEG"),
    ]
