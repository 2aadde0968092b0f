"""Model fuzzer: damaged copies of the exported models, run through both inference CLIs.

Each mutant is one seeded mutation — truncation at a random offset, random bit flips, a zeroed
byte range, or a duplicated byte range — of a build-time export, in one of three forms (--kinds):
  sidecar    the .mge mutated, its contract re-stamped to match, so the damaged bytes reach
             MegEngine Lite rather than being stopped by the contract's SHA-256
  packed     the model packed into one file (export --pack); half the mutants damage the packed
             file itself (our FlatBuffer reader refuses it), half damage the graph and pack it
             with a re-stamped contract (the damage reaches Lite through the packed path)
  encrypted  packed and encrypted under a key made for the run (export --encrypt_key_file), run
             with that key; a third each: the sealed file damaged (the tag refuses it), the bytes
             before the tag damaged and sealed again (the damage passes the tag and reaches the
             reader and the decryption), the graph damaged and encrypted with a re-stamped contract
             (it reaches Lite through decryption). The IVs are random, so encrypted bytes differ
             from run to run; the mutations do not.
Both CLIs run it in a subprocess with a timeout; each outcome is tallied as:
  clean_error   exit 1 with exactly one line on stderr
  crash_caught  a clean error from our crash guard: MegEngine crashed on the mutant, and the guard
                (cc/cli/crash_guard.cc) turned the signal into a one-line error and exit 1
  valid_output  exit 0 with five tutorial lines (the damage hit weights, not structure)
  hang          no exit within the timeout
  signal        death by a signal (abort, segfault, ...)
  unclean       anything else (a multi-line error, another exit status, garbage output)

Usage: bazel run //tests:fuzz_models -- [--mutants 1000] [--kinds sidecar,packed,encrypted] [--seed 0]
         [--jobs 2] [--timeout 60] [--output tests/results/fuzz.json]
"""
import concurrent.futures
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

from absl import app, flags

from mgedeploy import contract, model_encryption, packed_model
from mgedeploy.cli import paths
from tests import fixtures
from tests import testing

MUTANTS = flags.DEFINE_integer("mutants", 1000, "How many mutants of each kind.", lower_bound=1)
KINDS = flags.DEFINE_list("kinds", "sidecar,packed,encrypted", "Which forms of the models to damage: sidecar, "
                         "packed, encrypted (a comma list).")
SEED = flags.DEFINE_integer("seed", 0, "Seed of the mutations.")
JOBS = flags.DEFINE_integer("jobs", 2, "Mutants run in parallel.", lower_bound=1)
TIMEOUT = flags.DEFINE_integer("timeout", 60, "Seconds before a run counts as a hang.", lower_bound=1)
OUTPUT = flags.DEFINE_string("output", None, "Where to write the tally JSON (default: none).")

ROOT = paths.REPO_ROOT
MODELS = [os.path.join(ROOT, "testdata", name + ".mge") for name in ("efficientnet_lite0", "snetv2_x100")]
CAT = fixtures.CAT
CLIS = {name: (lambda model, name=name: [testing.PROGRAMS[name], "-m", model, "-i", CAT])
        for name in testing.INFERENCE}
MUTANT_KINDS = ("sidecar", "packed", "encrypted")
OUTCOMES = ("clean_error", "crash_caught", "valid_output", "hang", "signal", "unclean")


def mutate(data, rng):
    """One mutation of `data`; returns (bytes, description)."""
    n = len(data)
    kind = rng.choice(["truncate", "bitflip", "zero", "duplicate"])
    if kind == "truncate":
        cut = rng.randrange(1, n)
        return data[:cut], "truncate at %d of %d" % (cut, n)
    buf = bytearray(data)
    if kind == "bitflip":
        flips = rng.randint(1, 64)
        # Half the time aim at the first 64 KB, where the graph structure lives; else anywhere.
        span = min(n, 65536) if rng.random() < 0.5 else n
        for _ in range(flips):
            pos = rng.randrange(span)
            buf[pos] ^= 1 << rng.randrange(8)
        return bytes(buf), "flip %d bits in the first %d bytes" % (flips, span)
    start = rng.randrange(n)
    length = rng.randint(1, min(4096, n - start))
    if kind == "zero":
        buf[start:start + length] = bytes(length)
        return bytes(buf), "zero %d bytes at %d" % (length, start)
    return bytes(buf[:start + length]) + bytes(buf[start:]), "duplicate %d bytes at %d" % (length, start)


def classify(result):
    if result is None:
        return "hang"
    if result.returncode < 0:
        return "signal"
    stderr_lines = [l for l in result.stderr.decode(errors="replace").splitlines() if l.strip()]
    stdout_lines = result.stdout.decode(errors="replace").splitlines()
    if result.returncode == 1 and len(stderr_lines) == 1:
        return "crash_caught" if "Lite crashed" in stderr_lines[0] else "clean_error"
    if result.returncode == 0 and len(stdout_lines) == 5 and all("with probability =" in l for l in stdout_lines):
        return "valid_output"
    return "unclean"


def run_cli(command):
    env = dict(os.environ, RUNFILES_DIR=os.path.dirname(ROOT))
    env.pop("BUILD_WORKING_DIRECTORY", None)
    env.pop(model_encryption.KEY_FILE_ENV, None)
    try:
        return subprocess.run(command, capture_output=True, timeout=TIMEOUT.value, env=env)
    except subprocess.TimeoutExpired:
        return None


def restamped(info, graph):
    """The contract `info`, re-stamped for `graph`'s bytes (so a damaged graph reaches Lite)."""
    return dict(info, mge_file={"size": len(graph), "sha256": hashlib.sha256(graph).hexdigest()})


