#!/usr/bin/env bash
# Bad input to //cc:inference and //cc:softmax_check: each case must end with the expected exit
# status (2 for bad arguments, 1 for a bad model or image), stderr holding the expected words, and
# — for everything but usage errors — exactly one line. A death by signal (status > 128) fails.
# Usage: cc_errors_test.sh INFERENCE SOFTMAX_CHECK TOOL MODEL PHOTO
set -uo pipefail

inference=$1 softmax_check=$2 tool=$3 model=$4 photo=$5
work=${TEST_TMPDIR:-$(mktemp -d)}
passed=0 failed=0

# expect STATUS WORDS ONE_LINE(yes|no) -- COMMAND...
expect() {
  local want=$1 words=$2 one_line=$3
  shift 4
  "$@" >"$work/out" 2>"$work/err"
  local status=$? lines
  lines=$(grep -c . "$work/err")
  if [[ $status -ne $want ]] || { [[ -n $words ]] && ! grep -qF -- "$words" "$work/err"; } || [[ $one_line == yes && $lines -ne 1 ]]; then
    echo "FAIL: $* -> exit $status, $lines stderr line(s), wanted exit $want with '$words':"
    sed 's/^/    /' "$work/err"
    failed=$((failed + 1))
  else
    echo "ok: exit $status: $(head -n 1 "$work/err" | sed "s|$work|TMP|g")"
    passed=$((passed + 1))
  fi
}

# A copy of the model and its contract, to damage.
damaged() {
  cp "$model" "$work/$1.mge" && cp "$model.json" "$work/$1.mge.json" && chmod u+w "$work/$1".mge*
  echo "$work/$1.mge"
}

expect 2 "no model given" no -- "$inference"
expect 2 "unknown flag --bogus" no -- "$inference" "$model" --bogus
expect 2 "--topk must be a positive integer" no -- "$inference" "$model" --topk 0
expect 2 "--threads must be a positive integer" no -- "$inference" "$model" --threads -1
expect 2 "--topk 2000 is more than the model's 1000 classes" no -- "$inference" "$model" --topk 2000
expect 1 "$work/missing.mge: cannot open model: model file not found" yes -- "$inference" "$work/missing.mge" "$photo"
expect 1 "$work: is a directory" yes -- "$inference" "$work" "$photo"

m=$(damaged empty); : >"$m"
expect 1 "$m: model file is empty" yes -- "$inference" "$m" "$photo"

m=$(damaged truncated); truncate -s 1000000 "$m"
expect 1 "does not match its contract" yes -- "$inference" "$m" "$photo"

m=$(damaged nocontract); rm "$m.json"
expect 1 "no model contract next to the model" yes -- "$inference" "$m" "$photo"

# With a contract re-stamped to the damaged bytes, the file reaches Lite, which must refuse it.
m=$(damaged random); head -c 100000 /dev/urandom >"$m"; "$tool" restamp "$m"
expect 1 "$m: Lite cannot load the model" yes -- "$inference" "$m" "$photo"
m=$(damaged cut); truncate -s 9000000 "$m"; "$tool" restamp "$m"
expect 1 "$m: Lite cannot load the model" yes -- "$inference" "$m" "$photo"

expect 1 "$work/missing.jpg: cannot read image" yes -- "$inference" "$model" "$work/missing.jpg"
echo "this is text" >"$work/text.jpg"
expect 1 "$work/text.jpg: not an image OpenCV can decode" yes -- "$inference" "$model" "$work/text.jpg"
: >"$work/empty.png"
expect 1 "$work/empty.png: cannot read image: the file is empty" yes -- "$inference" "$model" "$work/empty.png"
head -c 20000 "$photo" >"$work/truncated.jpg"
# libjpeg decodes a truncated JPEG with a grey bottom: it must classify it, not crash.
expect 0 "" no -- "$inference" "$model" "$work/truncated.jpg"

expect 2 "no model given" no -- "$softmax_check"
expect 2 "--threads needs a positive integer" no -- "$softmax_check" "$model" --threads 0
m=$(damaged sm_random); head -c 100000 /dev/urandom >"$m"
expect 1 "$m: Lite cannot load the model" yes -- "$softmax_check" "$m"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
