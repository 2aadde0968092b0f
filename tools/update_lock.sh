#!/usr/bin/env bash
# Re-resolves third_party/python/requirements.in into the hashed requirements.lock.
# Needs a CPython 3.10 ($PYTHON3_10, else python3.10 or pyenv's 3.10.x) and the package registry.
# Usage: tools/update_lock.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

python=${PYTHON3_10:-}
if [[ -z "$python" ]]; then
  for candidate in python3.10 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10*/bin/python3.10; do
    if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
      python=$candidate
      break
    fi
  done
fi
[[ -n "$python" ]] || { echo "update_lock: no CPython 3.10 found; set PYTHON3_10" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m venv "$work/venv"
cert=()
[[ -f /etc/ssl/certs/ca-certificates.crt ]] && cert=(--cert /etc/ssl/certs/ca-certificates.crt)
"$work/venv/bin/python" -m pip --isolated --disable-pip-version-check "${cert[@]}" install --quiet --dry-run --ignore-installed \
  --report "$work/report.json" -r third_party/python/requirements.in
"$python" third_party/python/lock_from_report.py "$work/report.json" third_party/python/requirements.lock
echo "update_lock: wrote third_party/python/requirements.lock ($(grep -c -- --hash third_party/python/requirements.lock) packages)"