def make_mutant(kind, graph, info, rng, key):
    """(the mutant's bytes, a description) of one `kind`; sidecar mutants get their contract from
    the caller (re-stamped)."""
    if kind == "sidecar":
        return mutate(graph, rng)
    if kind == "packed":
        if rng.random() < 0.5:
            data, description = mutate(packed_model.pack(graph, info), rng)
            return data, "packed file: " + description
        damaged, description = mutate(graph, rng)
        return packed_model.pack(damaged, restamped(info, damaged)), "graph, packed re-stamped: " + description
    way = rng.randrange(3)
    if way == 0:
        data, description = mutate(packed_model.pack(graph, info, key=key), rng)
        return data, "sealed file: " + description
    if way == 1:
        body = model_encryption.unseal(packed_model.pack(graph, info, key=key), key)
        damaged, description = mutate(body, rng)
        return model_encryption.seal(damaged, key), "before the tag, sealed again: " + description
    damaged, description = mutate(graph, rng)
    return packed_model.pack(damaged, restamped(info, damaged), key=key), "graph, encrypted re-stamped: " + description


def fuzz_one(index, kind, source, data, seed, workdir, key_file):
    rng = random.Random(seed * 1_000_003 + index)
    with open(contract.path_for(source)) as f:
        info = json.load(f)
    mutant, description = make_mutant(kind, data, info, rng, model_encryption.read_key(key_file))
    path = os.path.join(workdir, "%s%d.mge" % (kind, index))
    with open(path, "wb") as f:
        f.write(mutant)
    if kind == "sidecar":
        contract.write(info, contract.path_for(path))
        testing.restamp(path)
    outcomes = {}
    for name, command in CLIS.items():
        key_flags = ["--model_key_file", key_file] if kind == "encrypted" else []
        result = run_cli(command(path) + key_flags)
        outcomes[name] = (classify(result), result)
    for leftover in (path, contract.path_for(path)):
        if os.path.exists(leftover):
            os.remove(leftover)
    return index, kind, os.path.basename(source), description, outcomes


def fuzz(mutants, seed, jobs, kinds=("sidecar",), progress=True):
    """`mutants` of each of `kinds`; the report's tally is {kind: {cli: {outcome: count}}}."""
    sources = [(m, open(m, "rb").read()) for m in MODELS]
    tally = {kind: {name: {o: 0 for o in OUTCOMES} for name in CLIS} for kind in kinds}
    problems, disagreements = [], []
    start = time.time()
    total = mutants * len(kinds)
    with tempfile.TemporaryDirectory() as workdir, concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        # Mutants are damaged copies of a deployment: the fast-run cache their contracts name sits beside them.
        for model, _ in sources:
            cache = json.load(open(contract.path_for(model))).get("lite", {}).get("fast_run_cache")
            if cache and os.path.exists(os.path.join(os.path.dirname(model), cache)):
                shutil.copy(os.path.join(os.path.dirname(model), cache), os.path.join(workdir, cache))
        key_file = os.path.join(workdir, "model.key")
        with open(key_file, "wb") as f:
            f.write(os.urandom(model_encryption.KEY_BYTES))
        futures = [pool.submit(fuzz_one, i, kind, *sources[i % len(sources)], seed, workdir, key_file)
                   for kind in kinds for i in range(mutants)]
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            index, kind, model, description, outcomes = future.result()
            kinds_seen = {name: outcome for name, (outcome, _) in outcomes.items()}
            if len(set(kinds_seen.values())) > 1:
                disagreements.append({"mutant": index, "kind": kind, "model": model, "mutation": description,
                                      "outcomes": kinds_seen,
                                      "messages": {name: r.stderr.decode(errors="replace").strip()[-200:]
                                                   for name, (_, r) in outcomes.items() if r is not None}})
            for name, (outcome, result) in outcomes.items():
                tally[kind][name][outcome] += 1
                if outcome not in ("clean_error", "crash_caught", "valid_output"):
                    detail = "" if result is None else result.stderr.decode(errors="replace").strip()[-300:]
                    problems.append({"mutant": index, "kind": kind, "model": model, "mutation": description,
                                     "cli": name, "outcome": outcome,
                                     "returncode": None if result is None else result.returncode,
                                     "stderr_tail": detail})
            if progress and (done % 10 == 0 or done == total):
                print("%d/%d mutants, %.0f s: %s" % (done, total, time.time() - start, json.dumps(tally)),
                      file=sys.stderr, flush=True)
    return {"mutants": mutants, "kinds": list(kinds), "seed": seed, "timeout_s": TIMEOUT.value,
            "seconds": round(time.time() - start, 1), "tally": tally, "problems": problems,
            "disagreements": disagreements}


def bad_outcomes(report):
    return sum(t[o] for per_cli in report["tally"].values() for t in per_cli.values() for o in ("hang", "signal", "unclean"))


def main(argv):
    if len(argv) > 1:
        raise app.UsageError("unexpected arguments: " + " ".join(argv[1:]))
    unknown = sorted(set(KINDS.value) - set(MUTANT_KINDS))
    if unknown or not KINDS.value:
        raise app.UsageError("--kinds: %s (choose from %s)" % (", ".join(unknown) or "none given", ", ".join(MUTANT_KINDS)))
    report = fuzz(MUTANTS.value, SEED.value, JOBS.value, kinds=KINDS.value)
    print(json.dumps(report["tally"], indent=1))
    if OUTPUT.value:
        output = paths.user_path(OUTPUT.value)
        with open(output + ".tmp", "w") as f:
            json.dump(report, f, indent=1)
        os.replace(output + ".tmp", output)
        print("Wrote " + paths.shown(output))
    return 1 if bad_outcomes(report) else 0


if __name__ == "__main__":
    app.run(main)
