"""Lite's packed model (packed_model.py): `//py:export --pack` writes one file that Lite itself
loads and whose info Lite gives back (LITE_get_model_extra_info) as our contract; //py:inference
on it prints exactly what it prints for the sidecar model (same graph bytes, same settings: max
difference 0, compared as the --json text); the fast-run cache travels inside; parts that do not
belong together and damaged packing are one-line errors, and no mutant reaches Lite damaged."""
import ctypes
import hashlib
import json
import os
import random
import shutil

import pytest

from mgedeploy import Classifier, classifier, contract, model_files, packed_model
from tests import testing

DIGITS = os.path.join(testing.TESTDATA, "repository", "digits")


def lite_extra_info(path):
    """What any Lite application reads back from a packed file: load it with Lite's own parser,
    then LITE_get_model_extra_info (megenginelite wraps no call for it)."""
    import megenginelite

    network = megenginelite.LiteNetwork()
    network.load(path)
    text, size = ctypes.c_char_p(), ctypes.c_int()
    assert network._api.LITE_get_model_extra_info(network._network, ctypes.byref(text), ctypes.byref(size)) == 0
    return json.loads(ctypes.string_at(text, size.value))


def export(tmp_path, name, *flags):
    output = str(tmp_path / name)
    result = testing.run("export", "--model", "efficientnet_lite0", "--output", output, *flags)
    assert result.returncode == 0, result.stderr
    return output


def inference_json(model, *images, program="py_inference"):
    result = testing.run(program, "-m", model, "--json", *[a for i in images for a in ("-i", i)])
    assert result.returncode == 0, result.stderr
    return [dict(json.loads(line), model="") for line in result.stdout.splitlines()]


