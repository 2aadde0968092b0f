"""Summarises a Lite per-op profile (`--profile FILE` of //cc:benchmark or //py:benchmark, made by
`enable_profile_performance`): time per operator type, and the heaviest operators, as Markdown.

The profile holds one timed run: for each operator id, the device kernel's start and end (seconds).
For convolutions it also separates 1x1, depthwise and other kernels, where the time usually goes.

Usage: bazel run //bench:profile_summary -- PROFILE.json [--top 10]
"""
import collections
import json
import sys

from absl import app, flags

TOP = flags.DEFINE_integer("top", 10, "How many single operators to list.", lower_bound=0)


def conv_kind(op, graph):
    """'conv 1x1', 'conv depthwise kxk' or 'conv kxk' from the filter's shape (NCHW or NCHW88)."""
    filters = [graph["var"].get(v, {}) for v in op["input"][1:2]]
    shape = filters[0].get("mem_plan", {}).get("layout", {}).get("shape") if filters else None
    if not shape:
        return op["type"]
    if len(shape) == 6 and shape[1:3] == [1, 1]:  # NCHW88 channel-wise: (G/8, 1, 1, FH, FW, 8)
        return "%s depthwise %dx%d" % (op["type"], shape[3], shape[4])
    if len(shape) == 6:  # NCHW88 dense: (OC/8, IC/8, FH, FW, 8, 8)
        return "%s %dx%d" % (op["type"], shape[2], shape[3])
    if len(shape) == 5 and shape[-1] == 8:  # NCHW input to NCHW88 output: (OC/8, FH, FW, IC, 8)
        return "%s %dx%d" % (op["type"], shape[1], shape[2])
    if len(shape) == 5:  # NCHW grouped: (G, OC/G, IC/G, FH, FW)
        return "%s depthwise %dx%d" % (op["type"], shape[-2], shape[-1])
    return "%s %dx%d" % (op["type"], shape[-2], shape[-1])


def summarise(profile):
    graph = profile["graph_exec"]
    device = profile["profiler"]["device"]
    by_kind, single = collections.Counter(), []
    for op_id, nodes in device.items():
        op = graph["operator"].get(op_id)
        if op is None:
            continue
        ms = sum((t["end"] - t["start"]) * 1e3 for t in nodes.values())
        kind = conv_kind(op, graph) if "Conv" in op["type"] else op["type"]
        by_kind[kind] += ms
        single.append((ms, kind, op["name"]))
    return by_kind, sorted(single, reverse=True)


def main(argv):
    if len(argv) != 2:
        raise app.UsageError("give one profile JSON file")
    try:
        with open(argv[1]) as f:
            profile = json.load(f)
        by_kind, single = summarise(profile)
    except (OSError, ValueError, KeyError) as e:
        print("profile_summary: %s: not a readable Lite profile (%s)" % (argv[1], e), file=sys.stderr)
        return 1
    total = sum(by_kind.values())
    print("| operator kind | ms | share |\n| --- | --- | --- |")
    for kind, ms in by_kind.most_common():
        print("| %s | %.2f | %.1f %% |" % (kind, ms, 100 * ms / total))
    print("| total (one run, kernels only) | %.2f | |" % total)
    if TOP.value:
        print("\n| heaviest operators | ms |\n| --- | --- |")
        for ms, kind, name in single[:TOP.value]:
            print("| %s (%s) | %.3f |" % (name[:60], kind, ms))
    return 0


if __name__ == "__main__":
    app.run(main)
