"""The README and docs/ name only what exists: every `//package:target` is declared in that
package's BUILD file (or is a source file there), every repository path (py/..., cc/..., bench/...,
with {a,b} and * expanded) is in the tree, and the README's C++ example is cc/classifier_example.cc.

It reads the source tree the README's runfile points into (tagged external and local: it runs
every time, outside the sandbox, so a stale cached pass cannot hide a renamed file)."""
import glob
import itertools
import os
import re
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.realpath(os.path.join(HERE, "..", "README.md")))
DOCS = ["README.md"] + sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))
TARGET = re.compile(r"(?<![\w/:])//([A-Za-z0-9_/.-]*):([A-Za-z0-9_.+-]+)")
# Paths inside the repository, as docs write them; not after bazel-bin/ (outputs) or a URL.
PATH = re.compile(r"(?<![\w/.~-])((?:py|cc|bench|tests|tools|third_party|docs|testdata)/[A-Za-z0-9_./{},*+-]*[A-Za-z0-9_}*/])")
NAME = re.compile(r'name = "([^"]+)"')


def text(doc):
    with open(os.path.join(ROOT, doc)) as f:
        return f.read()


def declared(package):
    path = os.path.join(ROOT, package, "BUILD.bazel")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return set(NAME.findall(f.read()))


def expand(pattern):
    """`a.{h,cc}` -> a.h, a.cc (nested braces too)."""
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    return list(itertools.chain.from_iterable(
        expand(pattern[:match.start()] + choice + pattern[match.end():]) for choice in match.group(1).split(",")))


@pytest.mark.parametrize("doc", DOCS)
def test_every_target_exists(doc):
    missing = []
    for package, name in sorted(set(TARGET.findall(text(doc)))):
        names = declared(package)
        if name == "all" and names is not None:
            continue
        if names is None or (name not in names and not os.path.exists(os.path.join(ROOT, package, name))):
            missing.append("//%s:%s" % (package, name))
    assert not missing, "%s names targets that do not exist: %s" % (doc, ", ".join(missing))


@pytest.mark.parametrize("doc", DOCS)
def test_every_path_exists(doc):
    missing = []
    for path in sorted(set(PATH.findall(text(doc)))):
        for candidate in expand(path.rstrip(".")):
            if not glob.glob(os.path.join(ROOT, candidate)):
                missing.append(candidate)
    assert not missing, "%s names paths that do not exist: %s" % (doc, ", ".join(missing))


def test_the_readme_cpp_example_is_the_built_one():
    block = re.search(r"```cpp\n(.*?)```", text("README.md"), re.S).group(1)
    example = {line.strip() for line in text("cc/classifier_example.cc").splitlines()}
    assert [line for line in block.splitlines() if line.strip() not in example] == []


def test_the_readme_is_short():
    lines = len(text("README.md").splitlines())
    assert lines <= 220, "README.md has %d lines; engineering notes go to docs/ (limit 220)" % lines


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
