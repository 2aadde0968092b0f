"""Open-loop load on //py:serve: throughput, goodput and latency under a sweep of offered rates.

Arrivals are Poisson on a schedule computed before the run, and each latency is measured from the
request's *scheduled* send time: a stalled server cannot hide its queueing by slowing the client
(coordinated omission). Loopback only; every run is bounded in requests and seconds.

First, in this process, the in-process pipeline (read bytes -> decode -> preprocess -> forward, the
same backend): its p50 at 1 worker and its best throughput with one worker per core. Then the
server starts (same model, same backend); the low-load overhead is measured paired (server requests
alternating with in-process runs); each offered rate runs for --duration_s; the last rate, if
--overload is set, is twice the in-process throughput for --overload_s, reported per 5 s.

  bazel run //bench:serve_load                                    # Lite, rates relative to capacity
  bazel run //bench:serve_load -- --backend onnxruntime --rates 20,40,80 --duration_s 10
  bazel run //bench:serve_load -- --backend eager --output_dir bench/results   # record
  bazel run //bench:serve_load -- --protocol grpc     # the same load over gRPC (ModelInfer, an image input)

Over HTTP each request is POST /v2/models/<name>/classify with the image as the body; over gRPC
(--protocol grpc, the server started with --grpc_port) it is ModelInfer with the image as its BYTES
input. The bad-upload phase is HTTP's (its corpus is HTTP requests).
"""
import asyncio
import concurrent.futures
import multiprocessing
import os
import resource
import sys
import threading
import time
from typing import NamedTuple

import numpy as np
from absl import app, flags

import uvloop

from bench import grpc_client, http_client, machine, results_io
from mgedeploy.cli import paths
from tests import servers

ROOT = paths.REPO_ROOT
# The README's first command writes it, with the Lite settings chosen for this machine (the test
# exports in testdata/ have none, so they run Lite's slow defaults).
MODEL = "efficientnet_lite0_deploy.mge"

BACKEND = flags.DEFINE_enum("backend", "lite", ["lite", "onnxruntime", "eager"], "What the server runs.")
PROTOCOL = flags.DEFINE_enum("protocol", "http", ["http", "grpc"], "How requests reach the server: HTTP /classify, "
                             "or gRPC ModelInfer.")
FLAG_MODEL = flags.DEFINE_string("model", MODEL, "The exported .mge (default: what `./bazelw run //py:export` "
                                  "writes).")
IMAGE = flags.DEFINE_string("image", None, "The image every request sends (default: testdata/cat.jpg).")
RATES = flags.DEFINE_list("rates", ["0.1", "0.5", "0.9", "1.2"],
                          "Offered rates: requests/s, or multiples of the measured capacity when they end in nothing "
                          "and are at most 4 (0.5 = half the capacity).")
DURATION_S = flags.DEFINE_float("duration_s", 10.0, "Seconds per offered rate.")
OVERLOAD = flags.DEFINE_bool("overload", True, "Finish with 2x capacity for --overload_s, reported per 5 s window.")
OVERLOAD_S = flags.DEFINE_float("overload_s", 30.0, "Seconds of the overload run.")
WORKERS = flags.DEFINE_integer("workers", 2, "Server workers (and in-process pipeline threads for capacity).")
MAX_QUEUE = flags.DEFINE_integer("max_queue", 8, "Server --max_queue.")
TIMEOUT_MS = flags.DEFINE_float("timeout_ms", 2000.0, "Server --timeout_ms; answers after it do not count as goodput.")
BASELINE_S = flags.DEFINE_float("baseline_s", 8.0, "Seconds for the in-process capacity measurement.")
MAX_REQUESTS = flags.DEFINE_integer("max_requests", 20000, "Bound on requests per offered rate.")
LOW_LOAD_PAIRS = flags.DEFINE_integer("low_load_pairs", 60, "Low-load overhead: this many requests to the server, "
                                      "each paired with an in-process pipeline run at the same pacing (0: skip).")
