"""The package's layout holds: no import cycle between mgedeploy's modules (imports inside
functions count too), the library never imports a program, programs import no other program, the
BUILD file's libraries depend only on those above them, and every module of the library is used by
the product (not only by tests or bench/)."""
import ast
import os
import re
import sys

import pytest

PACKAGE = os.path.dirname(os.path.abspath(__file__))


def module_name(path):
    rel = os.path.relpath(path, os.path.dirname(PACKAGE))[:-3].replace(os.sep, ".")
    return rel[:-len(".__init__")] if rel.endswith(".__init__") else rel


def modules():
    found = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py") and not name.endswith("_test.py"):
                path = os.path.join(folder, name)
                found[module_name(path)] = path
    return found


def type_checking_only(tree):
    """The import nodes under `if TYPE_CHECKING:`: read by type checkers, never run."""
    blocks = [node for node in ast.walk(tree) if isinstance(node, ast.If) and isinstance(node.test, ast.Name)
              and node.test.id == "TYPE_CHECKING"]
    return {id(inner) for block in blocks for statement in block.body for inner in ast.walk(statement)}


def imports(path, known):
    """The mgedeploy modules `path` imports (`from mgedeploy.x import y` counts y when y is a module)."""
    with open(path) as f:
        tree = ast.parse(f.read())
    found = set()
    skipped = type_checking_only(tree)
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + ["%s.%s" % (node.module, alias.name) for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in known)
    return found


def graph():
    known = modules()
    edges = {name: imports(path, known) for name, path in known.items()}
    # A package's __init__ is imported on the way to any of its modules; ours are empty (but the
    # top one, which imports nothing), so the parent-package edges add nothing and are left out.
    return {name: {t for t in targets if t != name} for name, targets in edges.items()}


def test_no_import_cycles():
    edges = graph()
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                cycle = stack[stack.index(target):] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert len(edges) > 20


def test_programs_are_leaves():
    for name, targets in graph().items():
        programs = sorted(t for t in targets if t.startswith("mgedeploy.programs."))
        assert not programs, "%s imports the program(s) %s" % (name, programs)


BUILD = os.path.join(os.path.dirname(PACKAGE), "BUILD.bazel")
# Modules nothing imports because they are run: as a child process (the settings probe), by
# `python -m mgedeploy`.
RUN_AS_FILES = {"mgedeploy.lite.probe", "mgedeploy.__main__"}


def libraries():
    """py/BUILD.bazel's py_library targets, in file order, with their deps in this package."""
    with open(BUILD) as f:
        text = f.read()
    found = []
    for block in re.findall(r"^py_library\((.*?)^\)", text, re.S | re.M):
        name = re.search(r'name = "([^"]+)"', block).group(1)
        deps = re.search(r"deps = \[(.*?)\]", block, re.S)
        found.append((name, re.findall(r'"(:[^"]+)"', deps.group(1)) if deps else []))
    return found


def test_build_libraries_depend_only_on_those_above():
    seen = set()
    for name, deps in libraries():
        below = sorted(dep[1:] for dep in deps if dep[1:] not in seen)
        assert not below, "//py:%s depends on %s, which the BUILD file declares after it" % (name, below)
        seen.add(name)
    assert len(seen) >= 8


def test_every_library_module_is_used_by_the_product():
    edges = graph()
    used = set().union(*edges.values())
    entry = {name for name in edges if name.startswith("mgedeploy.programs.") or name.endswith("__init__")}
    unused = sorted(name for name in edges if name not in used and name not in entry and name != "mgedeploy"
                    and name not in RUN_AS_FILES and not name.startswith("mgedeploy.programs"))
    assert not unused, "modules only tests or bench/ use (move them there): %s" % unused


def test_top_level_import_is_empty():
    assert graph()["mgedeploy"] == set()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
