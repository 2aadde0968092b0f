"""Helpers for the cross-runtime sh_tests.

  compare CC_JSON PY_JSON MODEL IMAGE CC_INPUT
      CC_JSON / PY_JSON: files with one --json line each from //cc:inference and //py:inference.
      Checks the same top-k indices, probabilities within PROBABILITY_TOLERANCE, and reports the
      max abs difference between C++'s input tensor (CC_INPUT, raw float32) and Python's.
  restamp MODEL
      Rewrites MODEL's contract to match MODEL's current bytes, so that a deliberately damaged
      model reaches Lite instead of being stopped by the contract check.
"""
import json
import sys

import numpy as np

from mgedeploy import contract, preprocess

# Both runtimes feed the same Lite build the same tensor; 1e-4 is the bound, and what we
# measure is far below it (the closing line prints it).
PROBABILITY_TOLERANCE = 1e-4
# OpenCV 4.6 (Debian, C++) and 4.9 (opencv-python) decode and resize our photos identically here:
# measured 0.0 max abs input difference on every testdata photo. A newer OpenCV that changes a
# rounding would move pixels by one grey level = 1/57.12 ~ 0.0175 after normalisation; we allow
# that much so the output comparison, not the pixels, decides.
INPUT_TOLERANCE = 1.0 / 57.0


def compare(cc_json, py_json, model, image, cc_input):
    cc = json.loads(open(cc_json).read())
    py = json.loads(open(py_json).read())
    info = json.load(open(contract.path_for(model)))
    py_input = preprocess.load(image, info["preprocess"]).ravel()
    cc_tensor = np.fromfile(cc_input, dtype=np.float32)
    if cc_tensor.shape != py_input.shape:
        print("FAIL: C++ input has %d values, Python %d" % (cc_tensor.size, py_input.size))
        return 1
    input_diff = float(np.abs(cc_tensor - py_input).max())
    cc_idx = [t["index"] for t in cc["top"]]
    py_idx = [t["index"] for t in py["top"]]
    prob_diff = max(abs(a["probability"] - b["probability"]) for a, b in zip(cc["top"], py["top"]))
    names_equal = [t["name"] for t in cc["top"]] == [t["name"] for t in py["top"]]
    print("%s on %s: top-%d C++ %s Python %s; max prob diff %.3g; max input diff %.3g"
          % (info["model"], image.split("/")[-1], len(cc_idx), cc_idx, py_idx, prob_diff, input_diff))
    ok = cc_idx == py_idx and names_equal and prob_diff <= PROBABILITY_TOLERANCE and input_diff <= INPUT_TOLERANCE
    if not ok:
        print("FAIL: runtimes disagree (tolerances: probability %g, input %g)" % (PROBABILITY_TOLERANCE, INPUT_TOLERANCE))
    return 0 if ok else 1


def restamp(model):
    path = contract.path_for(model)
    info = json.load(open(path))
    info["mge_file"] = {"size": len(open(model, "rb").read()), "sha256": contract.file_digest(model)}
    contract.write(info, path)
    return 0


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    sys.exit({"compare": compare, "restamp": restamp}[command](*args))
