"""Writes the tiny smoke model and its expected output on sample_input().

Usage: make_tiny_model --output tiny.mge --expected tiny_expected.txt
The expected file holds one float per line: softmax(net(sample_input())) from eager MegEngine.
"""
import os

from absl import app, flags

from mgedeploy import quiet

quiet.import_megengine()

from mgedeploy import tiny_model  # noqa: E402

FLAGS = flags.DEFINE_string("output", None, "Where to write the dumped .mge model.")
EXPECTED = flags.DEFINE_string("expected", None, "Where to write the eager output, one float a line.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError("unexpected arguments: " + " ".join(argv[1:]))
    net = tiny_model.build()
    tiny_model.dump(net, FLAGS.value)
    probs = tiny_model.eager_softmax(net, tiny_model.sample_input()).ravel()
    tmp = EXPECTED.value + ".tmp"
    with open(tmp, "w") as f:
        f.write("".join("%.9g\n" % p for p in probs))
    os.replace(tmp, EXPECTED.value)
    return 0


if __name__ == "__main__":
    flags.mark_flags_as_required(["output", "expected"])
    app.run(main)
