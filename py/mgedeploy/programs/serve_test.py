"""//py:serve as a user runs it: a real socket on loopback, usage errors, a slow upload, and
SIGTERM with requests in flight (all answered, exit 0); the protocol limits (header size and count,
slow headers, idle connections), a half-closed client answered, a client that leaves mid-body
logged in one line, and /v2/health/live answered while pathological bodies are refused."""
import base64
import collections
import concurrent.futures
import json
import os
import socket
import ssl
import threading
import time

import httpx

from mgedeploy import contract
from mgedeploy.lite import options as lite_options
from tests import bad_uploads, servers, testing, tls

SERVE = servers.SERVE
URL = "/v2/models/efficientnet_lite0/classify"


def Server(*flags, model=testing.LITE0):
    """//py:serve on a free loopback port with the test export of Lite0 (tests/servers.py); no drain
    on SIGTERM unless the flags ask for one (test_sigterm_drains_...)."""
    drain = [] if "--drain_s" in flags else ["--drain_s", "0"]
    return servers.Server(SERVE, "--model", model, *drain, *flags)


def test_usage_and_model_errors_are_one_line():
    testing.assert_one_line_error(testing.run(SERVE, "--workers", "0"), 2, "--workers must be a positive")
    testing.assert_one_line_error(testing.run(SERVE, "--port", "70000"), 2, "--port")
    testing.assert_one_line_error(testing.run(SERVE, "--model", "/nonexistent.mge"), 1, "model file not found")
    testing.assert_one_line_error(testing.run(SERVE, "--model", testing.LITE0, "--model", testing.LITE0), 2,
                                  "two models named")
    # Checked before anything binds: no test listens beyond loopback.
    testing.assert_one_line_error(testing.run(SERVE, "--host", "0.0.0.0"), 2,
                                  "--host 0.0.0.0 serves other machines: give --api_key_file")
    testing.assert_one_line_error(testing.run(SERVE, "--api_key_file", "/nonexistent/keys"), 1,
                                  "/nonexistent/keys: cannot read the API key file")


def test_tls_serves_https_and_plain_http_gets_no_answer(tmp_path):
    cert, key = tls.self_signed(str(tmp_path))
    testing.assert_one_line_error(testing.run(SERVE, "--tls_cert", cert), 2, "--tls_cert and --tls_key go together")
    testing.assert_one_line_error(testing.run(SERVE, "--model", testing.LITE0, "--tls_cert", cert, "--tls_key", cert),
                                  1, "cannot serve TLS with them")
    server = Server("--workers", "1", "--tls_cert", cert, "--tls_key", key)
    try:
        assert server.url.startswith("https://")
        trust = ssl.create_default_context(cafile=cert)  # what curl --cacert does
        answer = httpx.post(server.url + URL, content=open(testing.CAT, "rb").read(), verify=trust, timeout=30)
        assert answer.status_code == 200 and answer.json()["top"][0]["name"] == "tiger_cat"
        # Plain HTTP to the TLS port: no HTTP answer (the handshake fails; nothing with data comes back).
        reply = exchange(server.port, b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5)
        assert "HTTP/1.1 200" not in reply and "live" not in reply, reply[:200]
    finally:
        assert server.stop() == 0, server.stderr


def test_an_api_key_guards_everything_but_health(tmp_path):
    key = "0123456789abcdef0123456789abcdef"
    (tmp_path / "keys").write_text(key + "\n")
    server = Server("--workers", "1", "--api_key_file", str(tmp_path / "keys"))
    try:
        metadata = server.url + "/v2/models/efficientnet_lite0"
        assert httpx.get(metadata, timeout=10).status_code == 401
        assert httpx.get(metadata, headers={"Authorization": "Bearer " + key}, timeout=10).status_code == 200
        assert httpx.get(server.url + "/v2/health/ready", timeout=10).status_code == 200
    finally:
        assert server.stop() == 0, server.stderr


def test_an_address_in_use_is_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        testing.assert_one_line_error(testing.run(SERVE, "--model", testing.LITE0, "--port", port), 1,
                                      "cannot listen on 127.0.0.1:%s: Address already in use" % port)


