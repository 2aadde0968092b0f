"""A minimal HTTP/1.1 client over asyncio streams, for the load generator only.

Why not httpx (which the tests use): the load generator shares the 2 cores with the server it
measures, and httpx spent 254 % CPU (more than both cores) offering 220 requests/s in our first
overload run, so the client, not the server, set the latencies. This one sends prebuilt request
bytes on keep-alive connections and reads only the status line, the Content-Length and the body.
"""
import asyncio


def request_bytes(method, host, port, path, body=b"", content_type="application/octet-stream"):
    """One HTTP/1.1 request, ready to send as is."""
    head = "%s %s HTTP/1.1\r\nHost: %s:%d\r\n" % (method, path, host, port)
    if content_type:
        head += "Content-Type: %s\r\n" % content_type
    head += "Content-Length: %d\r\n\r\n" % len(body)
    return head.encode() + body


class Connections:
    """Keep-alive connections to one server; a request takes an idle one or opens a new one."""

    def __init__(self, host, port, limit=1024):
        self.host, self.port = host, port
        self.idle = []
        self.open = 0
        self.limit = asyncio.Semaphore(limit)

    async def send(self, request):
        """Sends prebuilt request bytes; returns (status, body), or (0, b"") if the connection failed.
        A kept-alive connection the server closed meanwhile (its keep-alive timeout) is retried
        once on a new one, as browsers and HTTP libraries do."""
        async with self.limit:
            reused = bool(self.idle)
            status, body = await self._exchange(request, self.idle.pop() if reused else None)
            if status == 0 and reused:
                status, body = await self._exchange(request, None)
            return status, body

    async def _exchange(self, request, connection):
        if connection is not None:
            reader, writer = connection
        else:
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                return 0, b""
        try:
            writer.write(request)
            status_line = await reader.readline()
            status = int(status_line.split(b" ", 2)[1])
            length, close = 0, False
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            body = await reader.readexactly(length) if length else b""
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
            writer.close()
            return 0, b""
        if close:
            writer.close()
        else:
            self.idle.append((reader, writer))
        return status, body

    def close(self):
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()
