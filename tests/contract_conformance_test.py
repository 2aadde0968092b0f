"""One conformance table, two contract readers: every case in testdata/contracts/cases.json is
written to a file and read by the Python reader (mgedeploy.contract.load) and the C++ one
(//cc:contract_check, i.e. megdeploy::LoadContract). Each must give the verdict the table states,
and for invalid contracts exactly `<file>: <reason>`, so the two agree word for word.

The same cases as packed contracts (export --pack: the contract is the info section's extra_info):
each case whose file is a JSON object is packed with a small graph, its mge_file stamped for that
graph unless the case is about mge_file, and read by packed_model.read and megdeploy::ReadPacked:
the verdict is the table's, as `<model> (its packed contract): <reason>`. A packed contract stamped
for another graph adds one case of its own (the parts do not belong together)."""
import copy
import hashlib
import json
import os
import subprocess

import pytest

from mgedeploy import contract, model_files, packed_model
from tests import testing

CASES_FILE = os.path.join(testing.TESTDATA, "contracts", "cases.json")
CONTRACT_CHECK = os.path.join(testing.ROOT, "cc", "contract_check")


def load_cases():
    with open(CASES_FILE) as f:
        table = json.load(f)
    return table["base"], table["cases"]


def materialise(base, case):
    """The case's file content: `text`, or the base with `set` and `delete` applied (dotted paths)."""
    if "text" in case:
        return case["text"]
    info = copy.deepcopy(base)
    for path, value in case.get("set", {}).items():
        *parents, key = path.split(".")
        node = info
        for parent in parents:
            node = node[parent]
        node[key] = value
    for path in case.get("delete", []):
        *parents, key = path.split(".")
        node = info
        for parent in parents:
            node = node[parent]
        del node[key]
    return json.dumps(info)


def python_verdict(path):
    try:
        contract.load(path)
        return "valid"
    except contract.ContractError as e:
        return str(e)


def test_table_is_big_enough():
    _, cases = load_cases()
    assert len(cases) >= 15 and sum(not c["valid"] for c in cases) >= 10


def test_both_readers_follow_the_table(tmp_path):
    base, cases = load_cases()
    files, expected = [], []
    for i, case in enumerate(cases):
        path = str(tmp_path / ("case%02d.mge.json" % i))
        with open(path, "w") as f:
            f.write(materialise(base, case))
        files.append(path)
        expected.append("valid" if case["valid"] else "%s: %s" % (path, case["reason"]))
    cc = subprocess.run([CONTRACT_CHECK, *files], capture_output=True, text=True, timeout=60)
    assert cc.returncode == 0, cc.stderr
    cc_verdicts = cc.stdout.splitlines()
    rows, failures = [], []
    for case, path, want, cc_verdict in zip(cases, files, expected, cc_verdicts):
        py_verdict = python_verdict(path)
        rows.append("| %s | %s | %s |" % (case["name"], "valid" if case["valid"] else case["reason"],
                                          "same" if py_verdict == cc_verdict else "DIFFER"))
        for reader, got in (("Python", py_verdict), ("C++", cc_verdict)):
            if got != want:
                failures.append("%s, %s reader: got %r, want %r" % (case["name"], reader, got, want))
    print("\n".join(["| case | verdict | readers |", "| --- | --- | --- |"] + rows))
    assert len(cc_verdicts) == len(cases)
    assert not failures, "\n".join(failures)


def python_packed_verdict(path):
    try:
        packed_model.read(model_files.read_model_file(path))
        return "valid"
    except (contract.ContractError, model_files.ModelError) as e:
        return str(e)


def packed_cases(base, cases):
    """(name, the packed file's bytes, the verdict wanted with {path} for the file) per case."""
    for i, case in enumerate(cases):
        if "text" in case:  # an info section holds a JSON object: not-JSON contracts cannot be packed
            continue
        info = json.loads(materialise(base, case))
        graph = ("the graph of case %d" % i).encode()
        about_mge_file = any(path.startswith("mge_file") for path in [*case.get("set", {}), *case.get("delete", [])])
        if not about_mge_file:
            info["mge_file"] = {"size": len(graph), "sha256": hashlib.sha256(graph).hexdigest()}
        want = "valid" if case["valid"] else "{path} (its packed contract): " + case["reason"]
        yield case["name"], packed_model.pack(graph, info), want
    other = "another graph".encode()
    yield ("packed contract stamped for another graph", packed_model.pack(b"the graph", dict(base, mge_file={
        "size": len(other), "sha256": hashlib.sha256(other).hexdigest()})),
        "{path}: its parts do not belong together: the graph is 9 bytes with SHA-256 %s..., the packed contract "
        "says 13 bytes, %s...: re-export with --pack" % (hashlib.sha256(b"the graph").hexdigest()[:12],
                                                        hashlib.sha256(other).hexdigest()[:12]))


def test_both_packed_readers_follow_the_table(tmp_path):
    base, cases = load_cases()
    rows = list(packed_cases(base, cases))
    assert len(rows) >= len(cases) - 2
    files = []
    for i, (_, data, _) in enumerate(rows):
        files.append(str(tmp_path / ("packed%02d.mge" % i)))
        with open(files[-1], "wb") as f:
            f.write(data)
    cc = subprocess.run([CONTRACT_CHECK, *files], capture_output=True, text=True, timeout=60)
    assert cc.returncode == 0, cc.stderr
    cc_verdicts = cc.stdout.splitlines()
    assert len(cc_verdicts) == len(rows)
    failures = []
    for (name, _, want), path, cc_verdict in zip(rows, files, cc_verdicts):
        for reader, got in (("Python", python_packed_verdict(path)), ("C++", cc_verdict)):
            if got != want.format(path=path):
                failures.append("%s, %s packed reader: got %r, want %r" % (name, reader, got, want.format(path=path)))
    assert not failures, "\n".join(failures)


if __name__ == "__main__":
    testing.main(__file__, "-s")
