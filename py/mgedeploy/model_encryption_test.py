"""Encrypted packed models (model_encryption.py): `//py:export --encrypt_key_file` writes a file
with neither the plain graph nor the contract in it; with the key, //py:inference answers exactly
as the plain model, and Lite itself decrypts it with the key registered for its built-in
AES_default; a wrong key, no key, a flipped byte, a truncation, a key for a plain model: one line,
exit 1, before Lite sees a byte; //cc:inference (the C++ twin, libcrypto) says the same lines and
answers the same records."""
import ctypes
import json
import os
import re

import pytest

from mgedeploy import Classifier, contract, model_encryption, model_files, packed_model
from tests import testing

DIGITS = os.path.join(testing.TESTDATA, "repository", "digits", "1", "model.mge")
REPOSITORY = os.path.join(testing.TESTDATA, "repository")


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    root = tmp_path_factory.mktemp("keys")
    raw = write(str(root / "model.key"), os.urandom(32))
    hexed = write(str(root / "model.hex"), (os.urandom(32).hex() + "\n").encode())
    return raw, hexed


@pytest.fixture(scope="module")
def encrypted(tmp_path_factory, keys):
    """The digits model exported by the program with --encrypt_key_file (so --pack)."""
    output = str(tmp_path_factory.mktemp("encrypted") / "digits.mge")
    result = testing.run("export", "--model", os.path.join(REPOSITORY, "models.py") + ":digits_1", "--preprocess",
                         os.path.join(REPOSITORY, "digits_preprocess.json"), "--lite_settings", "none",
                         "--encrypt_key_file", keys[0], "--output", output)
    assert result.returncode == 0, result.stderr
    assert "packed, encrypted" in result.stdout
    return output


def test_the_file_holds_neither_the_graph_nor_the_contract(encrypted):
    data = open(encrypted, "rb").read()
    graph = open(DIGITS, "rb").read()
    assert not any(graph[i:i + 65] in data for i in range(0, len(graph) - 65))  # no 65-byte run of the graph
    info = contract.read(DIGITS)
    for text in [json.dumps(info["preprocess"]), "megdeploy-contract", info["input"]["name"], '"labels"']:
        assert text.encode() not in data, text
    assert os.listdir(os.path.dirname(encrypted)) == ["digits.mge"]


def test_with_the_key_it_answers_as_the_plain_model(encrypted, keys):
    plain = testing.run("py_inference", "-m", DIGITS, "--json")
    for program in testing.INFERENCE:
        for how in (["--model_key_file", keys[0]], []):
            env = dict(os.environ, **({model_encryption.KEY_FILE_ENV: keys[0]} if not how else {}))
            result = testing.run(program, "-m", encrypted, "--json", *how, env=env)
            assert result.returncode == 0, (program, result.stderr)
            assert [dict(json.loads(line), model="") for line in result.stdout.splitlines()] == \
                [dict(json.loads(line), model="") for line in plain.stdout.splitlines()], program
    for program in testing.BENCHMARK:
        result = testing.run(program, "-m", encrypted, "--iters", "2", "--json", "--model_key_file", keys[0])
        assert result.returncode == 0, (program, result.stderr)
    key = model_encryption.read_key(keys[0])
    assert (Classifier(encrypted, model_key=key).probabilities(testing.CAT).tobytes()
            == Classifier(DIGITS).probabilities(testing.CAT).tobytes())


def test_lite_itself_decrypts_it_with_the_key_registered(encrypted, keys):
    """What any Lite application holding the key does: give the key to the built-in AES_default,
    load the file with Lite's own parser, read the contract back."""
    import megenginelite

    key = model_encryption.read_key(keys[0])
    api = megenginelite.LiteNetwork()._api
    buffer = (ctypes.c_uint8 * len(key)).from_buffer_copy(key)
    assert api.LITE_update_decryption_or_key(b"AES_default", None, buffer, len(key)) == 0
    network = megenginelite.LiteNetwork()
    network.load(encrypted)
    text, size = ctypes.c_char_p(), ctypes.c_int()
    assert api.LITE_get_model_extra_info(network._network, ctypes.byref(text), ctypes.byref(size)) == 0
    assert json.loads(ctypes.string_at(text, size.value)) == Classifier(encrypted, model_key=key).contract


