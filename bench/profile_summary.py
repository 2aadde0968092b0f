"""Summarises a Lite per-op profile (`--profile FILE` of //cc:benchmark or //py:benchmark, made by
`enable_profile_performance`): time per operator type, and the heaviest operators, as Markdown.

The profile holds one timed run: for each operator id, the device kernel's start and end (seconds).
For convolutions it also separates 1x1, depthwise and other kernels, where the time usually goes
(op_profile.py; //bench:profile_compare puts Lite beside ONNX Runtime).

Usage: bazel run //bench:profile_summary -- PROFILE.json [--top 10]
"""
import collections
import json
import sys

from absl import app, flags

from bench import op_profile

TOP = flags.DEFINE_integer("top", 10, "How many single operators to list.", lower_bound=0)


def summarise(profile):
    ops = op_profile.lite_ops(profile)
    by_kind = collections.Counter(op_profile.by_kind(ops))
    single = sorted(((op["ms"], op["kind"], op["name"]) for op in ops), reverse=True)
    return by_kind, single


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
