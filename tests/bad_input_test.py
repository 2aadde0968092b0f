"""The one table of bad and unusual inputs, for every program: both inference programs, both
benchmarks, export and softmax_check.

Each row: an id, the programs it runs, the arguments (built from fixtures made once per run), the
exit status wanted (1: a bad file, one line naming it; 2: bad arguments, one line; 0: classified)
and words the one stderr line must hold. Every failing case prints exactly one stderr line, no
traceback, and never dies by a signal; no program waits on a FIFO or reads /dev/zero forever
(each run is bounded by testing.TIMEOUT_S). Export writes nothing when it fails.

Sharded (BUILD: shard_count), so the table runs on both cores.
"""
import json
import os
import random
import shutil

import pytest

from mgedeploy import contract, model_encryption, packed_model
from mgedeploy.lite import options
from tests import own_models, testing
from tests.testing import BAD, CAT, INFERENCE, BENCHMARK, LITE0, TESTDATA

IS_ROOT = os.geteuid() == 0
DIGITS = os.path.join(TESTDATA, "repository", "digits", "1", "model.mge")  # small: packed rows pack it
DIGITS_2 = os.path.join(TESTDATA, "repository", "digits", "2", "model.mge")


class Files:
    """The damaged copies, FIFOs, symlink loops and the like the rows use, made once per test run."""

    def __init__(self, tmp):
        self.tmp = tmp

    def path(self, name):
        return os.path.join(self.tmp, name)

    def model(self, name, keep_fraction=None, data=None, restamp=False, contract_edit=None):
        """A copy of the Lite0 test model cut to keep_fraction or replaced by `data`; restamp: the
        contract matches the damaged bytes, so they reach Lite; contract_edit(info) edits it."""
        path = testing.copy_model(LITE0, self.tmp, name)
        if keep_fraction is not None or data is not None:
            raw = open(LITE0, "rb").read()
            with open(path, "wb") as f:
                f.write(data if data is not None else raw[: max(1, int(len(raw) * keep_fraction))])
        if restamp:
            testing.restamp(path)
        if contract_edit:
            info = json.load(open(contract.path_for(path)))
            contract_edit(info)
            contract.write(info, contract.path_for(path))
        return path

    def fast_run_case(self, name, cache_data=None, restamp=False):
        """A model whose contract names a fast-run cache that is missing (cache_data None) or holds
        `cache_data`; restamp: the contract records the damaged cache's digest, so Lite reads it."""
        cache = name + ".fastrun"

        def edit(info):
            # Settings recorded on this CPU, so the programs use the cache (not just the safe part).
            info["lite"].update(fast_run_cache=cache, fast_run_cache_sha256="0" * 64, nchw88=False,
                                weight_preprocess=True, record_level=1, cpu=options.cpu_fingerprint())
            if cache_data is not None:
                with open(self.path(cache), "wb") as f:
                    f.write(cache_data)
                if restamp:
                    info["lite"]["fast_run_cache_sha256"] = contract.file_digest(self.path(cache))

        return self.model(name, contract_edit=edit)

    def copy(self, source, name):
        shutil.copy(source, self.path(name))
        return self.path(name)

    def write(self, name, data):
        with open(self.path(name), "wb") as f:
            f.write(data)
        return self.path(name)

    def fifo(self, name):
        os.mkfifo(self.path(name))
        return self.path(name)

    def loop(self, name):
        os.symlink(name, self.path(name))  # points at itself
        return self.path(name)

    def sparse(self, name, size):
        with open(self.path(name), "wb") as f:
            f.truncate(size)
        return self.path(name)

    def directory(self, name):
        os.mkdir(self.path(name))
        return self.path(name)

    def key(self, name="model.key", data=None):
        """A model key file (32 random bytes unless `data`), written once per test."""
        if not os.path.exists(self.path(name)):
            self.write(name, os.urandom(32) if data is None else data)
        return self.path(name)

    def packed(self, name, key_file=None, edit=None, graph=None):
        """The digits model as one packed file (export --pack), encrypted under key_file's key when
        given (--encrypt_key_file); edit(bytes) damages the result; graph: another graph's bytes
        packed with the digits contract (parts that do not belong together)."""
        key = model_encryption.read_key(key_file) if key_file else None
        data = packed_model.pack(graph or open(DIGITS, "rb").read(), contract.read(DIGITS), key=key)
        return self.write(name, edit(data) if edit else data)

    def unreadable(self, name):
        path = testing.copy_model(LITE0, self.tmp, name)
        os.chmod(path, 0)
        return path


