"""One conformance table, two contract readers: every case in testdata/contracts/cases.json is
written to a file and read by the Python reader (mgedeploy.contract.load) and the C++ one
(//cc:contract_check, i.e. megdeploy::LoadContract). Each must give the verdict the table states,
and for invalid contracts exactly `<file>: <reason>`, so the two agree word for word."""
import copy
import json
import os
import subprocess

import pytest

from mgedeploy import contract
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


if __name__ == "__main__":
    testing.main(__file__, "-s")
