#!/usr/bin/env bash
# Re-resolves third_party/python/requirements.in into the hashed requirements.lock.
# Needs a CPython 3.10 (found by tools/find_python3_10.sh) and the package registry.
# Usage: tools/update_lock.sh             # keeps every pin of the current lock that still fits
#        tools/update_lock.sh --upgrade   # resolves everything anew (the newest that fits)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

python=$(tools/find_python3_10.sh) || exit 1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m venv "$work/venv"
cert=()
[[ -f /etc/ssl/certs/ca-certificates.crt ]] && cert=(--cert /etc/ssl/certs/ca-certificates.crt)
# The current pins as constraints: adding a package must not move the others (megengine breaks
# with newer numpy, opencv and setuptools; see requirements.in).
constraints=()
if [[ ${1:-} != --upgrade ]]; then
  grep -oE '^[A-Za-z0-9_.-]+==[^ ]+' third_party/python/requirements.lock >"$work/pins.txt" || true
  constraints=(-c "$work/pins.txt")
fi
"$work/venv/bin/python" -m pip --isolated --disable-pip-version-check "${cert[@]}" install --quiet --dry-run --ignore-installed \
  --report "$work/report.json" -r third_party/python/requirements.in "${constraints[@]}"
"$python" third_party/python/lock_from_report.py "$work/report.json" third_party/python/requirements.lock
echo "update_lock: wrote third_party/python/requirements.lock ($(grep -c -- --hash third_party/python/requirements.lock) packages)"
