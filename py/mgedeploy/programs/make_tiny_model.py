"""Writes the tiny smoke model and its expected output on sample_input().

Usage: make_tiny_model --output tiny.mge --expected tiny_expected.txt
The expected file holds one float per line: softmax(net(sample_input())) from eager MegEngine.
"""
import os

from mgedeploy.cli import program

program.prepare(__name__)

from absl import flags  # noqa: E402

from mgedeploy.cli import usage  # noqa: E402
from mgedeploy.models import tiny as tiny_model  # noqa: E402

OUTPUT = flags.DEFINE_string("output", None, "Where to write the dumped .mge model.")
EXPECTED = flags.DEFINE_string("expected", None, "Where to write the eager output, one float a line.")


def main(argv):
    if len(argv) > 1:
        raise usage.UsageError("unexpected arguments: " + " ".join(argv[1:]))
    if not OUTPUT.value or not EXPECTED.value:
        raise usage.UsageError("--output and --expected are required")
    net = tiny_model.build()
    tiny_model.dump(net, OUTPUT.value)
    probs = tiny_model.eager_softmax(net, tiny_model.sample_input()).ravel()
    tmp = EXPECTED.value + ".tmp"
    with open(tmp, "w") as f:
        f.write("".join("%.9g\n" % p for p in probs))
    os.replace(tmp, EXPECTED.value)
    return 0


if __name__ == "__main__":
    program.run(main, "make_tiny_model")
