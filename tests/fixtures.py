"""Where the test photos and the test exports are, for every test (the one place their paths are
written). Each test still names the files it reads as Bazel data (//testdata targets)."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTDATA = os.path.join(ROOT, "testdata")
BAD = os.path.join(TESTDATA, "bad")
CAT = os.path.join(TESTDATA, "cat.jpg")
COFFEE = os.path.join(TESTDATA, "coffee.jpg")
# Exported at build time (testdata/BUILD.bazel): Lite0 with its packaged weights, ShuffleNetV2
# with seeded random ones (batch 1 and 8), the tiny model (no contract).
LITE0 = os.path.join(TESTDATA, "efficientnet_lite0.mge")
SNETV2 = os.path.join(TESTDATA, "snetv2_x100.mge")
SNETV2_B8 = os.path.join(TESTDATA, "snetv2_x100_b8.mge")
TINY = os.path.join(TESTDATA, "tiny.mge")
