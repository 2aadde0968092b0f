"""HTTP/1.1 limits below the app, where the request line and headers are parsed: uvicorn's httptools
protocol with a cap on header bytes and count, a deadline for the headers, and answers for clients
that half-close.

Why a subclass: uvicorn limits neither the size nor the number of headers with httptools (a 1 MB
header line and 10,000 headers were accepted; one connection streaming 200 MB of headers cost
+226 MB) and starts no timer until a first response (a connection that sends nothing, or a header
a byte at a time, was held for as long as the client liked). h11 has a header-size limit but is
the slower parser, and neither has the rest. Everything here is a hook httptools already calls.

    config = uvicorn.Config(app, http=protocol.limited(Limits(...)))
"""
import dataclasses

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


@dataclasses.dataclass(frozen=True)
class Limits:
    max_header_bytes: int = 64 << 10  # the request line and every header, together
    max_headers: int = 100  # Python's http.client refuses more than 100 as well
    header_timeout_s: float = 10.0  # from the connection (or the request's first byte) to the end of its headers


def _response(status, reason, message):
    body = message.encode()
    return (b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (status, reason, len(body), body))


def limited(limits):
    """uvicorn's httptools protocol class with `limits` applied (pass it as Config(http=...))."""

    class LimitedHttpToolsProtocol(HttpToolsProtocol):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._header_bytes = 0
            self._header_count = 0
            self._header_timer = None
            self._refused = False

        # -- the deadline for a request's headers ---------------------------------------------
        def connection_made(self, transport):
            super().connection_made(transport)
            self._arm_header_timer()  # a connection that never sends a byte is closed too

        def _arm_header_timer(self):
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(limits.header_timeout_s, self._headers_too_slow)

        def _disarm_header_timer(self):
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self):
            self._header_timer = None
            self._refuse(408, b"Request Timeout", "the request headers did not arrive within %g s (--header_timeout_s)"
                         % limits.header_timeout_s)

        def connection_lost(self, exc):
            self._disarm_header_timer()
            super().connection_lost(exc)

        # -- header size and count ------------------------------------------------------------
        def _refuse(self, status, reason, message):
            if self._refused or self.transport.is_closing():
                return
            self._refused = True
            self.logger.warning("refused a request from %s: %s", "%s:%d" % self.client if self.client else "?",
                                message)
            self.transport.write(_response(status, reason, message))
            self.transport.close()

        def data_received(self, data):
            if not self._refused:
                super().data_received(data)

        def on_message_begin(self):
            super().on_message_begin()
            self._header_bytes = self._header_count = 0
            self._arm_header_timer()  # the next request on a kept-alive connection

        def on_url(self, url):
            if self._refused:
                return
            self._header_bytes += len(url)
            if self._header_bytes > limits.max_header_bytes:
                self._refuse(414, b"URI Too Long", "the request line is over %d bytes (--max_header_bytes)"
                             % limits.max_header_bytes)
                return
            super().on_url(url)

        def on_header(self, name, value):
            if self._refused:
                return
            self._header_bytes += len(name) + len(value) + 4
            self._header_count += 1
            if self._header_bytes > limits.max_header_bytes:
                self._refuse(431, b"Request Header Fields Too Large",
                             "the request headers are over %d bytes (--max_header_bytes)" % limits.max_header_bytes)
            elif self._header_count > limits.max_headers:
                self._refuse(431, b"Request Header Fields Too Large",
                             "the request has more than %d headers (--max_headers)" % limits.max_headers)
            else:
                super().on_header(name, value)

        def on_headers_complete(self):
            self._disarm_header_timer()
            if not self._refused:
                super().on_headers_complete()

        def on_body(self, body):
            if not self._refused:
                super().on_body(body)

        def on_message_complete(self):
            if not self._refused:
                super().on_message_complete()

        # -- a client that half-closes after its request --------------------------------------
        def eof_received(self):
            """Keep the write side open while a fully received request is being answered (asyncio
            would close the transport, and the answer with it); close after that answer."""
            cycle = self.cycle
            if cycle is not None and not cycle.response_complete and not cycle.more_body:
                cycle.keep_alive = False
                return True
            return None

    return LimitedHttpToolsProtocol