def test_hex_keys_and_bad_key_files(keys, tmp_path):
    assert len(model_encryption.read_key(keys[1])) == 32
    for data, words in ((b"short", "a model key is 32 bytes, or 64 hex digits; this file has 5 bytes"),
                        (b"z" * 64, "this file has 64 bytes"), (b"x" * 5000, "too big")):
        path = write(str(tmp_path / "bad.key"), data)
        with pytest.raises(model_encryption.KeyFileError, match="bad.key: .*" + words):
            model_encryption.read_key(path)
    result = testing.run("export", "--encrypt_key_file", str(tmp_path), "--output", str(tmp_path / "m.mge"))
    testing.assert_one_line_error(result, 1, "the model key file is not a regular file")


def test_the_servers_offer_their_key_to_encrypted_files_only(encrypted, keys, tmp_path):
    key = model_encryption.read_key(keys[0])
    assert model_encryption.key_for_file(encrypted, key) == key
    assert model_encryption.key_for_file(encrypted, None) is None
    tiny = write(str(tmp_path / "tiny.mge"), model_encryption.MARK)
    for plain in (DIGITS, tiny, str(tmp_path / "missing.mge"), str(tmp_path)):
        assert model_encryption.key_for_file(plain, key) is None, plain


def test_every_wrong_way_is_one_line(encrypted, keys, tmp_path):
    data = open(encrypted, "rb").read()
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 1
    other_key = write(str(tmp_path / "other.key"), os.urandom(32))
    cases = [
        ("wrong key", data, ["--model_key_file", other_key], "wrong key, or the file was modified"),
        ("no key", data, [], "the model is encrypted: give its key with --model_key_file FILE"),
        ("a flipped byte", bytes(flipped), ["--model_key_file", keys[0]], "wrong key, or the file was modified"),
        ("truncated", data[:len(data) // 2], ["--model_key_file", keys[0]], "not a packed model we can read"),
        ("tag cut off", data[:-40], ["--model_key_file", keys[0]], "it is encrypted (AES_default) but has no authentication tag"),
    ]
    for name, content, flags, words in cases:
        path = write(str(tmp_path / "case.mge"), content)
        results = [testing.run(program, "-m", path, *flags) for program in testing.INFERENCE]
        testing.assert_one_line_error(results[0], 1, "case.mge: " + (words if "encrypted (" not in words else "not a packed model we can read: " + words))
        assert testing.stderr_lines(results[0]) == testing.stderr_lines(results[1]), [r.stderr for r in results]
        assert results[1].returncode == 1, name
        with pytest.raises(model_files.ModelError, match=re.escape(words)):
            Classifier(path, model_key=model_encryption.read_key(flags[1]) if flags else None)
    packed = write(str(tmp_path / "plain_packed.mge"), packed_model.pack(open(DIGITS, "rb").read(), contract.read(DIGITS)))
    bad_key = write(str(tmp_path / "bad.key"), b"short")
    for program in testing.INFERENCE:
        for model in (DIGITS, packed):
            testing.assert_one_line_error(testing.run(program, "-m", model, "--model_key_file", keys[0]), 1,
                                          "a model key was given, but the model is not encrypted")
        testing.assert_one_line_error(testing.run(program, "-m", encrypted, "--model_key_file", keys[1]), 1,
                                      "wrong key")  # a hex key file works, and is another key
        testing.assert_one_line_error(testing.run(program, "-m", encrypted, "--model_key_file", bad_key), 1,
                                      "bad.key: a model key is 32 bytes, or 64 hex digits; this file has 5 bytes")


if __name__ == "__main__":
    testing.main(__file__)
