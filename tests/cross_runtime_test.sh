#!/usr/bin/env bash
# For every model and every testdata photo, //cc:inference --json and //py:inference --json must
# give the same top-5 classes with probabilities within 1e-4 (tests/cross_runtime_tool.py states
# the tolerances), and C++'s input tensor is compared with Python's preprocessing.
# Usage: cross_runtime_test.sh CC_INFERENCE PY_INFERENCE TOOL MODEL... -- PHOTO...
set -euo pipefail

cc=$1 py=$2 tool=$3
shift 3
models=()
while [[ $1 != -- ]]; do models+=("$1"); shift; done
shift
photos=("$@")

work=${TEST_TMPDIR:-$(mktemp -d)}
checked=0 failed=0
for model in "${models[@]}"; do
  for photo in "${photos[@]}"; do
    "$cc" "$model" "$photo" --json --dump_input "$work/cc_input.bin" >"$work/cc.json" 2>"$work/cc.err"
    "$py" -m "$model" -i "$photo" --json >"$work/py.json" 2>"$work/py.err"
    if "$tool" compare "$work/cc.json" "$work/py.json" "$model" "$photo" "$work/cc_input.bin"; then
      checked=$((checked + 1))
    else
      failed=$((failed + 1))
    fi
  done
done
echo "$checked passed, $failed failed"
[[ $failed -eq 0 && $checked -eq $(( ${#models[@]} * ${#photos[@]} )) ]]
