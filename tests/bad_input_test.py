"""A table of bad and unusual inputs, run through both inference CLIs (and export where it applies).

Each row: an id, which programs, the arguments, the expected exit status per program, and words
that must appear in the one-line error (or, for exit 0, a normal top-5 output). Every failing case
must print exactly one stderr line, no traceback, and never die by a signal.
"""
import json
import os
import random
import shutil
import subprocess
import sys

import pytest

from mgedeploy import contract, paths

ROOT = paths.REPO_ROOT
PY = os.path.join(ROOT, "py", "inference")
CC = os.path.join(ROOT, "cc", "inference")
EXPORT = os.path.join(ROOT, "py", "export")
MODEL = os.path.join(ROOT, "testdata", "efficientnet_lite0.mge")
CAT = os.path.join(ROOT, "testdata", "cat.jpg")
BAD = os.path.join(ROOT, "testdata", "bad")
PROGRAMS = {"py": PY, "cc": CC}
IS_ROOT = os.geteuid() == 0


def damaged_model(tmp, name, keep_fraction=None, data=None, restamp=False):
    """A copy of MODEL (with its contract) cut to keep_fraction, or replaced by `data`. restamp:
    the contract is rewritten to match, so the bytes reach Lite instead of the contract check."""
    path = os.path.join(tmp, name)
    raw = open(MODEL, "rb").read()
    with open(path, "wb") as f:
        f.write(data if data is not None else raw[: max(1, int(len(raw) * keep_fraction))])
    info = json.load(open(contract.path_for(MODEL)))
    if restamp:
        info["mge_file"] = {"size": os.path.getsize(path), "sha256": contract.file_digest(path)}
    contract.write(info, contract.path_for(path))
    return path


def cache_case(tmp, name, cache_data=None, restamp=False):
    """A copy of MODEL and its contract whose fast-run cache is missing (cache_data None) or holds
    `cache_data`; restamp: the contract records the damaged cache's digest, so Lite reads it."""
    path = copy_as(tmp, MODEL, name)
    info = json.load(open(contract.path_for(MODEL)))
    cache = name + ".fastrun"
    info["lite"]["fast_run_cache"] = cache
    if cache_data is not None:
        with open(os.path.join(tmp, cache), "wb") as f:
            f.write(cache_data)
        if restamp:
            info["lite"]["fast_run_cache_sha256"] = contract.file_digest(os.path.join(tmp, cache))
    contract.write(info, contract.path_for(path))
    return path


def copy_as(tmp, source, name):
    path = os.path.join(tmp, name)
    shutil.copy(source, path)
    return path


def model_cases(tmp):
    """(id, model path, expected words) for cases where the model is the problem: exit 1."""
    directory = os.path.join(tmp, "a_directory.mge")
    os.mkdir(directory)
    empty = os.path.join(tmp, "empty.mge")
    open(empty, "wb").close()
    unreadable = copy_as(tmp, MODEL, "unreadable.mge")
    shutil.copy(contract.path_for(MODEL), contract.path_for(unreadable))
    os.chmod(unreadable, 0)
    cases = [
        ("missing model", os.path.join(tmp, "missing.mge"), "model file not found"),
        ("empty model", empty, "model file is empty"),
        ("directory as model", directory, "is a directory"),
        ("model cut at 1 %", damaged_model(tmp, "cut1.mge", 0.01), "does not match its contract"),
        ("model cut at 50 %", damaged_model(tmp, "cut50.mge", 0.5), "does not match its contract"),
        ("model cut at 99 %", damaged_model(tmp, "cut99.mge", 0.99), "does not match its contract"),
        ("model cut at 1 %, contract re-stamped", damaged_model(tmp, "rcut1.mge", 0.01, restamp=True), "Lite cannot load the model"),
        ("model cut at 50 %, contract re-stamped", damaged_model(tmp, "rcut50.mge", 0.5, restamp=True), "Lite cannot load the model"),
        ("model cut at 99 %, contract re-stamped", damaged_model(tmp, "rcut99.mge", 0.99, restamp=True), "Lite cannot load the model"),
        ("random bytes named .mge", damaged_model(tmp, "random.mge", data=os.urandom(200_000), restamp=True), "Lite cannot load the model"),
        (".onnx given as model", copy_as(tmp, os.path.join(BAD, "model.onnx"), "model.onnx"), "no model contract"),
        (".pth given as model", copy_as(tmp, os.path.join(BAD, "weights.pth"), "weights.pth"), "no model contract"),
    ]
    damaged_cache = random.Random(8).randbytes(3000)  # Lite 1.13 dies by SIGSEGV reading these bytes
    cases += [
        ("fast-run cache damaged", cache_case(tmp, "dcache.mge", damaged_cache), "fast-run cache does not match"),
        ("fast-run cache damaged, contract re-stamped", cache_case(tmp, "rdcache.mge", damaged_cache, restamp=True),
         "fast-run cache"),
    ]
    if not IS_ROOT:  # root reads anything: chmod 000 proves nothing there
        cases.append(("unreadable model (chmod 000)", unreadable, "Permission denied"))
    return cases


