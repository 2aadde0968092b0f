"""API keys: `--api_key_file FILE` (one key per line) makes every route but `/v2/health/*` need
`Authorization: Bearer <key>`. Keys are compared in constant time (hmac.compare_digest, against
every key, so neither a key's length nor which key matched shows in the timing); a refusal is a
401 with no detail."""
import hmac
import os
import stat

MAX_KEY_FILE_BYTES = 64 << 10
MIN_KEY_CHARS = 16
OPEN_PREFIX = "/v2/health/"  # what load balancers and orchestrators probe without credentials


class KeyFileError(ValueError):
    """The key file cannot be used; the message names it (one line)."""


def load_keys(path):
    """The keys in `path`: one per line; blank lines and `#` comments skipped. Refuses what cannot
    be a key file before reading it (not a regular file, over 64 KiB), an empty one, and keys
    shorter than 16 characters (guessable)."""
    try:
        info = os.stat(path)
    except OSError as e:
        raise KeyFileError("%s: cannot read the API key file: %s" % (path, e.strerror or e)) from None
    if not stat.S_ISREG(info.st_mode):
        raise KeyFileError("%s: the API key file is not a regular file" % path)
    if info.st_size > MAX_KEY_FILE_BYTES:
        raise KeyFileError("%s: the API key file is too big (%d bytes; the limit is %d)"
                           % (path, info.st_size, MAX_KEY_FILE_BYTES))
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise KeyFileError("%s: cannot read the API key file: %s" % (path, getattr(e, "strerror", None) or e)) from None
    keys = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    if not keys:
        raise KeyFileError("%s: the API key file holds no key" % path)
    short = [i + 1 for i, key in enumerate(keys) if len(key) < MIN_KEY_CHARS]
    if short:
        raise KeyFileError("%s: key %d is shorter than %d characters" % (path, short[0], MIN_KEY_CHARS))
    return tuple(key.encode() for key in keys)


def authorized(headers, keys):
    """True when the ASGI `headers` carry `Authorization: Bearer <one of keys>`."""
    value = next((v for k, v in headers if k == b"authorization"), b"")
    scheme, _, token = value.partition(b" ")
    token = token.strip()
    matched = False
    for key in keys:  # every key, no early exit
        matched |= hmac.compare_digest(token, key)
    return matched and scheme.lower() == b"bearer"


class RequireApiKey:
    """ASGI middleware: a request without a valid key gets 401 before anything reads its body."""

    def __init__(self, app, keys):
        self.app = app
        self.keys = keys

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and not scope["path"].startswith(OPEN_PREFIX) and \
                not authorized(scope["headers"], self.keys):
            body = b'{"error": "unauthorized"}'
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body)),
                                    (b"www-authenticate", b"Bearer")]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
