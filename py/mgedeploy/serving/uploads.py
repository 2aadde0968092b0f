"""Request bodies and images, refused early: what a server must never read or decode in full.

Every refusal is an HttpError (4xx with a one-line reason) raised before the body is read past its
limit, and before an image is decoded: the pixel count comes from the header (image_size.py).
"""
import asyncio

from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect

from mgedeploy import preprocess
from mgedeploy.image_size import image_size


class HttpError(Exception):
    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


class ClientGone(Exception):
    """The client disconnected before its request was read: there is no one to answer."""


async def read_body(request, max_bytes, timeout_s):
    """The whole body, or 413 as soon as it is known to exceed max_bytes (Content-Length first,
    then while streaming), or 408 if it has not all arrived within timeout_s (a slow upload)."""
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise HttpError(400, "bad Content-Length header: %r" % length)
        if int(length) > max_bytes:
            raise HttpError(413, "the body is %s bytes; the limit is %d (--max_body_bytes)" % (length, max_bytes))

    async def receive():
        chunks, total = [], 0
        async for chunk in request.stream():
            total += len(chunk)
            if total > max_bytes:
                raise HttpError(413, "the body is over the limit of %d bytes (--max_body_bytes)" % max_bytes)
            chunks.append(chunk)
        return b"".join(chunks)

    try:
        return await asyncio.wait_for(receive(), timeout_s)
    except asyncio.TimeoutError:
        raise HttpError(408, "the body did not arrive within %g s" % timeout_s) from None
    except ClientDisconnect:
        raise ClientGone("the client disconnected before its body arrived") from None


async def image_from_body(request, body):
    """The image in a request: the raw body, or the multipart form field `image`."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return body

    async def once():
        yield body

    try:
        form = await MultiPartParser(Headers(raw=request.headers.raw), once(), max_files=1, max_fields=8).parse()
    except MultiPartException as e:
        raise HttpError(400, "bad multipart form: %s" % e) from None
    upload = form.get("image")
    if not isinstance(upload, UploadFile):
        raise HttpError(400, "the multipart form has no file field named 'image'")
    data = await upload.read()
    await form.close()
    return data


def image_format(data):
    """JPEG, PNG, BMP or WebP (what both the header reader and OpenCV handle), else None."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:2] == b"BM":
        return "BMP"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return None


def check_image(data, max_pixels, spec, what="the body"):
    """Refuses what cannot be a sane image, before any decoding: empty (400), not a JPEG, PNG, BMP
    or WebP (415), outside the processing budget by its header (413: preprocess.size_problem, the
    rule every program applies), a JPEG with no end marker after its last scan (400: libjpeg would
    fill the missing part grey and classify that). Its cost grows with the body: run it off the
    event loop."""
    if not data:
        raise HttpError(400, "%s is empty: send an image" % what)
    kind = image_format(data)
    if kind is None:
        raise HttpError(415, "%s is not a JPEG, PNG, BMP or WebP image" % what)
    size = image_size(data)
    if size is None:
        raise HttpError(400, "%s: damaged %s header" % (what, kind))
    problem = preprocess.size_problem(size[0], size[1], spec["resize_short"], max_pixels)
    if problem is not None:
        raise HttpError(400 if size[0] < 1 or size[1] < 1 else 413, "%s: %s" % (what, problem))
    if kind == "JPEG" and data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda"):
        raise HttpError(400, "%s: truncated JPEG (no end marker after its last scan)" % what)
    return data