def exchange(port, data, half_close=False, timeout=10):
    """Sends raw bytes, returns everything the server sent back until it closed (or `timeout`)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        reply = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                reply += chunk
        except socket.timeout:
            pass
    return reply.decode(errors="replace")


def test_protocol_limits_half_close_and_disconnects():
    server = Server("--workers", "1", "--header_timeout_s", "1", "--max_headers", "20", "--max_header_bytes", "8192")
    try:
        head = "POST %s HTTP/1.1\r\nHost: x\r\n" % URL
        raw = open(testing.CAT, "rb").read()
        assert exchange(server.port, (head + "X-Big: %s\r\n\r\n" % ("a" * 10000)).encode()).startswith(
            "HTTP/1.1 431"), "a 10 KB header"
        many = "".join("X-%d: 1\r\n" % i for i in range(30))
        assert exchange(server.port, (head + many + "\r\n").encode()).startswith("HTTP/1.1 431"), "30 headers"
        assert exchange(server.port, ("GET /%s HTTP/1.1\r\n\r\n" % ("a" * 10000)).encode()).startswith("HTTP/1.1 414")
        # Slow headers (slowloris) and a connection that sends nothing: 408 and closed after ~1 s.
        started = time.monotonic()
        assert exchange(server.port, head.encode()).startswith("HTTP/1.1 408"), "headers never finished"
        assert exchange(server.port, b"").startswith("HTTP/1.1 408"), "an idle connection"
        assert time.monotonic() - started < 10
        # A client that half-closes after its whole request still gets its answer.
        request = (head + "Content-Length: %d\r\n\r\n" % len(raw)).encode() + raw
        reply = exchange(server.port, request, half_close=True, timeout=30)
        assert reply.startswith("HTTP/1.1 200") and "tiger_cat" in reply, reply[:300]
        # A client that leaves mid-body: one log line each, no traceback.
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", server.port)) as s:
                s.sendall((head + "Content-Length: 100000\r\n\r\n").encode() + raw[:1000])
            time.sleep(0.2)
        assert httpx.post(server.url + URL, content=raw, timeout=60).status_code == 200
    finally:
        status = server.stop()
    assert status == 0, server.stderr
    assert "Traceback" not in server.stderr, server.stderr
    gone = [line for line in server.stderr.splitlines() if "disconnected" in line]
    assert len(gone) == 3, server.stderr


def test_live_answers_promptly_while_pathological_bodies_are_refused():
    server = Server("--workers", "1")
    try:
        fill = b"\xff\xd8" + b"\xff" * ((32 << 20) - 16)
        bodies = [fill, b"\xff\xd8" + b"\xff\x01" * (8 << 20)]
        latencies, answers = [], []

        def attack():  # raw sockets: sendall releases the GIL, so the client does not delay its own probes
            for body in bodies:
                head = "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (URL, len(body))
                answers.append(int(exchange(server.port, head.encode() + body, timeout=60)[9:12]))

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            done = pool.submit(attack)
            while not done.done():
                started = time.monotonic()
                assert httpx.get(server.url + "/v2/health/live", timeout=10).status_code == 200
                latencies.append(time.monotonic() - started)
                time.sleep(0.02)
            done.result()
        assert all(400 <= a < 500 for a in answers), answers
        print("live: %d answers while refusing, max %.1f ms" % (len(latencies), 1000 * max(latencies)))
        # Bounds a blocked event loop only (it was 3.4 s); the measured figure is in docs/serving.md.
        assert max(latencies) < 1.0, max(latencies)
    finally:
        server.stop()


def test_soak_every_attack_and_the_bad_uploads_beside_good_traffic():
    """20 rounds of every attack of the hardening issue and the bad-upload corpus, with good
    requests alongside: zero 5xx, nothing unanswered, every good answer correct, and the server's
    resident memory grows < 50 MB from the end of round 1 to the end of round 20."""
    server = Server("--workers", "2", "--header_timeout_s", "2")
    model = "efficientnet_lite0"
    cat = open(testing.CAT, "rb").read()

    def bad(name):
        return open(os.path.join(testing.BAD, name), "rb").read()

    def images(*items):
        return {"inputs": [{"name": "image", "datatype": "BYTES", "shape": [len(items)],
                            "data": [base64.b64encode(i).decode() for i in items]}]}

    tensor = {"name": "data", "datatype": "FP32", "shape": [True, 3, 224, 224], "data": [0.0] * (3 * 224 * 224)}
    head = "POST %s HTTP/1.1\r\nHost: x\r\n" % URL

    def leave_mid_body(_):
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall((head + "Content-Length: 9999\r\n\r\n").encode() + cat[:99])
        return None  # no one is left to answer
    attacks = [
        ("BMP 2000000x1", lambda c: c.post(URL, content=bad("wide2000000x1.bmp")).status_code, 413),
        ("PNG 1x200000 (V2)", lambda c: c.post(URL.replace("classify", "infer"),
                                               json=images(bad("strip1x200000.png"))).status_code, 413),
        ("PNG 1x10000", lambda c: c.post(URL, content=bad("strip1x10000.png")).status_code, 413),
        ("32 MB of JPEG fill", lambda c: c.post(URL, content=b"\xff\xd8" + b"\xff" * ((32 << 20) - 16)).status_code,
         400),
        ("bool in a shape", lambda c: c.post(URL.replace("classify", "infer"), json={"inputs": [tensor]}).status_code,
         400),
        ("33 images", lambda c: c.post(URL.replace("classify", "infer"), json=images(*[cat] * 33)).status_code, 413),
        ("70 KB header", lambda c: int(exchange(server.port, (head + "X: %s\r\n\r\n" % ("a" * 70000)).encode())[9:12]),
         431),
        ("gone mid-body", leave_mid_body, None),
    ]
    corpus = [row for row in bad_uploads.corpus(model, testing.TESTDATA) if len(row.body) < (32 << 20)]
    stop, good = threading.Event(), collections.Counter()

    def good_request(c):
        answer = c.post(URL, content=cat)
        ok = answer.status_code == 200 and answer.json()["top"][0]["name"] == "tiger_cat"
        good["correct" if ok else answer.status_code] += 1

    def good_traffic():
        with httpx.Client(base_url=server.url, timeout=60) as c:
            while not stop.is_set():
                good_request(c)

    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool, httpx.Client(base_url=server.url, timeout=60) as c:
            traffic = pool.submit(good_traffic)
            try:
                for round_ in range(20):
                    for what, attack, status in attacks:
                        assert attack(c) == status, what
                        # Good requests between the attacks too: how many the background thread gets
                        # through depends on the machine's load.
                        good_request(c)
                    for row in corpus:
                        answer = c.request(row.method, row.path, content=row.body,
                                           headers={"content-type": row.content_type} if row.content_type else {})
                        assert answer.status_code == row.status, (row.what, answer.status_code, answer.text)
                    if round_ == 0:
                        first = server.rss_mb()
                last = server.rss_mb()
            finally:
                stop.set()
            traffic.result()
        print("soak: server RSS %.0f MB after round 1, %.0f MB after round 20; good answers %s" % (first, last, dict(good)))
        assert set(good) <= {"correct", 429} and good["correct"] > 20, good
        assert last - first < 50, "resident memory grew %.0f MB over 19 rounds (%.0f -> %.0f)" % (
            last - first, first, last)
    finally:
        stop.set()
        status = server.stop()
    assert status == 0 and "Traceback" not in server.stderr, server.stderr


def recorded(tmp_path):
    """The test export with the settings export picks on most machines (weight preprocess and a
    recorded kernel sequence), as a user's model has them: the server's networks must be freed on
    the threads that recorded them, or MegEngine aborts at exit."""
    model = testing.copy_model(testing.LITE0, str(tmp_path), "efficientnet_lite0.mge")
    info = json.load(open(contract.path_for(model)))
    info["lite"] = {"weight_preprocess": True, "record_level": 1, "nchw88": False,
                    "cpu": lite_options.cpu_fingerprint()}
    contract.write(info, contract.path_for(model))
    return model


def test_serves_on_loopback_refuses_a_slow_upload_and_drains_on_sigterm(tmp_path):
    server = Server("--workers", "2", "--body_timeout_s", "1", model=recorded(tmp_path))
    try:
        raw = open(testing.CAT, "rb").read()
        answer = httpx.post(server.url + URL, content=raw, timeout=60)  # the first run records the kernels
        assert answer.status_code == 200 and answer.json()["top"][0]["name"] == "tiger_cat"
        assert httpx.get(server.url + "/").status_code == 200

        # A slow upload: headers promise 1000 bytes, 10 arrive, then nothing: 408 after ~1 s.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(b"POST " + URL.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + raw[:10])
            reply = s.recv(4096).decode(errors="replace")
        assert reply.startswith("HTTP/1.1 408"), reply

        # SIGTERM while 6 requests are in flight: every one is answered, exit 0.
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(httpx.post, server.url + URL, content=raw, timeout=30) for _ in range(6)]
            time.sleep(0.3)
            status = server.stop()
            codes = [f.result().status_code for f in futures]
        assert codes == [200] * 6, codes
        assert status == 0, server.stderr
        assert "Traceback" not in server.stderr, server.stderr
    finally:
        if server.process.poll() is None:
            server.process.kill()


def test_sigterm_drains_not_ready_at_once_still_serving_then_exits_0():
    """SIGTERM: /v2/health/ready turns 503 at once, requests keep being answered 200 for
    --drain_s, then the server stops and exits 0 within the drain plus the longest request."""
    drain_s = 2.0
    server = Server("--workers", "1", "--drain_s", str(drain_s))
    raw = open(testing.CAT, "rb").read()
    try:
        assert httpx.get(server.url + "/v2/health/ready", timeout=10).status_code == 200
        signalled = time.monotonic()
        server.process.send_signal(__import__("signal").SIGTERM)
        ready, answers = [], []
        while time.monotonic() - signalled < drain_s - 0.5:
            ready.append(httpx.get(server.url + "/v2/health/ready", timeout=10).status_code)
            answers.append(httpx.post(server.url + URL, content=raw, timeout=10).status_code)
        server.process.wait(drain_s + 30)  # by itself: stop() would signal again (which stops at once)
        stopped_s = time.monotonic() - signalled
        status = server.stop()
    finally:
        if server.process.poll() is None:
            server.process.kill()
    print("after SIGTERM: ready %s, classify %s; exit %s after %.2f s" % (set(ready), set(answers), status, stopped_s))
    assert ready and set(ready) == {503}
    assert answers and set(answers) == {200}
    assert status == 0 and "Traceback" not in server.stderr, server.stderr
    assert drain_s <= stopped_s < drain_s + 10
    assert "Draining: not ready" in server.stderr


if __name__ == "__main__":
    testing.main(__file__)
