"""The package's layout holds: no import cycle between mgedeploy's modules (imports inside
functions count too), the library never imports a program, and programs import no other program."""
import ast
import os
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


def imports(path, known):
    """The mgedeploy modules `path` imports (`from mgedeploy.x import y` counts y when y is a module)."""
    with open(path) as f:
        tree = ast.parse(f.read())
    found = set()
    for node in ast.walk(tree):
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


def test_top_level_import_is_empty():
    assert graph()["mgedeploy"] == set()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