def image_cases(tmp):
    """(id, image path, expected exit, expected words)."""
    spaced = copy_as(tmp, CAT, "my cat photo.jpg")
    unicode_name = copy_as(tmp, CAT, "chat_noir_\u732b_\u00e9t\u00e9.jpg")
    folder = os.path.join(tmp, "photos.jpg")
    os.mkdir(folder)
    empty = os.path.join(tmp, "empty.jpg")
    open(empty, "wb").close()
    return [
        ("missing image", os.path.join(tmp, "missing.jpg"), 1, "cannot read image"),
        ("empty image", empty, 1, "the file is empty"),
        ("directory as image", folder, 1, "Is a directory"),
        ("text file as image", os.path.join(BAD, "notes.txt"), 1, "not an image"),
        ("HTML page as image", os.path.join(BAD, "page.html"), 1, "not an image"),
        ("truncated PNG", os.path.join(BAD, "truncated.png"), 1, "not an image"),
        ("truncated JPEG", os.path.join(BAD, "truncated.jpg"), 0, ""),
        ("grayscale PNG", os.path.join(BAD, "gray.png"), 0, ""),
        ("RGBA PNG", os.path.join(BAD, "rgba.png"), 0, ""),
        ("16-bit PNG", os.path.join(BAD, "deep16.png"), 0, ""),
        ("1x1 image", os.path.join(BAD, "tiny1x1.png"), 0, ""),
        ("10000x10 image", os.path.join(BAD, "strip10000x10.png"), 0, ""),
        ("file name with spaces", spaced, 0, ""),
        ("unicode file name", unicode_name, 0, ""),
    ]


FLAG_CASES = [
    ("--topk 0", ["--topk", "0"], "--topk must be a positive integer"),
    ("--topk 2000", ["--topk", "2000"], "more than the model's 1000 classes"),
    ("--threads 0", ["--threads", "0"], "--threads must be a positive integer"),
    ("--threads -1", ["--threads", "-1"], "--threads must be a positive integer"),
    ("--topk abc", ["--topk", "abc"], "--topk"),
    ("--lite_options fast", ["--lite_options", "fast"], "--lite_options"),
]


def run(command):
    env = dict(os.environ, RUNFILES_DIR=os.path.dirname(ROOT))
    env.pop("BUILD_WORKING_DIRECTORY", None)
    return subprocess.run(command, capture_output=True, timeout=300, env=env)


def check(result, want_status, words, case):
    stderr = result.stderr.decode(errors="replace")
    stdout = result.stdout.decode(errors="replace")
    assert result.returncode >= 0, "%s: killed by signal %d" % (case, -result.returncode)
    assert "Traceback" not in stderr, case + ": " + stderr
    assert result.returncode == want_status, "%s: exit %d, wanted %d: %s" % (case, result.returncode, want_status, stderr)
    if want_status == 0:
        lines = stdout.splitlines()
        assert len(lines) == 5 and all("with probability =" in line for line in lines), case + ": " + stdout
        return "ok (5 classes: %s)" % lines[0].split("=")[1].split()[0]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, "%s: %d stderr lines: %s" % (case, len(lines), stderr)
    assert words in lines[0], "%s: %r not in %r" % (case, words, lines[0])
    return lines[0]


def py_args(model, image, extra=()):
    return [PY, "-m", model, "-i", image, *extra]


def cc_args(model, image, extra=()):
    return [CC, model, image, *extra]


ARGS = {"py": py_args, "cc": cc_args}


def test_table(tmp_path):
    tmp = str(tmp_path)
    rows = []
    for case, model, words in model_cases(tmp):
        for program in ("py", "cc"):
            rows.append((case, program, ARGS[program](model, CAT), 1, words))
    no_cache = cache_case(tmp, "nocache.mge")
    for program in ("py", "cc"):  # still answers, with kernels from Lite's heuristics
        rows.append(("fast-run cache missing", program, ARGS[program](no_cache, CAT), 0, ""))
    for case, image, status, words in image_cases(tmp):
        for program in ("py", "cc"):
            rows.append((case, program, ARGS[program](MODEL, image), status, words))
    for case, extra, words in FLAG_CASES:
        for program in ("py", "cc"):
            rows.append((case, program, ARGS[program](MODEL, CAT, extra), 2, words))
    read_only = "/sys/megdeploy_test.mge"  # as root, chmod cannot make a directory read-only; /sys can
    rows += [
        ("export: output in a missing directory", "export",
         [EXPORT, "--output", os.path.join(tmp, "no", "such", "dir", "m.mge")], 1, "does not exist"),
        ("export: output in a read-only directory", "export", [EXPORT, "--output", read_only], 1, "cannot write"),
        ("export: HTML page as sample image", "export",
         [EXPORT, "--image", os.path.join(BAD, "page.html"), "--output", os.path.join(tmp, "x.mge")], 1, "not an image"),
        ("export: .pth fragment as --weights", "export",
         [EXPORT, "--model", "snetv2_x100", "--weights", os.path.join(BAD, "weights.pth"), "--output",
          os.path.join(tmp, "y.mge")], 1, "not a MegEngine checkpoint"),
    ]
    report, failures = [], []
    for case, program, command, status, words in rows:
        try:
            report.append("| %s | %s | %d | %s |" % (case, program, status, check(run(command), status, words, case)))
        except AssertionError as e:
            failures.append("%s [%s]: %s" % (case, program, e))
    # No partial files from the failed exports.
    assert not os.path.exists(os.path.join(tmp, "x.mge")) and not os.path.exists(os.path.join(tmp, "x.mge.tmp"))
    assert not os.path.exists(read_only) and not os.path.exists(read_only + ".tmp")
    print("\n".join(["| case | program | exit | result |", "| --- | --- | --- | --- |"] + report))
    print("%d cases, %d failed" % (len(rows), len(failures)))
    assert not failures, "\n".join(failures)
    assert len(rows) >= 30


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-s", "-p", "no:cacheprovider"]))
