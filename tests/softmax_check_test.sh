#!/usr/bin/env bash
# softmax_check must pass (output sums to 1 within 1e-4) on every model given, at 1 and 2 threads.
# Usage: softmax_check_test.sh SOFTMAX_CHECK MODEL...
set -euo pipefail
check=$1
shift
for model in "$@"; do
  for threads in 1 2; do
    out=$("$check" "$model" --threads "$threads")
    echo "$model, $threads thread(s): $(echo $out)"
    grep -q '^SUM = 1\.0000\|^SUM = 0\.9999' <<<"$out"
  done
done
