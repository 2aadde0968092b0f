#!/usr/bin/env bash
# The C++ programs and the Python package must run the same Lite library: both print its version,
# and the two must agree (and be the wheel's 1.13.x).
# Usage: same_lite_library_test.sh CC_LITE_VERSION PY_LITE_VERSION
set -euo pipefail

cc_version=$("$1")
py_version=$("$2" 2>/dev/null)
echo "C++ links Lite ${cc_version}; Python loads Lite ${py_version}"
if [[ "$cc_version" != "$py_version" ]]; then
  echo "FAIL: the C++ and Python Lite libraries differ" >&2
  exit 1
fi
if [[ "$cc_version" != 1.13.* ]]; then
  echo "FAIL: expected Lite 1.13.x (megengine 1.13.0 wheel), got ${cc_version}" >&2
  exit 1
fi
