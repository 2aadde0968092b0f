#!/bin/sh
echo "bazel coverage is not supported in this repository (offline coverage stub)" >&2
exit 1
