#!/usr/bin/env bash
# The bundle works where Bazel is not: copied to a temporary directory, run with an empty
# environment (env -i) from another working directory, it prints exactly what //cc:inference and
# //cc:softmax_check print, loads Lite from its own lib/, and no RPATH/RUNPATH points outside it.
# Usage: inference_bundle_test.sh BUNDLE_DIR INFERENCE SOFTMAX_CHECK
set -euo pipefail

bundle=$(cd "$1" && pwd) inference=$(realpath "$2") softmax_check=$(realpath "$3")
coffee=$(realpath testdata/coffee.jpg)
work=$(mktemp -d "${TEST_TMPDIR:-/tmp}/bundle_test.XXXXXX")
trap 'rm -rf "$work"' EXIT  # 1.6 GB: never left behind
fail() { echo "FAIL: $*" >&2; exit 1; }

copy="$work/elsewhere/megdeploy"
mkdir -p "$(dirname "$copy")" "$work/cwd"
cp -rL "$bundle" "$copy"  # a real copy (runfiles are symlinks into the build tree)

# 1. Only $ORIGIN-relative search paths, in the programs and in the libraries.
for elf in "$copy"/bin/* "$copy"/lib/*; do
  while read -r path; do
    [[ $path == '$ORIGIN'* ]] || fail "$(basename "$elf") has a search path outside the bundle: $path"
  done < <(readelf -d "$elf" | sed -nE 's/.*\((RPATH|RUNPATH)\).*\[(.*)\]/\2/p' | tr ':' '\n')
done
for program in "$copy"/bin/*; do
  readelf -d "$program" | grep -q '(RUNPATH).*\[\$ORIGIN/../lib\]' ||
    fail "$(basename "$program") has no RUNPATH \$ORIGIN/../lib"
done

# 2. Lite is loaded from the copy, not from the venv or the build tree.
loaded=$(cd "$work/cwd" && env -i LD_TRACE_LOADED_OBJECTS=1 "$copy/bin/inference")
for so in liblite_shared_whl.so libmegengine_shared.so; do
  grep -qE "^\s*$so => $copy/bin/../lib/$so " <<<"$loaded" ||
    fail "$so not loaded from the bundle: $(grep "$so" <<<"$loaded")"
done

# 3. Same answers as the programs Bazel built, byte for byte, run with an empty environment.
model="$copy/models/efficientnet_lite0.mge"
images=(-i "$copy/samples/cat.jpg" -i "$coffee")
expected=$("$inference" "$model" "${images[@]}" --json)
actual=$(cd "$work/cwd" && env -i "$copy/bin/inference" "$model" "${images[@]}" --json)
[[ $actual == "$expected" ]] || fail "bundle inference differs:"$'\n'"$actual"$'\n'"expected:"$'\n'"$expected"
grep -q '"probability"' <<<"$actual" || fail "no classification in: $actual"

expected=$("$softmax_check" "$model")
actual=$(cd "$work/cwd" && env -i "$copy/bin/softmax_check" "$model")
[[ $actual == "$expected" ]] || fail "bundle softmax_check differs: $actual vs $expected"

# 4. The README's first command, as written in BUNDLE.txt, from the bundle's own folder.
try=$(sed -n 's/^Try it: *//p' "$copy/BUNDLE.txt")
[[ -n $try ]] || fail "BUNDLE.txt has no 'Try it' line"
(cd "$copy" && env -i $try) | grep -q . || fail "'$try' printed nothing"
echo "PASS: bundle copied to $copy runs with env -i and matches //cc:inference"
