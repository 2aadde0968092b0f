#!/usr/bin/env bash
# The bundle works where Bazel is not: copied to a temporary directory, run with an empty
# environment (env -i) from another working directory, it prints exactly what //cc:inference and
# //cc:softmax_check print, loads Lite from its own lib/, and no RPATH/RUNPATH points outside it.
# Its model is one packed file: the records equal //cc:inference's on the sidecar export of the same
# model (all but the "model" path). An encrypted model runs in the bundle with its key file.
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

# 3. Same answers as the programs Bazel built, byte for byte, run with an empty environment: the
# bundle's packed model answers what the sidecar export (.mge + .json) answers.
model="$copy/models/efficientnet_lite0.mge"
[[ $(ls "$copy/models") == efficientnet_lite0.mge ]] || fail "models/ holds more than the one packed file: $(ls "$copy/models")"
without_model() { sed -E 's/^\{"model": "[^"]*", /{/'; }
images=(-i "$copy/samples/cat.jpg" -i "$coffee")
expected=$("$inference" testdata/efficientnet_lite0.mge "${images[@]}" --json | without_model)
actual=$(cd "$work/cwd" && env -i "$copy/bin/inference" "$model" "${images[@]}" --json | without_model)
[[ $actual == "$expected" ]] || fail "bundle inference differs:"$'\n'"$actual"$'\n'"expected:"$'\n'"$expected"
grep -q '"probability"' <<<"$actual" || fail "no classification in: $actual"

# An encrypted model in the bundle's programs: with its key (libcrypto from the system), the plain
# model's records; without it, one line and exit 1.
encrypted=$(realpath testdata/encrypted/digits.mge) key=$(realpath testdata/keys/test_model.key)
expected=$("$inference" testdata/repository/digits/1/model.mge "${images[@]}" --json | without_model)
actual=$(cd "$work/cwd" && env -i MEGDEPLOY_MODEL_KEY_FILE="$key" "$copy/bin/inference" "$encrypted" "${images[@]}" --json | without_model)
[[ $actual == "$expected" ]] || fail "bundle inference of the encrypted model differs:"$'\n'"$actual"$'\n'"expected:"$'\n'"$expected"
status=0
refused=$(cd "$work/cwd" && env -i "$copy/bin/inference" "$encrypted" "${images[@]}" 2>&1 >/dev/null) || status=$?
[[ $status == 1 && $(wc -l <<<"$refused") == 1 && $refused == *"the model is encrypted: give its key"* ]] ||
  fail "without its key, the encrypted model gave exit $status: $refused"

expected=$("$softmax_check" "$model")
actual=$(cd "$work/cwd" && env -i "$copy/bin/softmax_check" "$model")
[[ $actual == "$expected" ]] || fail "bundle softmax_check differs: $actual vs $expected"

# 4. The README's first command, as written in BUNDLE.txt, from the bundle's own folder.
try=$(sed -n 's/^Try it: *//p' "$copy/BUNDLE.txt")
[[ -n $try ]] || fail "BUNDLE.txt has no 'Try it' line"
(cd "$copy" && env -i $try) | grep -q . || fail "'$try' printed nothing"
echo "PASS: bundle copied to $copy runs with env -i and matches //cc:inference"
