"""Per-operator profiles of Lite and of ONNX Runtime, read into one shape: a list of operators in
execution order, each {"kind", "ms", "name"}, so that the two runtimes can be put side by side.

Lite's profile (`enable_profile_performance`, `--profile FILE` of //cc:benchmark) holds one run:
for each operator id the device kernel's start and end in seconds. ONNX Runtime's
(`SessionOptions.enable_profiling`) holds every run: one "Node" event per kernel, in microseconds.
Kinds are named alike for both ("conv 1x1", "conv depthwise 3x3", "elementwise", ...), from the
filter's shape, so that a convolution is the same kind whichever layout ran it.
"""
import collections

# Lite operator types and ONNX Runtime op names, by kind (convolutions are split by their filters).
_KINDS = {
    "elementwise": ("Elemwise", "ElemwiseMultiType", "TypeCvt", "Relu", "Clip", "Add", "Mul", "Min", "Max",
                    "Sigmoid"),
    "concat": ("Concat",),
    "slice": ("Subtensor", "Slice", "Split", "Gather"),
    "layout conversion": ("Dimshuffle", "Reshape", "Broadcast", "RelayoutFormat", "Transpose", "Flatten",
                          "ReorderInput", "ReorderOutput", "Reorder", "Squeeze", "Unsqueeze"),
    "pooling": ("Reduce", "PoolingForward", "AdaptivePoolingForward", "GlobalAveragePool", "ReduceMean",
                "AveragePool", "MaxPool"),
    "fully connected": ("MatrixMul", "Gemm", "MatMul"),
    "softmax": ("SoftmaxForward", "Softmax"),
}
_KIND_OF = {name: kind for kind, names in _KINDS.items() for name in names}
# Lite operators that do no work in a run (constants, the input copy, the output callback).
_LITE_SKIPPED = ("ImmutableTensor", "Host2DeviceCopy", "ComputingGraphImpl::CallbackCaller")


def _conv_kind(kh, kw, depthwise):
    return "conv %s%dx%d" % ("depthwise " if depthwise else "", kh, kw)


def lite_conv_kind(shape):
    """A Lite convolution's kind from its filter's shape (NCHW or NCHW88), or None if unknown."""
    if not shape:
        return None
    if len(shape) == 6 and shape[1:3] == [1, 1]:  # NCHW88 channel-wise: (G/8, 1, 1, FH, FW, 8)
        return _conv_kind(shape[3], shape[4], True)
    if len(shape) == 6:  # NCHW88 dense: (OC/8, IC/8, FH, FW, 8, 8)
        return _conv_kind(shape[2], shape[3], False)
    if len(shape) == 5 and shape[-1] == 8:  # NCHW input to NCHW88 output: (OC/8, FH, FW, IC, 8)
        return _conv_kind(shape[1], shape[2], False)
    if len(shape) == 5:  # NCHW grouped: (G, OC/G, IC/G, FH, FW)
        return _conv_kind(shape[-2], shape[-1], True)
    return _conv_kind(shape[-2], shape[-1], False)


def lite_ops(profile):
    """The operators of one Lite profile, in execution order. One of them is marked "stalled"
    when its time is not its own (see mark_stall)."""
    graph = profile["graph_exec"]
    ops = []
    for op_id, nodes in profile["profiler"]["device"].items():
        op = graph["operator"].get(op_id)
        if op is None or op["type"] in _LITE_SKIPPED:
            continue
        start = min(t["start"] for t in nodes.values())
        ms = sum((t["end"] - t["start"]) * 1e3 for t in nodes.values())
        kind = None
        if "Conv" in op["type"]:
            filters = [graph["var"].get(v, {}) for v in op["input"][1:2]]
            kind = lite_conv_kind(filters[0].get("mem_plan", {}).get("layout", {}).get("shape") if filters else None)
        ops.append((start, {"kind": kind or _KIND_OF.get(op["type"], op["type"]), "ms": ms, "name": op["name"]}))
    return mark_stall([op for _, op in sorted(ops, key=lambda pair: pair[0])])


def mark_stall(ops):
    """Marks the heaviest operator "stalled" when it takes over 3x the next heaviest. Measured: in
    every profiled run one early operator's kernel lasts ~9 ms (EfficientNet-Lite0: one of the
    stem's two Concats, which one varies between runs; ShuffleNetV2: the stem convolution) while
    no other operator takes more than 0.5 ms; a run with profiling on takes 48 ms against 10 ms
    without. Its time belongs to the profiler, not to the operator."""
    times = sorted((op["ms"] for op in ops), reverse=True)
    for op in ops:
        op["stalled"] = len(times) > 1 and op["ms"] == times[0] and times[0] > 3 * times[1]
    return ops


def _ort_kind(args):
    name = args["op_name"]
    if name in ("Conv", "FusedConv", "NchwcConv"):
        shapes = [next(iter(s.values())) for s in args["input_type_shape"]]
        data, weight = shapes[0], shapes[1]
        depthwise = weight[1] == 1 and data[1] > 1
        return _conv_kind(weight[2], weight[3], depthwise)
    return _KIND_OF.get(name, name)


def ort_ops(events, skip_runs=0):
    """The operators of an ONNX Runtime profile, in execution order, each op's median over the runs
    after the first `skip_runs`. A run is one "model_run" event; its kernels are the Node events
    inside it."""
    runs = sorted((e["ts"], e["ts"] + e["dur"]) for e in events if e.get("cat") == "Session"
                  and e.get("name") == "model_run")
    kernels = sorted((e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")),
                     key=lambda e: e["ts"])
    per_run = []
    for start, end in runs[skip_runs:]:
        per_run.append([e for e in kernels if start <= e["ts"] <= end])
    if not per_run or any(len(run) != len(per_run[0]) for run in per_run):
        raise ValueError("ONNX Runtime profile: runs with different kernels")
    ops = []
    for i, first in enumerate(per_run[0]):
        times = sorted(run[i]["dur"] / 1e3 for run in per_run)
        shapes = [next(iter(s.values())) for s in first["args"].get("input_type_shape", [])]
        ops.append({"kind": _ort_kind(first["args"]), "ms": times[len(times) // 2],
                    "name": first["name"][:-len("_kernel_time")], "input_shape": shapes[0] if shapes else None})
    return ops


def by_kind(ops):
    """{kind: total ms} over a list of operators, heaviest first."""
    totals = collections.Counter()
    for op in ops:
        totals[op["kind"]] += op["ms"]
    return dict(totals.most_common())


def convolutions(ops):
    """The convolutions of a list of operators, in order (the i-th is the same layer in both
    runtimes: each runs the graph's convolutions in the model's order)."""
    return [op for op in ops if op["kind"].startswith("conv")]