@pytest.fixture(scope="module")
def packed_lite0(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("packed")
    return export(tmp_path, "lite0.mge", "--pack", "--lite_settings", "none")


def test_the_packed_export_is_one_file_lite_reads_with_the_contract_inside(packed_lite0):
    assert sorted(os.listdir(os.path.dirname(packed_lite0))) == ["lite0.mge"]  # no sidecar
    graph, info, cache = classifier.read_model(packed_lite0)
    sidecar_info = contract.read(testing.LITE0)
    assert graph.data == open(testing.LITE0, "rb").read()  # the same dump as the build's export
    assert {k: v for k, v in info.items() if k != "model"} == {k: v for k, v in sidecar_info.items() if k != "model"}
    assert cache is None
    assert lite_extra_info(packed_lite0) == info  # Lite's own parser hands back our contract


def test_packed_and_sidecar_models_answer_the_same(packed_lite0):
    photos = [testing.CAT, testing.COFFEE]
    sidecar = inference_json(testing.LITE0, *photos)
    for program in testing.INFERENCE:  # Python and C++: the same --json text, to the last digit
        assert inference_json(packed_lite0, *photos, program=program) == sidecar, program
    assert (Classifier(packed_lite0).probabilities(testing.CAT).tobytes()
            == Classifier(testing.LITE0).probabilities(testing.CAT).tobytes())


def test_the_fast_run_cache_travels_inside(tmp_path):
    output = str(tmp_path / "digits.mge")
    source = os.path.join(testing.TESTDATA, "repository", "models.py")
    result = testing.run("export", "--model", source + ":digits_1", "--preprocess",
                         os.path.join(testing.TESTDATA, "repository", "digits_preprocess.json"),
                         "--lite_settings", "fixed:nchw", "--pack", "--output", output)
    assert result.returncode == 0, result.stderr
    assert os.listdir(str(tmp_path)) == ["digits.mge"]
    graph, info, cache = classifier.read_model(output)
    assert cache and info["lite"]["fast_run_cache_sha256"] == hashlib.sha256(cache).hexdigest()
    unpacked = packed_model.unpack(open(output, "rb").read())
    assert unpacked.header["info_cache_parse_method"] == "LITE_parse_cache" and unpacked.header["is_fast_run_cache"]
    assert lite_extra_info(output) == info  # Lite parses the cache section too, and loads
    packed = Classifier(output)
    assert packed.note is None and packed.runner.options.fast_run  # the cache was found (inside), not "missing"
    # The same parts as sidecars (the graph, its contract, the cache file it names): the same bits.
    sidecar = str(tmp_path / "sidecar" / "digits.mge")
    os.makedirs(os.path.dirname(sidecar))
    with open(sidecar, "wb") as f:
        f.write(graph.data)
    with open(os.path.join(os.path.dirname(sidecar), info["lite"]["fast_run_cache"]), "wb") as f:
        f.write(cache)
    contract.write(info, contract.path_for(sidecar))
    assert packed.probabilities(testing.CAT).tobytes() == Classifier(sidecar).probabilities(testing.CAT).tobytes()
    for program in testing.INFERENCE:
        assert inference_json(output, testing.CAT, program=program) == inference_json(sidecar, testing.CAT), program
    for program in testing.BENCHMARK:  # both benchmarks run it, with the cache from inside
        result = testing.run(program, "-m", output, "--iters", "2", "--json")
        assert result.returncode == 0 and json.loads(result.stdout)["options"] != "default", result.stderr


def test_parts_that_do_not_belong_together_are_refused(tmp_path):
    one, two = (os.path.join(DIGITS, v, "model.mge") for v in ("1", "2"))
    mixed = str(tmp_path / "mixed.mge")
    with open(mixed, "wb") as f:
        f.write(packed_model.pack(open(one, "rb").read(), contract.read(two)))
    with pytest.raises(contract.ContractError, match="mixed.mge: its parts do not belong together: the graph"):
        Classifier(mixed)
    for program in testing.INFERENCE:
        testing.assert_one_line_error(testing.run(program, "-m", mixed), 1, "mixed.mge: its parts do not belong together")


def test_damaged_packing_is_one_line_and_never_reaches_lite(tmp_path):
    good = packed_model.pack(open(os.path.join(DIGITS, "1", "model.mge"), "rb").read(),
                             contract.read(os.path.join(DIGITS, "1", "model.mge")))
    path = str(tmp_path / "damaged.mge")
    for data, words in ((good[:40], "outside the file"), (good[:-100], "(outside|past the end of) the file"),
                        (packed_model.TAG, "outside the file")):
        with open(path, "wb") as f:
            f.write(data)
        with pytest.raises(model_files.ModelError, match="damaged.mge: not a packed model we can read: .*" + words):
            Classifier(path)
        errors = [testing.stderr_lines(testing.run(program, "-m", path)) for program in testing.INFERENCE]
        assert errors[0] == errors[1] and len(errors[0]) == 1, errors  # the twins say the same line
    # 300 mutants (random bytes overwritten anywhere): each is refused before Lite, or is the
    # same model (a byte Lite and we both ignore), never a crash.
    rng = random.Random(0)
    refused = 0
    for _ in range(300):
        mutant = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            mutant[rng.randrange(len(packed_model.TAG), len(mutant))] = rng.randrange(256)
        with open(path, "wb") as f:
            f.write(mutant)
        try:
            graph, info, _ = classifier.read_model(path)
        except (model_files.ModelError, contract.ContractError):
            refused += 1
            continue
        assert graph.data == packed_model.unpack(good).graph  # what reaches Lite is the verified graph
    assert refused >= 250, refused
    # The C++ reader is the same reader: on 40 of those mutants, the two programs agree line for line.
    rng = random.Random(1)
    for _ in range(40):
        mutant = bytearray(good)
        mutant[rng.randrange(len(packed_model.TAG), len(mutant))] = rng.randrange(256)
        with open(path, "wb") as f:
            f.write(mutant)
        results = [testing.run(program, "-m", path, "--json") for program in testing.INFERENCE]
        assert results[0].returncode == results[1].returncode, [r.stderr for r in results]
        assert testing.stderr_lines(results[0]) == testing.stderr_lines(results[1]), [r.stderr for r in results]


def test_a_sidecar_beside_a_packed_model_is_not_read(packed_lite0, tmp_path):
    copy = str(tmp_path / "m.mge")
    shutil.copyfile(packed_lite0, copy)
    with open(copy + ".json", "w") as f:
        f.write("not a contract")
    assert Classifier(copy).labels[282] == "tiger_cat"


if __name__ == "__main__":
    testing.main(__file__)
