"""Where Lite's time goes next to ONNX Runtime's: per-operator profiles of Lite (NCHW88, and NCHW +
fast-run) and of ONNX Runtime on each model, side by side by operator kind and by convolution layer.

Lite's profile holds one run and profiling slows every operator, so each Lite configuration is
profiled in `--lite_runs` separate processes and each operator's median is kept; ONNX Runtime's
profile holds every run and each kernel's median over `--ort_runs` runs is kept. The i-th
convolution is the same layer in every column (both runtimes run the graph's convolutions in the
model's order; checked by their kinds). One Lite operator per run takes ~9 ms that belong to the
profiler (op_profile.py): it is listed, and left out of the totals and the layer table.

Writes profile_<model>.json and .md into --output_dir.

Usage: bazel run //bench:profile_compare -- [--models efficientnet_lite0,snetv2_x100] [--lite_runs 3]
         [--ort_runs 50] [--output_dir bench/results]
"""
import json
import os
import statistics
import sys
import tempfile

from absl import app, flags

from mgedeploy.cli import quiet

quiet.import_megengine()

import numpy as np  # noqa: E402

from mgedeploy import contract  # noqa: E402
from mgedeploy.cli import paths  # noqa: E402
from mgedeploy.peers import onnx_session  # noqa: E402
from bench import machine, op_profile, results_io  # noqa: E402

MODELS = flags.DEFINE_list("models", ["efficientnet_lite0", "snetv2_x100"], "Models (in testdata/).")
LITE_RUNS = flags.DEFINE_integer("lite_runs", 3, "Profiled Lite processes per configuration.", lower_bound=1)
ORT_RUNS = flags.DEFINE_integer("ort_runs", 50, "Profiled ONNX Runtime runs (after 10 untimed).", lower_bound=1)
OUTPUT_DIR = flags.DEFINE_string("output_dir", None, results_io.OUTPUT_DIR_HELP)

CC_BENCHMARK = os.path.join(paths.REPO_ROOT, "cc", "benchmark")
BASE = ["--lite_options", "default", "--weight_preprocess"]
LITE_CONFIGS = {"Lite NCHW88": BASE + ["--nchw88"], "Lite NCHW + fast-run": BASE + ["--fast_run_cache", "{cache}"]}
ORT = "ONNX Runtime"
TIMEOUT_S = 900


def median_ops(profiles):
    """Operator-wise medians of several profiles of the same configuration (a stall that moved
    between operators from run to run is gone from the medians; one that stayed is marked again)."""
    if any(len(p) != len(profiles[0]) for p in profiles):
        raise ValueError("Lite profiles of one configuration differ in their operators")
    return op_profile.mark_stall([dict(ops[0], ms=statistics.median(op["ms"] for op in ops)) for ops in zip(*profiles)])


def profile_lite(model_path, flags_, tmp):
    profiles = []
    for i in range(LITE_RUNS.value):
        path = os.path.join(tmp, "lite%d.json" % i)
        command = [CC_BENCHMARK, model_path, "--iters", "3", "--json", "--profile", path] + flags_
        _, what = results_io.run_json(command, TIMEOUT_S)
        if what != "ok":
            raise RuntimeError("%s: %s" % (" ".join(command), what))
        with open(path) as f:
            profiles.append(op_profile.lite_ops(json.load(f)))
    return median_ops(profiles)


def profile_ort(model_path, tmp):
    info = contract.read(model_path)
    options = onnx_session.options(1)
    options.enable_profiling = True
    options.profile_file_prefix = os.path.join(tmp, "ort")
    session = onnx_session.session(onnx_session.serialized_graph(info), 1, options)
    data = np.random.default_rng(0).uniform(-1, 1, size=info["input"]["shape"]).astype(np.float32)
    skipped = 10
    for _ in range(skipped + ORT_RUNS.value):
        session.run(None, {info["input"]["name"]: data})
    with open(session.end_profiling()) as f:
        return op_profile.ort_ops(json.load(f), skip_runs=skipped)


