#!/usr/bin/env bash
# Prints the real path of a CPython 3.10 interpreter (megengine 1.13 ships cp310 wheels only), or
# says on stderr what it tried and exits 1. The one search, used by the venv's repository rule
# (third_party/python/python_venv.bzl) and by .ci/run (which resolves it before it replaces HOME).
# Order: $PYTHON3_10, python3.10 on PATH, pyenv's 3.10.x ($PYENV_ROOT, then ~/.pyenv), /usr{/local,}/bin.
set -uo pipefail

real_310() {  # prints the interpreter's sys.executable if $1 runs and is CPython 3.10
  local out
  out=$("$1" -c 'import platform, sys
if platform.python_implementation() == "CPython" and sys.version_info[:2] == (3, 10): print(sys.executable)' 2>/dev/null) &&
    [[ -n $out ]] && printf '%s\n' "$out"
}

if [[ -n ${PYTHON3_10:-} ]]; then
  real_310 "$PYTHON3_10" && exit 0
  echo "\$PYTHON3_10=$PYTHON3_10 is not a working CPython 3.10 interpreter." >&2
  exit 1
fi

candidates=()
on_path=$(command -v python3.10) && candidates+=("$on_path")
for root in ${PYENV_ROOT:+"$PYENV_ROOT"} ${HOME:+"$HOME/.pyenv"}; do
  for dir in $(ls -d "$root"/versions/3.10* 2>/dev/null | sort -rV); do
    candidates+=("$dir/bin/python3.10")
  done
done
candidates+=(/usr/local/bin/python3.10 /usr/bin/python3.10)

tried=()
for candidate in "${candidates[@]}"; do
  [[ -e $candidate ]] || continue
  tried+=("$candidate")
  real_310 "$candidate" && exit 0
done
((${#tried[@]})) || tried=("python3.10 on PATH, pyenv's versions/3.10*, /usr{/local,}/bin/python3.10 (none present)")
echo "No CPython 3.10 found (megengine 1.13 ships cp310 wheels only). Tried: \$PYTHON3_10 (unset), ${tried[*]}." \
  "Install one (e.g. \`pyenv install 3.10\`) or set PYTHON3_10=/path/to/python3.10." >&2
exit 1
