"""mypy passes on the package (settings in py/pyproject.toml: the public API's modules must be
fully annotated), and an application's code is checked against the API: a correct use passes
`mypy --strict`, a wrong one is an error (so the API's types are real, not Any)."""
import os
import subprocess
import sys
import textwrap

import pytest

PY_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(PY_DIR, "pyproject.toml")

APPLICATION = textwrap.dedent("""\
    from typing import List

    import numpy as np

    from mgedeploy import Classifier, ImageError, Record, TopClass

    classifier = Classifier("model.mge", threads=2)
    records: List[Record] = classifier.classify(["cat.jpg", b"...", np.zeros((8, 8, 3), np.uint8)], topk=3)
    best: TopClass = records[0]["top"][0]
    name: str = best["name"]
    probability: float = best["probability"]
    vector = classifier.probabilities("cat.jpg")
    first: float = float(vector[0])
    for result in classifier.classify_many(["cat.jpg"]):
        if isinstance(result, ImageError):
            print(str(result))
        else:
            print(result["image"], name, probability, first)
""")
MISUSE = APPLICATION + "wrong: str = best['probability']\nClassifier('m.mge', threads='2')\n"


def mypy(*arguments):
    cache = os.path.join(os.environ.get("TEST_TMPDIR", "/tmp"), "mypy_cache")
    return subprocess.run([sys.executable, "-m", "mypy", "--config-file", CONFIG, "--cache-dir", cache,
                           "--no-error-summary", *arguments],
                          cwd=PY_DIR, capture_output=True, text=True, timeout=600)


def test_the_package_passes_mypy():
    result = mypy("--exclude", r"_test\.py$", "-p", "mgedeploy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_application_type_checks_against_the_api(tmp_path):
    (tmp_path / "app.py").write_text(APPLICATION)
    (tmp_path / "misuse.py").write_text(MISUSE)
    # The package's own modules are read, not judged (--follow-imports=silent): this is the user's check.
    good = mypy("--strict", "--follow-imports=silent", str(tmp_path / "app.py"))
    assert good.returncode == 0, good.stdout + good.stderr
    bad = mypy("--strict", "--follow-imports=silent", str(tmp_path / "misuse.py"))
    assert bad.returncode == 1, bad.stdout + bad.stderr
    errors = [line for line in bad.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 2, bad.stdout  # the float assigned to a str, the str given for threads
    assert "misuse.py:%d:" % (APPLICATION.count("\n") + 1) in errors[0], errors


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