# Lite 1.13 dies by SIGSEGV reading these bytes as a fast-run cache (the crash guard catches it).
DAMAGED_CACHE = random.Random(8).randbytes(3000)


def infer(model_fn, image_fn=lambda f: CAT, *extra):
    """Inference arguments: both programs take -m MODEL -i IMAGE."""
    return lambda f: ["-m", model_fn(f), "-i", image_fn(f), *extra]


def image(image_fn):
    return infer(lambda f: LITE0, image_fn)


def flipped(data):
    """`data` with its middle byte changed: same size, another digest."""
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:]


def sealed(edit=None, key="model.key", key_data=None):
    """Inference arguments for the digits model encrypted under model.key, run with the key file
    `key` (None: no key flag); key_data: that key file's bytes."""
    def arguments(f):
        model = f.packed("sealed.mge", f.key(), edit)
        if key is None:
            return ["-m", model, "-i", CAT]
        return ["-m", model, "-i", CAT, "--model_key_file", f.key(key, key_data)]
    return arguments


def with_key(model_fn, key_fn=lambda f: f.key()):
    return lambda f: ["-m", model_fn(f), "-i", CAT, "--model_key_file", key_fn(f)]


def flags(*extra):
    return lambda f: ["-m", LITE0, "-i", CAT, *extra]