def compare(model):
    model_path = os.path.join(paths.REPO_ROOT, "testdata", model + ".mge")
    columns = {}
    with tempfile.TemporaryDirectory() as tmp:
        cache = os.path.join(tmp, "fastrun")
        for name, flags_ in LITE_CONFIGS.items():
            print("%s: profiling %s (%d processes)..." % (model, name, LITE_RUNS.value), file=sys.stderr, flush=True)
            columns[name] = profile_lite(model_path, [f.format(cache=cache) for f in flags_], tmp)
        print("%s: profiling %s (%d runs)..." % (model, ORT, ORT_RUNS.value), file=sys.stderr, flush=True)
        columns[ORT] = profile_ort(model_path, tmp)
    convs = {name: op_profile.convolutions(ops) for name, ops in columns.items()}
    # A stalled Lite convolution (ShuffleNetV2's stem) leaves ORT's same layer out of the totals too,
    # so that both sides count the same work. Both runtimes run the stem first.
    for name, c in convs.items():
        for i, op in enumerate(c):
            if op.get("stalled") and i < len(convs[ORT]) and convs[ORT][i]["kind"] == op["kind"]:
                convs[ORT][i]["stalled"] = True
    artifacts = {name: [op for op in ops if op.get("stalled")] for name, ops in columns.items()}
    counted = {name: [op for op in ops if not op.get("stalled")] for name, ops in columns.items()}
    kinds = {tuple(op["kind"] for op in c) for c in convs.values()}
    layers = []
    if len(kinds) == 1:  # the same convolutions in the same order in every column
        for i, ort_op in enumerate(convs[ORT]):
            layers.append({"layer": i, "kind": ort_op["kind"], "input_shape": ort_op["input_shape"],
                           **{name: None if c[i].get("stalled") else c[i]["ms"] for name, c in convs.items()}})
    return {"model": model, "kinds": {name: op_profile.by_kind(ops) for name, ops in counted.items()},
            "totals_ms": {name: sum(op["ms"] for op in ops) for name, ops in counted.items()},
            "stalled": artifacts,
            "conv_layers": layers, "columns": list(columns)}


def markdown(report, cpu):
    names = report["columns"]
    lites = [n for n in names if n != ORT]
    lines = ["# Per-operator profile: %s (%s, 1 thread)" % (report["model"], cpu), "",
             "Lite: median of %d profiled processes per operator; ONNX Runtime: median of %d runs. Profiling "
             "slows Lite's operators, so compare shares and ratios, not absolute times with //bench:compare." %
             (report["lite_runs"], report["ort_runs"]), "",
             "| operator kind | " + " | ".join("%s ms (share)" % n for n in names) + " | " +
             " | ".join("%s / ORT" % n[len("Lite "):] for n in lites) + " |",
             "| --- |" + " --- |" * (len(names) + len(lites))]
    kinds = sorted({k for n in names for k in report["kinds"][n]}, key=lambda k: -report["kinds"][names[0]].get(k, 0))
    for kind in kinds:
        cells = []
        for n in names:
            ms = report["kinds"][n].get(kind, 0.0)
            cells.append("%.3f (%.0f %%)" % (ms, 100 * ms / report["totals_ms"][n]))
        ort = report["kinds"][ORT].get(kind, 0.0)
        ratios = ["%.2fx" % (report["kinds"][n].get(kind, 0.0) / ort) if ort else "-" for n in lites]
        lines.append("| %s | %s | %s |" % (kind, " | ".join(cells), " | ".join(ratios)))
    totals = report["totals_ms"]
    lines.append("| total | %s | %s |" % (" | ".join("%.3f" % totals[n] for n in names),
                                         " | ".join("%.2fx" % (totals[n] / totals[ORT]) for n in lites)))
    lines.append("")
    lines.append("Left out of the totals (Lite's profiler stall, op_profile.py, and ORT's same layer): "
                 + "; ".join("%s `%s` %.3f ms" % (n, op["name"][:50], op["ms"])
                             for n, ops in report["stalled"].items() for op in ops))
    if not report["conv_layers"]:
        lines += ["", "No layer table: the runtimes run this graph's convolutions in different orders (its "
                  "branches), so the i-th is not the same layer in both."]
    else:
        lines += ["", "| conv layer | kind | input | " + " | ".join("%s ms" % n for n in names) + " | NCHW88 / ORT |",
                  "| --- | --- | --- |" + " --- |" * (len(names) + 1)]
        for layer in report["conv_layers"]:
            ratio = "%.2fx" % (layer[names[0]] / layer[ORT]) if layer[names[0]] is not None and layer[ORT] else "-"
            lines.append("| %d | %s | %s | %s | %s |" % (
                layer["layer"], layer["kind"], "x".join(map(str, layer["input_shape"][1:])),
                " | ".join("-" if layer[n] is None else "%.3f" % layer[n] for n in names), ratio))
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) > 1:
        raise app.UsageError("unexpected arguments: " + " ".join(argv[1:]))
    directory = results_io.output_dir(OUTPUT_DIR.value)
    described = machine.describe()  # measures SGEMM: once
    for model in MODELS.value:
        report = compare(model)
        report.update(machine=described, lite_runs=LITE_RUNS.value, ort_runs=ORT_RUNS.value)
        table = markdown(report, described["cpu"])
        results_io.save(directory, "profile_" + model, report, table)
        print(table)
    return 0


if __name__ == "__main__":
    app.run(main)