CAPACITY_ROUNDS = flags.DEFINE_integer("capacity_rounds", 3, "Capacity: this many rounds of in-process images/s "
                                       "then the server's saturated goodput, --capacity_s each (0: skip).")
CAPACITY_S = flags.DEFINE_float("capacity_s", 6.0, "Seconds per side of a capacity round.")
SEED = flags.DEFINE_integer("seed", 0, "Seed of the arrival schedules.")
BAD_UPLOADS = flags.DEFINE_integer("bad_uploads", 20, "Then: good traffic at half capacity for --duration_s, "
                                   "alone and beside the bad-upload corpus repeated this many times (0: skip).")
OUTPUT_DIR = flags.DEFINE_string("output_dir", None, results_io.OUTPUT_DIR_HELP)
WINDOW_S = 5.0
# Alone / beside-bad-uploads runs, alternating on the same schedules. Five, not three: a p99 at half
# capacity moved 54 -> 97 ms between two runs of the same code, and one of three 3-pair runs gave 1.46x.
PAIRS = 5
SENT_BODY_BYTES = 1 << 20


def pipeline(instance, raw):
    """What a /classify request runs, in process: decode -> preprocess -> forward."""
    from mgedeploy import preprocess

    return instance.run_inputs([instance.preprocess(preprocess.decode_bgr(raw, "image"))])


def in_child(function, *args):
    """function(*args) in a fresh process: runtimes leave threads behind (MegEngine's and ORT's
    pools wait spinning), which would run beside the client for the rest of the run."""
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
        return child.submit(function, *args).result()