# (id, programs, arguments(files), exit status, words in the error line)
ROWS = [
    # ---- the model ----
    ("missing model", INFERENCE, infer(lambda f: f.path("missing.mge")), 1, "cannot open model: model file not found"),
    ("empty model", INFERENCE, infer(lambda f: f.write("empty.mge", b"")), 1, "model file is empty"),
    ("directory as model", INFERENCE, infer(lambda f: f.directory("dir.mge")), 1, "is a directory"),
    ("symlink loop as model", INFERENCE, infer(lambda f: f.loop("loop.mge")), 1, "cannot open model: symbolic link loop"),
    ("FIFO as model", INFERENCE, infer(lambda f: f.fifo("fifo.mge")), 1, "cannot open model: not a regular file"),
    ("/dev/zero as model", INFERENCE, infer(lambda f: "/dev/zero"), 1, "/dev/zero: cannot open model: not a regular file"),
    ("model over 1 GiB (sparse)", INFERENCE, infer(lambda f: f.sparse("huge.mge", (1 << 30) + 1)), 1, "model file is too big"),
    ("model cut at 1 %", INFERENCE, infer(lambda f: f.model("cut1.mge", 0.01)), 1, "does not match its contract"),
    ("model cut at 50 %", INFERENCE, infer(lambda f: f.model("cut50.mge", 0.5)), 1, "does not match its contract"),
    ("model cut at 99 %", INFERENCE, infer(lambda f: f.model("cut99.mge", 0.99)), 1, "does not match its contract"),
    ("model with one byte changed", INFERENCE,
     infer(lambda f: f.model("flipped.mge", data=flipped(open(LITE0, "rb").read()))), 1,
     "(same size, but its SHA-256 differs)"),
    ("model cut at 1 %, contract re-stamped", INFERENCE, infer(lambda f: f.model("rcut1.mge", 0.01, restamp=True)), 1,
     "Lite cannot load the model"),
    ("model cut at 50 %, contract re-stamped", INFERENCE, infer(lambda f: f.model("rcut50.mge", 0.5, restamp=True)), 1,
     "Lite cannot load the model"),
    ("model cut at 99 %, contract re-stamped", INFERENCE, infer(lambda f: f.model("rcut99.mge", 0.99, restamp=True)), 1,
     "Lite cannot load the model"),
    ("random bytes named .mge", INFERENCE,
     infer(lambda f: f.model("random.mge", data=random.Random(1).randbytes(200_000), restamp=True)), 1,
     "Lite cannot load the model"),
    (".onnx given as model", INFERENCE, infer(lambda f: f.copy(os.path.join(BAD, "model.onnx"), "model.onnx")), 1,
     "no model contract"),
    (".pth given as model", INFERENCE, infer(lambda f: f.copy(os.path.join(BAD, "weights.pth"), "weights.pth")), 1,
     "no model contract"),
    ("contract not JSON", INFERENCE,
     infer(lambda f: f.model("badjson.mge") and f.write("badjson.mge.json", b"{\"format\": ") and f.path("badjson.mge")),
     1, "model contract is not valid JSON"),
    ("contract with record level 3", INFERENCE,
     infer(lambda f: f.model("level3.mge", contract_edit=lambda i: i["lite"].update(record_level=3))), 1,
     "invalid field lite.record_level: expected 0, 1 or 2"),
    ("contract naming a cache outside", INFERENCE,
     infer(lambda f: f.model("outside.mge", contract_edit=lambda i: i["lite"].update(
         fast_run_cache="../x.fastrun", fast_run_cache_sha256="0" * 64))), 1,
     "invalid field lite.fast_run_cache"),
    ("fast-run cache damaged", INFERENCE, infer(lambda f: f.fast_run_case("dcache.mge", DAMAGED_CACHE)), 1,
     "fast-run cache does not match"),
    ("fast-run cache damaged, contract re-stamped", INFERENCE,
     infer(lambda f: f.fast_run_case("rdcache.mge", DAMAGED_CACHE, restamp=True)), 1, "fast-run cache"),
    ("fast-run cache missing (still classifies, with a note)", INFERENCE,
     infer(lambda f: f.fast_run_case("nocache.mge")), 0, ""),
    # ---- packed and encrypted models (export --pack, --encrypt_key_file) ----
    ("packed model, no sidecar (classifies)", INFERENCE, infer(lambda f: f.packed("packed.mge")), 0, ""),
    ("packed model cut at 50 %", INFERENCE, infer(lambda f: f.packed("pcut.mge", edit=lambda d: d[:len(d) // 2])), 1,
     "pcut.mge: not a packed model we can read"),
    ("packed model: the tag, then random bytes", INFERENCE,
     infer(lambda f: f.write("ptag.mge", packed_model.TAG + random.Random(2).randbytes(5000))), 1,
     "ptag.mge: not a packed model we can read"),
    ("packed model: a graph the contract inside does not describe", INFERENCE,
     infer(lambda f: f.packed("pother.mge", graph=open(DIGITS_2, "rb").read())), 1,
     "pother.mge: its parts do not belong together: the graph is"),
    ("encrypted model with the key (classifies)", INFERENCE, sealed(), 0, ""),
    ("encrypted model, no key", INFERENCE, sealed(key=None), 1,
     "sealed.mge: the model is encrypted: give its key with --model_key_file FILE"),
    ("encrypted model, another key", INFERENCE, sealed(key="other.key"), 1,
     "sealed.mge: wrong key, or the file was modified"),
    ("encrypted model, one byte flipped", INFERENCE, sealed(edit=flipped), 1,
     "sealed.mge: wrong key, or the file was modified"),
    ("encrypted model, its tag cut off", INFERENCE, sealed(edit=lambda d: d[:-40]), 1,
     "it is encrypted (AES_default) but has no authentication tag"),
    ("encrypted model cut at 50 %", INFERENCE, sealed(edit=lambda d: d[:len(d) // 2]), 1,
     "sealed.mge: not a packed model we can read"),
    ("a key for a sidecar model", INFERENCE, with_key(lambda f: DIGITS), 1,
     "a model key was given, but the model is not encrypted"),
    ("a key for a plain packed model", INFERENCE, with_key(lambda f: f.packed("pkey.mge")), 1,
     "pkey.mge: a model key was given, but the model is not encrypted"),
    ("key file of 5 bytes", INFERENCE, sealed(key="short.key", key_data=b"short"), 1,
     "short.key: a model key is 32 bytes, or 64 hex digits; this file has 5 bytes"),
    ("key file of 64 letters that are not hex", INFERENCE, sealed(key="nothex.key", key_data=b"z" * 64), 1,
     "nothex.key: a model key is 32 bytes, or 64 hex digits; this file has 64 bytes"),
    ("key file over 4 KiB (sparse)", INFERENCE,
     with_key(lambda f: f.packed("big.mge", f.key()), lambda f: f.sparse("big.key", 1 << 20)), 1,
     "big.key: the model key file is too big"),
    ("key file missing", INFERENCE, with_key(lambda f: f.packed("kmiss.mge", f.key()), lambda f: f.path("none.key")), 1,
     "none.key: cannot read the model key file"),
    ("key file is a directory", INFERENCE, with_key(lambda f: f.packed("kdir.mge", f.key()), lambda f: f.directory("d.key")),
     1, "d.key: the model key file is not a regular file"),
    ("key file is a FIFO (never opened)", INFERENCE,
     with_key(lambda f: f.packed("kfifo.mge", f.key()), lambda f: f.fifo("fifo.key")), 1,
     "fifo.key: the model key file is not a regular file"),
    ("/dev/zero as key file", INFERENCE, with_key(lambda f: f.packed("kzero.mge", f.key()), lambda f: "/dev/zero"), 1,
     "/dev/zero: the model key file is not a regular file"),
    ("benchmark: encrypted model, no key", BENCHMARK, lambda f: ["-m", f.packed("bsealed.mge", f.key())], 1,
     "bsealed.mge: the model is encrypted"),
    ("benchmark: encrypted model, another key", BENCHMARK,
     lambda f: ["-m", f.packed("bsealed.mge", f.key()), "--model_key_file", f.key("other.key")], 1,
     "bsealed.mge: wrong key, or the file was modified"),
    # ---- the image ----
    ("missing image", INFERENCE, image(lambda f: f.path("missing.jpg")), 1, "cannot read image"),
    ("empty image", INFERENCE, image(lambda f: f.write("empty.jpg", b"")), 1, "the file is empty"),
    ("folder with no image files", INFERENCE, image(lambda f: f.directory("photos.jpg")), 1,
     "photos.jpg: no image files in this folder"),
    ("symlink loop as image", INFERENCE, image(lambda f: f.loop("loop.jpg")), 1, "cannot read image: symbolic link loop"),
    ("FIFO as image", INFERENCE, image(lambda f: f.fifo("fifo.jpg")), 1, "cannot read image: not a regular file"),
    ("/dev/zero as image", INFERENCE, image(lambda f: "/dev/zero"), 1, "/dev/zero: cannot read image: not a regular file"),
    ("image file over 64 MiB (sparse)", INFERENCE, image(lambda f: f.sparse("huge.jpg", (64 << 20) + 1)), 1,
     "the file is too big"),
    ("PNG promising 30000x30000 pixels", INFERENCE, image(lambda f: os.path.join(BAD, "bomb30000.png")), 1,
     "image is too large: 30000x30000 pixels"),
    ("--max_pixels below the photo's 451x300", INFERENCE, flags("--max_pixels", "100000"), 1,
     "image is too large: 451x300 pixels (the limit is 100000"),
    ("text file as image", INFERENCE, image(lambda f: os.path.join(BAD, "notes.txt")), 1, "not an image"),
    ("HTML page as image", INFERENCE, image(lambda f: os.path.join(BAD, "page.html")), 1, "not an image"),
    ("truncated PNG", INFERENCE, image(lambda f: os.path.join(BAD, "truncated.png")), 1, "not an image"),
    ("GIF (OpenCV has no GIF decoder)", INFERENCE, image(lambda f: os.path.join(TESTDATA, "images", "small.gif")), 1,
     "not an image"),
    ("truncated JPEG", INFERENCE, image(lambda f: os.path.join(BAD, "truncated.jpg")), 0, ""),
    ("grayscale PNG", INFERENCE, image(lambda f: os.path.join(BAD, "gray.png")), 0, ""),
    ("RGBA PNG", INFERENCE, image(lambda f: os.path.join(BAD, "rgba.png")), 0, ""),
    ("16-bit PNG", INFERENCE, image(lambda f: os.path.join(BAD, "deep16.png")), 0, ""),
    ("1x1 image", INFERENCE, image(lambda f: os.path.join(BAD, "tiny1x1.png")), 0, ""),
    ("10000x10 image: resizes to 256000x256", INFERENCE, image(lambda f: os.path.join(BAD, "strip10000x10.png")), 1,
     "image is too elongated: 10000x10 pixels resize to 256000x256"),
    ("1x10000 PNG of 99 bytes: resizes to 256x2560000", INFERENCE,
     image(lambda f: os.path.join(BAD, "strip1x10000.png")), 1, "image is too elongated: 1x10000 pixels"),
    ("1x200000 PNG: resizes to 256x51200000", INFERENCE, image(lambda f: os.path.join(BAD, "strip1x200000.png")), 1,
     "image is too elongated: 1x200000 pixels"),
    ("BMP header of 2000000x1: wider than OpenCV decodes", INFERENCE,
     image(lambda f: os.path.join(BAD, "wide2000000x1.bmp")), 1,
     "image is too large: 2000000x1 pixels (OpenCV decodes at most 1048576 per side"),
    ("benchmark input resizing to 256x2560000", BENCHMARK,
     lambda f: ["-m", LITE0, "--input", os.path.join(BAD, "strip1x10000.png")], 1,
     "image is too elongated: 1x10000 pixels"),
    ("BMP", INFERENCE, image(lambda f: os.path.join(TESTDATA, "images", "small.bmp")), 0, ""),
    ("WebP", INFERENCE, image(lambda f: os.path.join(TESTDATA, "images", "lossy.webp")), 0, ""),
    ("TIFF (no header reader: the file-size cap alone)", INFERENCE,
     image(lambda f: os.path.join(TESTDATA, "images", "small.tiff")), 0, ""),
    ("file name with spaces", INFERENCE, image(lambda f: f.copy(CAT, "my cat photo.jpg")), 0, ""),
    ("unicode file name", INFERENCE, image(lambda f: f.copy(CAT, "chat_noir_\u732b_\u00e9t\u00e9.jpg")), 0, ""),
    # ---- flags ----
    ("--topk 0", INFERENCE, flags("--topk", "0"), 2, "--topk"),
    ("--topk 2000", INFERENCE, flags("--topk", "2000"), 2, "--topk 2000 is more than the model's 1000 classes"),
    ("--topk abc", INFERENCE, flags("--topk", "abc"), 2, "--topk"),
    ("--threads 0", INFERENCE, flags("--threads", "0"), 2, "--threads"),
    ("--threads -1", INFERENCE, flags("--threads", "-1"), 2, "--threads"),
    ("--lite_options fast", INFERENCE, flags("--lite_options", "fast"), 2, "--lite_options"),
    ("--max_pixels 0", INFERENCE, flags("--max_pixels", "0"), 2, "--max_pixels"),
    ("--bogus", INFERENCE, flags("--bogus"), 2, "bogus"),
    ("--topk=3 (the = form)", INFERENCE, flags("--topk=3"), 0, "three lines"),
    # ---- the benchmarks ----
    ("benchmark: missing model", BENCHMARK, lambda f: ["-m", f.path("missing.mge")], 1, "missing.mge"),
    ("benchmark: model without contract", BENCHMARK,
     lambda f: ["-m", f.copy(os.path.join(BAD, "model.onnx"), "bench.onnx")], 1, "no model contract"),
    ("benchmark: --iters 0", BENCHMARK, lambda f: ["-m", LITE0, "--iters", "0"], 2, "--iters"),
    ("benchmark: --lite_options fast", BENCHMARK, lambda f: ["-m", LITE0, "--lite_options", "fast"], 2, "--lite_options"),
    ("benchmark: --profile with --record_level 1", BENCHMARK,
     lambda f: ["-m", LITE0, "--profile", f.path("p.json"), "--record_level", "1"], 2, "--profile cannot be combined"),
    ("benchmark: --threads=x", BENCHMARK, lambda f: ["-m", LITE0, "--threads=x"], 2, "--threads"),
    # ---- softmax_check ----
    ("softmax_check: no model", ("softmax_check",), lambda f: [], 2, "model"),
    ("softmax_check: --threads 0", ("softmax_check",), lambda f: [LITE0, "--threads", "0"], 2, "--threads"),
    ("softmax_check: random bytes", ("softmax_check",), lambda f: [f.write("sm_random.mge", os.urandom(100_000))], 1,
     "Lite cannot load the model"),
    ("softmax_check: symlink loop", ("softmax_check",), lambda f: [f.loop("sm_loop.mge")], 1, "symbolic link loop"),
]
if not IS_ROOT:  # root reads anything: chmod 000 proves nothing there
    ROWS.append(("unreadable model (chmod 000)", INFERENCE, infer(lambda f: f.unreadable("unreadable.mge")), 1,
                 "permission denied"))

CASES = [pytest.param(row, program, id="%s [%s]" % (row[0], program)) for row in ROWS for program in row[1]]


@pytest.fixture
def files(tmp_path):
    return Files(str(tmp_path))


@pytest.mark.parametrize("row,program", CASES)
def test_row(files, row, program):
    case, _, arguments, status, words = row
    result = testing.run(program, *arguments(files))
    if status == 0 and words == "three lines":
        assert result.returncode == 0 and len(result.stdout.splitlines()) == 3, result.stderr
    elif status == 0:
        testing.assert_top5(result)
        assert "Traceback" not in result.stderr
    else:
        testing.assert_one_line_error(result, status, words)


# ---- export: its own arguments, and nothing written when it fails ----

def saved_state(tmp, kind):
    """A MegEngine checkpoint of snetv2_x100 with a renamed key or a wrong shape (in a child:
    megengine is slow to import and this test process does not need it otherwise)."""
    import subprocess
    import sys

    path = os.path.join(tmp, "%s.pkl" % kind)
    code = (
        "import megengine, numpy as np\n"
        "from mgedeploy import models\n"
        "s = {k: np.array(v) for k, v in models.build('snetv2_x100').state_dict().items()}\n"
        "if %r == 'keys': s['stem.conv.kernel'] = s.pop('stem.conv.weight')\n"
        "else: s['head.fc.weight'] = np.zeros((10, 10), np.float32)\n"
        "megengine.save(s, %r)\n" % (kind, path))
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                   env=dict(os.environ, PYTHONPATH=os.path.join(testing.ROOT, "py")))
    return path


def own(t, function="build", shape=None, labels=None, spec=None, source=None, extra=()):
    """Export arguments for the digit model of tests/own_models.py, written into `t`; `labels`,
    `spec` (a dict, or text) and `source` replace the good files' content."""
    model_py, labels_path, spec_path, good_shape = own_models.write(os.path.join(t, "src"), "digits")
    if source is not None:
        open(model_py, "w").write(source)
    if labels is not None:
        open(labels_path, "w").write("\n".join(labels) + "\n")
    if spec is not None:
        open(spec_path, "w").write(spec if isinstance(spec, str) else json.dumps(spec))
    return ["--model", model_py + ":" + function, "--input_shape", shape or good_shape, "--labels", labels_path,
            "--preprocess", spec_path, "--lite_settings", "none", *extra]


DIGIT_SPEC = own_models.MODELS["digits"][1]

def write_file(directory, name, data):
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)
    return os.path.join(directory, name)


def fifo(directory, name):
    os.mkfifo(os.path.join(directory, name))
    return os.path.join(directory, name)


EXPORT_ROWS = [
    ("unknown model", lambda t: ["--model", "resnet50"], 2, "resnet50"),
    ("--encrypt_key_file missing", lambda t: ["--encrypt_key_file", os.path.join(t, "none.key")], 1,
     "none.key: cannot read the model key file"),
    ("--encrypt_key_file of 5 bytes", lambda t: ["--encrypt_key_file", write_file(t, "short.key", b"short")], 1,
     "short.key: a model key is 32 bytes, or 64 hex digits"),
    ("--encrypt_key_file a FIFO", lambda t: ["--encrypt_key_file", fifo(t, "fifo.key")], 1,
     "fifo.key: the model key file is not a regular file"),
    ("--lite_settings bogus", lambda t: ["--lite_settings", "bogus"], 2, "--lite_settings"),
    ("no packaged weights", lambda t: ["--model", "snetv2_x100"], 2, "no packaged weights"),
    ("two weight sources", lambda t: ["--model", "snetv2_x100", "--random_init", "--pretrained"], 2,
     "choose one weight source"),
    ("output in a missing directory", lambda t: ["--output", os.path.join(t, "no", "such", "m.mge")], 1,
     "does not exist"),
    # Tests run as root here, so chmod cannot make a directory unwritable; /sys refuses new files.
    ("output in a read-only directory", lambda t: ["--output", "/sys/megdeploy_test.mge"], 1, "cannot write"),
    ("missing sample image", lambda t: ["--image", os.path.join(t, "missing.jpg")], 1, "cannot read image"),
    ("HTML page as sample image", lambda t: ["--image", os.path.join(BAD, "page.html")], 1, "not an image"),
    ("sample image resizing to 256x2560000", lambda t: ["--image", os.path.join(BAD, "strip1x10000.png")], 1,
     "image is too elongated: 1x10000 pixels"),
    ("FIFO as sample image", lambda t: ["--image", os.mkfifo(os.path.join(t, "f.jpg")) or os.path.join(t, "f.jpg")],
     1, "not a regular file"),
    (".pth fragment as --weights", lambda t: ["--model", "snetv2_x100", "--weights", os.path.join(BAD, "weights.pth")],
     1, "not a MegEngine checkpoint"),
    ("random bytes as --weights", lambda t: ["--model", "snetv2_x100", "--weights",
                                             open(os.path.join(t, "j.pkl"), "wb").write(os.urandom(1000)) and
                                             os.path.join(t, "j.pkl")], 1, "not a MegEngine checkpoint"),
    ("checkpoint with a renamed key", lambda t: ["--model", "snetv2_x100", "--weights", saved_state(t, "keys")], 1,
     "keys do not match"),
    ("checkpoint with a wrong shape", lambda t: ["--model", "snetv2_x100", "--weights", saved_state(t, "shapes")], 1,
     "head.fc.weight has shape"),
    # The hub needs GitHub: offline it must fail within its 20 s socket timeout, never hang.
    ("--pretrained without network", lambda t: ["--model", "snetv2_x100", "--pretrained"], 1, "MegEngine hub"),
    # ---- your own model (FILE.py:FUNCTION) ----
    ("own model: the file does not exist", lambda t: own(t)[:1] + [os.path.join(t, "nowhere.py:build")] + own(t)[2:],
     1, "nowhere.py: cannot import the model file: no such file"),
    ("own model: the file does not import", lambda t: own(t, source="import megengine\ndef build(:\n"), 1,
     "cannot import the model file: SyntaxError"),
    ("own model: a missing module", lambda t: own(t, source="import no_such_module\n"), 1,
     "cannot import the model file: ModuleNotFoundError"),
    ("own model: no such function", lambda t: own(t, function="nope"), 1, "has no function nope"),
    ("own model: not a function", lambda t: own(t, function="NOT_A_FUNCTION"), 1, "NOT_A_FUNCTION is a int"),
    ("own model: the function raises", lambda t: own(t, function="broken"), 1,
     "broken() failed: RuntimeError: weights file not found"),
    ("own model: returns something else", lambda t: own(t, function="not_a_model"), 1,
     "not_a_model() returned a dict, not a megengine.module.Module"),
    ("own model: output is not [N, classes]", lambda t: own(t, function="feature_map"), 1,
     "output is (1, 4, 26, 26), expected [N, classes]"),
    ("own model: labels count differs", lambda t: own(t, labels=["a", "b", "c"]), 1,
     "3 class names for the model's 10 classes"),
    ("own model: labels file missing", lambda t: own(t)[:5] + [os.path.join(t, "none.txt")] + own(t)[6:], 1,
     "cannot read the labels file"),
    ("own model: preprocessing without crop", lambda t: own(t, spec={k: v for k, v in DIGIT_SPEC.items() if k != "crop"}),
     1, "invalid field preprocess.crop: missing"),
    ("own model: preprocessing colour HSV", lambda t: own(t, spec=dict(DIGIT_SPEC, color="HSV")), 1,
     "invalid field preprocess.color"),
    ("own model: preprocessing RGB for one channel", lambda t: own(t, spec=dict(DIGIT_SPEC, color="RGB", mean=[0] * 3,
                                                                             std=[1] * 3)), 1,
     "GRAY needs 1 input channel"),
    ("own model: preprocessing not JSON", lambda t: own(t, spec="{crop: 28"), 1, "not valid JSON"),
    ("own model: an input shape that does not run", lambda t: own(t, shape="1,1,32,32",
                                                                  spec=dict(DIGIT_SPEC, crop=32)), 1,
     "does not run on input shape 1x1x32x32"),
    ("own model: --input_shape malformed", lambda t: own(t, shape="1,1,28"), 2, "--input_shape must be 1,C,H,W"),
    ("own model: --input_shape not square", lambda t: own(t, shape="1,1,28,30"), 2, "H and W must be equal"),
    ("own model: without --preprocess", lambda t: own(t)[:6] + ["--lite_settings", "none"], 2,
     "--preprocess FILE.json is required"),
    ("own model: with --random_init", lambda t: own(t, extra=["--random_init"]), 2, "loads its own weights"),
    ("built-in model with --labels", lambda t: ["--labels", os.path.join(t, "x.txt")], 2,
     "are for --model FILE.py:FUNCTION"),
]


@pytest.mark.parametrize("row", EXPORT_ROWS, ids=lambda row: "export: " + row[0])
def test_export_row(tmp_path, row):
    case, arguments, status, words = row
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    args = arguments(str(tmp_path))
    if "--output" not in args:
        args += ["--output", str(out_dir / "m.mge")]
    result = testing.run("export", *args, timeout=180)
    testing.assert_one_line_error(result, status, words)
    assert os.listdir(out_dir) == [], "export left files behind: %s" % os.listdir(out_dir)
    assert not os.path.exists("/sys/megdeploy_test.mge.tmp")


def test_table_size():
    assert len(CASES) + len(EXPORT_ROWS) >= 100


if __name__ == "__main__":
    testing.main(__file__)
