"""The project's version: the C++ programs get it from here (cc/BUILD.bazel); Python's
py/mgedeploy/__init__.py repeats it, and //tests:version_test checks that both say the same."""

VERSION = "0.5.0"