def in_process_baseline(backend, model, raw, workers, seconds, low_fraction, rng, latencies=True):
    """The pipeline a request runs (read bytes -> decode -> preprocess -> forward), in this process:
    its p50 back to back at 1 worker, its images/s with `workers` threads, and its p50 at 1 worker
    paced like the sweep's lowest rate (Poisson gaps: an idle CPU makes the next forward slower,
    e.g. Lite0 14.8 ms back to back vs 18.9 ms after 100 ms idle, so low load is compared with low
    load). Each thread builds, runs and frees its own instance (a Lite network with a recorded
    kernel sequence must stay on the thread that ran it)."""
    from mgedeploy.serving import backends

    def timed(instance, gaps):
        samples = []
        for gap in gaps:
            time.sleep(gap)
            started = time.perf_counter()
            pipeline(instance, raw)
            samples.append(time.perf_counter() - started)
        return 1e3 * float(np.median(samples))

    main_thread_only = backend in backends.MAIN_THREAD_ONLY  # eager MegEngine: this thread, one at a time
    if main_thread_only:
        workers = 1
    barrier = threading.Barrier(workers)
    result, counts, stop = {"workers": workers}, [0] * workers, [0.0]

    def thread(i):
        instance = backends.make(backend, model)
        for _ in range(3):
            pipeline(instance, raw)  # warm-up (first-run allocation, recording)
        barrier.wait()
        if i == 0:
            if latencies:
                result["p50_ms"] = timed(instance, [0.0] * 30)
            stop[0] = time.perf_counter() + seconds
        barrier.wait()
        while time.perf_counter() < stop[0]:
            pipeline(instance, raw)
            counts[i] += 1
        barrier.wait()
        if i == 0:
            result["images_per_s"] = sum(counts) / seconds
            result["low_rate_per_s"] = low_fraction * result["images_per_s"]
            if latencies:
                result["paced_p50_ms"] = timed(instance, rng.exponential(1 / result["low_rate_per_s"], 30))
        del instance

    if main_thread_only:
        thread(0)
        return result
    backends.prepare(backend, model)
    threads = [threading.Thread(target=thread, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return result


def in_process_throughput(backend, model, raw, workers, seconds):
    """Images/s of the in-process pipeline with `workers` threads (for paired_capacity)."""
    return in_process_baseline(backend, model, raw, workers, seconds, 1.0, None, latencies=False)["images_per_s"]


def paired_low_load(backend, model, raw, target, rate, pairs, seed):
    """Low load, side by side: `pairs` times, one request to the server, then one in-process pipeline
    run, each after a Poisson gap at `rate`, one at a time. Interleaved because this machine's
    speed drifts by more than the 15 % being judged (sequential phases gave 1.05-1.31x for the same
    code; paired runs cancel the drift). Runs in a child process, on its main thread (eager MegEngine
    runs only there; a recorded Lite network stays on the thread that ran it). Returns both p50s."""
    from mgedeploy.serving import backends

    instance = backends.make(backend, model)
    gaps = np.random.default_rng(seed).exponential(1.0 / rate, size=(pairs + 3, 2))

    async def run():
        connections, request = client(target, raw)
        server_s, local_s = [], []
        for gap_server, gap_local in gaps:
            await asyncio.sleep(gap_server)
            started = time.perf_counter()
            status, _ = await connections.send(request)
            if status != 200:
                raise RuntimeError("the server answered %d at low load" % status)
            server_s.append(time.perf_counter() - started)
            await asyncio.sleep(gap_local)
            started = time.perf_counter()
            pipeline(instance, raw)
            local_s.append(time.perf_counter() - started)
        await close(connections)
        return server_s[3:], local_s[3:]  # the first three are warm-up

    server_s, local_s = asyncio.run(run())
    del instance
    return {"pairs": pairs, "rate_per_s": rate, "server_p50_ms": 1e3 * float(np.median(server_s)),
            "in_process_p50_ms": 1e3 * float(np.median(local_s))}


class Target(NamedTuple):
    """Where the load goes: the protocol, the port it is served on, the model's name and /classify path."""
    protocol: str
    port: int
    name: str
    path: str


def client(target, raw):
    """(connections, the prebuilt request for `raw`): http_client or grpc_client, by the protocol."""
    if target.protocol == "grpc":
        return grpc_client.Channel("127.0.0.1", target.port), grpc_client.infer_request_bytes(target.name, raw)
    return (http_client.Connections("127.0.0.1", target.port),
            http_client.request_bytes("POST", "127.0.0.1", target.port, target.path, raw, "image/jpeg"))


async def close(connections):
    closing = connections.close()
    if asyncio.iscoroutine(closing):  # gRPC's channel closes asynchronously
        await closing


def run_loop(target, coroutine):
    """HTTP load runs on uvloop (the client's CPU is shared with the server); gRPC's asyncio
    integration on the standard loop."""
    return asyncio.run(coroutine) if target.protocol == "grpc" else uvloop.run(coroutine)


def start_server(backend, model, workers, max_queue, timeout_ms, protocol):
    """//py:serve with the load's settings (tests/servers.py); a server that does not start ends the run."""
    grpc = ["--grpc_port", "0"] if protocol == "grpc" else []
    try:
        server = servers.Server(servers.SERVE, "--model", model, "--backend", backend, "--workers", str(workers),
                                "--max_queue", str(max_queue), "--timeout_ms", str(timeout_ms), *grpc)
    except servers.StartError as e:
        sys.exit("serve_load: %s" % e)
    server.model = model
    name = os.path.basename(model)[:-len(".mge")]
    server.path = "/v2/models/%s/classify" % name
    server.target = Target(protocol, server.grpc_port if grpc else server.port, name, server.path)
    return server


def schedule(rate, seconds, limit, rng):
    """Poisson arrival times in [0, seconds), at most `limit`."""
    gaps = rng.exponential(1.0 / rate, size=min(limit, int(rate * seconds * 1.5) + 10))
    times = np.cumsum(gaps)
    return times[times < seconds][:limit]


async def offer(target, raw, times):
    """Sends a request at each scheduled time; returns (scheduled, latency_s, status) per request."""
    connections, request = client(target, raw)
    results, lag = [], []
    start = time.perf_counter() + 0.2

    async def one(at):
        delay = start + at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lag.append(time.perf_counter() - (start + at))
        status, _ = await connections.send(request)
        results.append((at, time.perf_counter() - (start + at), status))

    await asyncio.gather(*(one(at) for at in times))
    await close(connections)
    return results, lag


async def offer_with_bad_uploads(target, raw, times, bad, bad_times):
    """offer() plus, on separate connections, each bad upload at its time; returns (good results,
    [(what, expected status, status)]). HTTP only."""
    port = target.port
    good = asyncio.ensure_future(offer(target, raw, times))
    connections = http_client.Connections("127.0.0.1", port)
    start = time.perf_counter() + 0.2
    answers = []

    # Built once per distinct upload: copying the 100 MB body for every send cost the client (on
    # the server's cores) more than the server spent refusing it.
    # A body over SENT_BODY_BYTES is announced whole (Content-Length) but only its start is sent: the
    # server refuses it from the header, and copying all 100 MB through the client, on the server's
    # cores, measured the client (the app test sends the whole body in-process).
    built = {}
    for upload in bad:
        if upload.what not in built:
            request = http_client.request_bytes(upload.method, "127.0.0.1", port, upload.path, upload.body,
                                                upload.content_type)
            built[upload.what] = request[:len(request) - len(upload.body) + SENT_BODY_BYTES]

    async def one(upload, at):
        delay = start + at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        status, _ = await connections.send(built[upload.what])
        answers.append((upload.what, upload.status, status))

    await asyncio.gather(*(one(upload, at) for upload, at in zip(bad, bad_times)))
    connections.close()
    results, _ = await good
    return results, answers


def percentiles(values):
    if not values:
        return {"p50": None, "p90": None, "p99": None, "max": None}
    a = 1e3 * np.asarray(values)
    return {"p50": float(np.percentile(a, 50)), "p90": float(np.percentile(a, 90)),
            "p99": float(np.percentile(a, 99)), "max": float(a.max())}


def summarise(rate, seconds, results, timeout_s, client_cpu, server_cpu):
    ok = [lat for _, lat, status in results if status == 200]
    good = [lat for lat in ok if lat <= timeout_s]
    statuses = {}
    for _, _, status in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    windows = []
    for w in range(int(np.ceil(seconds / WINDOW_S))):
        inside = [lat for at, lat, status in results if status == 200 and w * WINDOW_S <= at < (w + 1) * WINDOW_S]
        windows.append({"from_s": w * WINDOW_S, "accepted": len(inside), "p99_ms": percentiles(inside)["p99"]})
    return {
        "offered_per_s": rate, "seconds": seconds, "requests": len(results),
        "throughput_per_s": len(results) / seconds, "goodput_per_s": len(good) / seconds,
        "latency_ms": percentiles(ok), "rejected_429_latency_ms": percentiles(
            [lat for _, lat, status in results if status == 429]),
        "status_counts": statuses, "windows": windows,
        "client_cpu_percent": 100 * client_cpu, "server_cpu_percent": 100 * server_cpu,
    }


def run_rate(server, raw, rate, seconds, rng):
    times = schedule(rate, seconds, MAX_REQUESTS.value, rng)
    client0, server0 = resource.getrusage(resource.RUSAGE_SELF), server.cpu_s()
    started = time.perf_counter()
    results, lag = run_loop(server.target, offer(server.target, raw, times))
    elapsed = time.perf_counter() - started
    client1, server1 = resource.getrusage(resource.RUSAGE_SELF), server.cpu_s()
    client_cpu = (client1.ru_utime + client1.ru_stime) - (client0.ru_utime + client0.ru_stime)
    summary = summarise(rate, seconds, results, TIMEOUT_MS.value / 1000, client_cpu / elapsed,
                        (server1 - server0) / elapsed)
    # Did the client keep its schedule? (A late send would hide queueing; it is counted in the latency.)
    summary["send_lag_ms"] = percentiles(lag)
    summary["elapsed_s"] = elapsed
    return summary


def paired_capacity(server, raw, rounds, seconds, rng):
    """Capacity, side by side: `rounds` times, the in-process pipeline's images/s with one worker
    per core (a fresh child process; the server idle meanwhile), then the server's goodput offered
    1.3x that rate (saturated), each for `seconds`. Alternated for the same reason as the low-load
    pairs: the machine's speed drifted 103 -> 112 images/s between two of our runs."""
    rounds_out = []
    for k in range(rounds):
        local = in_child(in_process_throughput, BACKEND.value, server.model, raw, WORKERS.value, seconds)
        served = run_rate(server, raw, 1.3 * local, seconds, rng)
        rounds_out.append({"in_process_per_s": local, "server_goodput_per_s": served["goodput_per_s"],
                           "server_cpu_percent": served["server_cpu_percent"],
                           "client_cpu_percent": served["client_cpu_percent"]})
        print("  round %d: in-process %.1f images/s, server goodput %.1f/s" % (
            k + 1, local, served["goodput_per_s"]), flush=True)
    goodput = sum(r["server_goodput_per_s"] for r in rounds_out)
    return {"rounds": rounds_out, "seconds": seconds, "ratio": goodput / sum(r["in_process_per_s"] for r in rounds_out)}


def run_bad_uploads(server, raw, rate, seconds, rng):
    """Good traffic alone, then the same schedule beside a share of the bad-upload corpus x BAD_UPLOADS
    (spread evenly over the run), PAIRS times: good p99 both ways (pooled), every bad upload's
    status, the server's RSS growth over all of it."""
    from tests import bad_uploads

    corpus = bad_uploads.corpus(server.path.split("/")[3], os.path.join(ROOT, "testdata"))
    print("Good traffic at %.1f/s, alone and beside the bad-upload corpus, alternating %d times (%d rounds of the "
          "corpus in all)..." % (rate, PAIRS, BAD_UPLOADS.value), flush=True)
    # Alternating, on the same schedules, so that the machine's drift does not decide the comparison.
    alone, mixed, answers, pairs_p99 = [], [], [], []
    rss_before = server.rss_mb()
    for k in range(PAIRS):
        times = schedule(rate, seconds, MAX_REQUESTS.value, rng)
        results, _ = uvloop.run(offer(server.target, raw, times))
        alone += results
        pair_p99 = [percentiles([lat for _, lat, status in results if status == 200])["p99"]]
        bad = corpus * (BAD_UPLOADS.value * (k + 1) // PAIRS - BAD_UPLOADS.value * k // PAIRS)
        results, got = uvloop.run(offer_with_bad_uploads(server.target, raw, times, bad,
                                                         np.linspace(0, seconds, len(bad), endpoint=False)))
        mixed += results
        answers += got
        pair_p99.append(percentiles([lat for _, lat, status in results if status == 200])["p99"])
        pairs_p99.append(pair_p99)
    rss_after = server.rss_mb()
    p99 = lambda results: percentiles([lat for _, lat, status in results if status == 200])["p99"]  # noqa: E731
    # A 429 is right too: a full queue is refused before the body is looked at.
    wrong = sorted({"%s: %s (wanted %s)" % (what, got, want) for what, want, got in answers if got not in (want, 429)})
    report_429 = sum(got == 429 for _, _, got in answers)
    report = {"rate_per_s": rate, "bad_requests": len(answers), "corpus_size": len(corpus),
              "good_p99_alone_ms": p99(alone), "good_p99_beside_bad_ms": p99(mixed),
              "good_ok_alone": sum(s == 200 for _, _, s in alone), "good_ok_beside_bad": sum(s == 200 for _, _, s in mixed),
              "pairs_p99_ms": pairs_p99,
              "bad_unexpected": wrong, "bad_answered_429": report_429, "server_rss_before_mb": rss_before,
              "server_rss_after_mb": rss_after}
    report["p99_ratio"] = report["good_p99_beside_bad_ms"] / report["good_p99_alone_ms"]
    print("  good p99 %.1f ms alone, %.1f ms beside %d bad uploads; server RSS %.0f -> %.0f MB; unexpected: %s" % (
        report["good_p99_alone_ms"], report["good_p99_beside_bad_ms"], len(answers), rss_before, rss_after,
        wrong or "none"), flush=True)
    return report


def table(report):
    base = report["in_process"]
    protocol = {"grpc": "gRPC"}.get(report.get("protocol"), "HTTP")
    lines = ["# //bench:serve_load, backend %s over %s, %s" % (report["backend"], protocol, report["machine"]["cpu"]), "",
             "In-process pipeline (decode + preprocess + forward): p50 %.1f ms at 1 worker back to back, %.1f ms "
             "paced at %.1f/s (Poisson); %.1f images/s with %d workers." % (
                 base["p50_ms"], base["paced_p50_ms"], base["low_rate_per_s"], base["images_per_s"],
                 base["workers"]), "",
             "| offered/s | sent | goodput/s | p50 ms | p90 ms | p99 ms | max ms | 429 p99 ms | statuses | client CPU | "
             "server CPU | send lag p99 ms |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    fmt = lambda v: "-" if v is None else "%.1f" % v  # noqa: E731
    for run in report["runs"]:
        lat, rej = run["latency_ms"], run["rejected_429_latency_ms"]
        lines.append("| %.1f | %d | %.1f | %s | %s | %s | %s | %s | %s | %.0f %% | %.0f %% | %s |" % (
            run["offered_per_s"], run["requests"], run["goodput_per_s"], fmt(lat["p50"]), fmt(lat["p90"]),
            fmt(lat["p99"]), fmt(lat["max"]), fmt(rej["p99"]),
            " ".join("%s:%d" % kv for kv in sorted(run["status_counts"].items())), run["client_cpu_percent"],
            run["server_cpu_percent"], fmt(run["send_lag_ms"]["p99"])))
    verdict = report["verdict"]
    if "overhead_ratio" in verdict:
        p = verdict["low_load_paired"]
        lines += ["", "Low load, paired (%d server requests alternating with %d in-process runs at %.1f/s): "
                  "p50 %.1f ms vs %.1f ms: **%.2fx** (bar: 1.15x)." % (
                      p["pairs"], p["pairs"], p["rate_per_s"], p["server_p50_ms"], p["in_process_p50_ms"],
                      verdict["overhead_ratio"])]
    if "capacity_paired" in verdict:
        c = verdict["capacity_paired"]
        pairs = ", ".join("%.1f/%.1f" % (r["server_goodput_per_s"], r["in_process_per_s"]) for r in c["rounds"])
        lines += ["Capacity, paired (%d rounds, %.0f s each side): server goodput / in-process images/s %s: "
                  "**%.2fx** (bar: 0.9x); client CPU %s." % (
                      len(c["rounds"]), c["seconds"], pairs, c["ratio"],
                      ", ".join("%.0f %%" % r["client_cpu_percent"] for r in c["rounds"]))]
    if "overhead_ratio_sequential" in verdict:
        lines += ["Sequential phases (drift between them counts): the lowest rate's p50 / the paced in-process "
                  "p50 measured before the server started %.2fx (%.2fx of the back-to-back p50); the sweep's best "
                  "goodput / in-process throughput %.2fx." % (
                      verdict["overhead_ratio_sequential"], verdict["overhead_ratio_back_to_back"],
                      verdict.get("capacity_ratio_sequential", verdict["capacity_ratio"]))]
    if "overload" in verdict:
        o = verdict["overload"]
        lines += ["Overload (2x the in-process throughput, %.0f s): 5xx %d, goodput / the server's saturated goodput "
                  "**%.2fx** (bar: 0.9x; / in-process throughput %.2fx), 429 p99 %s ms; accepted p99 per 5 s: %s." % (
                      o["seconds"], o["5xx"], o["goodput_ratio"], o["goodput_ratio_in_process"], fmt(o["p99_429_ms"]),
                      ", ".join(fmt(p) for p in o["window_p99_ms"]))]
    if "bad_uploads" in verdict:
        b = verdict["bad_uploads"]
        lines += ["Bad uploads (%d: the %d-request corpus x %d) beside good traffic at %.1f/s: good p99 %.1f ms vs %.1f "
                  "ms alone (**%.2fx**, bar: 1.2x; per pair, alone/beside: %s ms); unexpected answers: %s; server "
                  "RSS %.0f -> %.0f MB (bar: +100)." % (
                      b["bad_requests"], b["corpus_size"], b["bad_requests"] // b["corpus_size"], b["rate_per_s"],
                      b["good_p99_beside_bad_ms"], b["good_p99_alone_ms"], b["p99_ratio"],
                      ", ".join("%s/%s" % (fmt(a), fmt(m)) for a, m in b.get("pairs_p99_ms", [])),
                      ", ".join(b["bad_unexpected"]) or "none", b["server_rss_before_mb"], b["server_rss_after_mb"])]
    return "\n".join(lines) + "\n"


def main(argv):
    del argv
    model = paths.user_path(FLAG_MODEL.value)
    if not os.path.isfile(model):
        sys.exit("serve_load: %s: model file not found (run ./bazelw run //py:export first, or pass --model)"
                 % paths.shown(model))
    image = paths.user_path(IMAGE.value) if IMAGE.value else os.path.join(ROOT, "testdata", "cat.jpg")
    with open(image, "rb") as f:
        raw = f.read()
    print("In-process pipeline (%s, %d workers, %.0f s)..." % (BACKEND.value, WORKERS.value, BASELINE_S.value),
          flush=True)
    rng = np.random.default_rng(SEED.value)
    fractions = [float(text) for text in RATES.value]
    low = [f for f in fractions if f <= 4]
    base = in_child(in_process_baseline, BACKEND.value, model, raw, WORKERS.value, BASELINE_S.value,
                    min(low or [0.1]), rng)
    print("  p50 %.1f ms (%.1f ms paced at %.1f/s), %.1f images/s" % (
        base["p50_ms"], base["paced_p50_ms"], base["low_rate_per_s"], base["images_per_s"]), flush=True)
    capacity = base["images_per_s"]
    rates = [value * capacity if value <= 4 else value for value in fractions]
    server = start_server(BACKEND.value, model, WORKERS.value, MAX_QUEUE.value, TIMEOUT_MS.value, PROTOCOL.value)
    runs, paired, capacity_pairs = [], None, None
    try:
        # Warm-up, not reported: the first requests of a new server pay for first-run allocations.
        run_loop(server.target, offer(server.target, raw, schedule(0.5 * capacity, 2.0, 1000, rng)))
        if LOW_LOAD_PAIRS.value:
            print("Low load, paired: %d requests to the server and %d in-process runs, alternating, at %.1f/s..."
                  % (LOW_LOAD_PAIRS.value, LOW_LOAD_PAIRS.value, base["low_rate_per_s"]), flush=True)
            paired = in_child(paired_low_load, BACKEND.value, model, raw, server.target,
                              base["low_rate_per_s"], LOW_LOAD_PAIRS.value, SEED.value)
            print("  p50 %.1f ms through the server, %.1f ms in-process" % (
                paired["server_p50_ms"], paired["in_process_p50_ms"]), flush=True)
        if CAPACITY_ROUNDS.value:
            print("Capacity, paired: %d rounds of in-process images/s then the server saturated, %.0f s each..."
                  % (CAPACITY_ROUNDS.value, CAPACITY_S.value), flush=True)
            capacity_pairs = paired_capacity(server, raw, CAPACITY_ROUNDS.value, CAPACITY_S.value, rng)
        for rate in rates:
            print("Offering %.1f requests/s for %.0f s..." % (rate, DURATION_S.value), flush=True)
            runs.append(run_rate(server, raw, rate, DURATION_S.value, rng))
            print("  goodput %.1f/s, p50 %s ms, p99 %s ms, %s" % (
                runs[-1]["goodput_per_s"], runs[-1]["latency_ms"]["p50"], runs[-1]["latency_ms"]["p99"],
                runs[-1]["status_counts"]), flush=True)
        if OVERLOAD.value:
            print("Overload: %.1f requests/s for %.0f s..." % (2 * capacity, OVERLOAD_S.value), flush=True)
            runs.append(dict(run_rate(server, raw, 2 * capacity, OVERLOAD_S.value, rng), overload=True))
        if BAD_UPLOADS.value and PROTOCOL.value == "http":
            bad_report = run_bad_uploads(server, raw, 0.5 * capacity, DURATION_S.value, rng)
    finally:
        stopped = server.stop()
    verdict = {"server_exit": stopped}
    if runs:
        low = min(runs, key=lambda r: r["offered_per_s"])
        verdict.update({"overhead_ratio_sequential": low["latency_ms"]["p50"] / base["paced_p50_ms"],
                        "overhead_ratio_back_to_back": low["latency_ms"]["p50"] / base["p50_ms"],
                        "capacity_ratio": max(r["goodput_per_s"] for r in runs) / capacity})
    if capacity_pairs:
        verdict["capacity_paired"] = capacity_pairs
        verdict["capacity_ratio_sequential"] = verdict.pop("capacity_ratio")
        verdict["capacity_ratio"] = capacity_pairs["ratio"]
    if paired:
        verdict["low_load_paired"] = paired
        verdict["overhead_ratio"] = paired["server_p50_ms"] / paired["in_process_p50_ms"]
    if OVERLOAD.value:
        o = runs[-1]
        # The bar's "capacity" is the server's saturated goodput (the sweep's best); the ratio to the
        # in-process pipeline's throughput is reported beside it.
        saturated = max([r["goodput_per_s"] for r in runs[:-1]] or [o["goodput_per_s"]])
        verdict["overload"] = {
            "seconds": o["seconds"], "5xx": sum(n for s, n in o["status_counts"].items() if s.startswith("5")),
            "goodput_ratio": o["goodput_per_s"] / saturated,
            "goodput_ratio_in_process": o["goodput_per_s"] / capacity,
            "p99_429_ms": o["rejected_429_latency_ms"]["p99"],
            "window_p99_ms": [w["p99_ms"] for w in o["windows"]]}
    if BAD_UPLOADS.value and PROTOCOL.value == "http":
        verdict["bad_uploads"] = bad_report
    report = {"tool": "serve_load", "backend": BACKEND.value, "protocol": PROTOCOL.value, "model": os.path.basename(model),
              "machine": machine.describe(), "workers": WORKERS.value, "max_queue": MAX_QUEUE.value,
              "timeout_ms": TIMEOUT_MS.value, "in_process": base, "runs": runs, "verdict": verdict}
    directory = results_io.output_dir(OUTPUT_DIR.value)
    text = table(report)
    name = "serve_load_%s%s" % (BACKEND.value, "_grpc" if PROTOCOL.value == "grpc" else "")
    results_io.save(directory, name, report, text)
    print(text)
    print("Wrote %s/%s.{json,md}" % (directory, name))


if __name__ == "__main__":
    app.run(main)
