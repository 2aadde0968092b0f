"""Every flag a Python program takes from our own modules is in its --help, not only --helpfull:
absl lists a flag defined in another module (cli/model_key_flag.py, cli/repository_flags.py) only
under --helpfull unless the program adopts that module's flags."""
import re

import pytest

from tests import servers, testing

PROGRAMS = {"export": "export", "inference": "py_inference", "benchmark": "py_benchmark", "serve": servers.SERVE,
            "serve_ray": servers.SERVE_RAY}
SECTION = re.compile(r"^(\S.*):$")
FLAG = re.compile(r"^\s+(?:-\w,)?--(?:\[no\])?(\w+):")


def our_flags(text):
    """The flags listed under our modules' sections (a path into mgedeploy/, or mgedeploy.<module>)."""
    found, ours = set(), False
    for line in text.splitlines():
        section = SECTION.match(line)
        if section:
            ours = "/mgedeploy/" in section.group(1) or section.group(1).startswith("mgedeploy.")
            continue
        flag = FLAG.match(line)
        if flag and ours:
            found.add(flag.group(1))
    return found


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_help_lists_every_flag_of_ours(name):
    full = testing.run(PROGRAMS[name], "--helpfull")
    short = testing.run(PROGRAMS[name], "--help")
    # (absl's --help and --helpfull exit 1 after printing.)
    assert full.returncode >= 0 and short.returncode >= 0 and "Traceback" not in full.stderr + short.stderr
    everything = our_flags(full.stdout + full.stderr)
    assert "model" in everything, full.stdout[:500]  # the parse found the program's own section
    listed = {m.group(1) for m in map(FLAG.match, (short.stdout + short.stderr).splitlines()) if m}
    missing = everything - listed
    assert not missing, "%s --help does not list: %s" % (name, ", ".join(sorted(missing)))
    if name != "export":
        assert "model_key_file" in everything


if __name__ == "__main__":
    testing.main(__file__)
