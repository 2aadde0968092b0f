"""Encrypted packed models (export --encrypt_key_file): the graph and the info section encrypted in
Lite's own AES_default layout under the user's 32-byte key, and an authentication tag after the
FlatBuffer, checked before anything in the file is parsed or decrypted.

AES_default (MegEngine lite/src/decryption/aes_decrypt.h): a 16-byte IV, the AES-256-CBC
ciphertext, then the plaintext's length as 8 big-endian bytes (Lite cuts the padding off by that
length). The key is the user's key itself, so any Lite application holding it can load the file
after LITE_update_decryption_or_key("AES_default", NULL, key, 32). Our programs do not register the
key in Lite (a process-wide table): they check the tag, decrypt here and give Lite the plain graph.

The tag: MARK, then HMAC-SHA256 over every byte before MARK, under a key derived from the user's
key with HKDF-SHA256 (never the encryption key itself). Lite ignores bytes after the FlatBuffer.
AES and HMAC come from the cryptography package and hashlib/hmac; nothing here is hand-made crypto.
"""
import hmac
import os
import stat
import struct

KEY_BYTES = 32
METHOD = "AES_default"
MARK = b"megdeploy-hmac-sha256"
TAG_BYTES = 32
KEY_FILE_ENV = "MEGDEPLOY_MODEL_KEY_FILE"
_MAX_KEY_FILE_BYTES = 4096
_IV_BYTES = 16
_TAG_INFO = b"megdeploy packed model authentication v1"


class KeyFileError(ValueError):
    """A key file that cannot be a key; one line naming it."""


class TagError(ValueError):
    """The tag is missing or does not match; the reason (the caller names the file)."""


def read_key(path):
    """A key file: exactly 32 bytes, or 64 hex digits (whitespace around them allowed)."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError("%s: the model key file is not a regular file" % path)
        if info.st_size > _MAX_KEY_FILE_BYTES:
            raise KeyFileError("%s: the model key file is too big (%d bytes) to be a key" % (path, info.st_size))
        with open(path, "rb") as f:
            data = f.read(_MAX_KEY_FILE_BYTES + 1)
    except OSError as e:
        raise KeyFileError("%s: cannot read the model key file: %s" % (path, e.strerror or e)) from None
    if len(data) == KEY_BYTES:
        return data
    text = data.strip()
    if len(text) == 2 * KEY_BYTES:
        try:
            return bytes.fromhex(text.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            pass
    raise KeyFileError("%s: a model key is %d bytes, or %d hex digits; this file has %d bytes (make one with: "
                       "head -c 32 /dev/urandom > FILE)" % (path, KEY_BYTES, 2 * KEY_BYTES, len(data)))


def key_for_file(path, key):
    """`key` if the file at `path` ends in our authentication tag, else None: the servers hold one key
    for every model they serve and offer it to encrypted ones only (a repository may mix plain and
    encrypted versions). An unreadable file gets None here and its own error when it is read."""
    if key is None:
        return None
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() <= len(MARK) + TAG_BYTES:
                return None
            f.seek(-(len(MARK) + TAG_BYTES + 1), os.SEEK_END)  # is_sealed wants a byte before the mark
            return key if is_sealed(f.read()) else None
    except OSError:
        return None


def encrypt(key, data):
    """AES_default's layout: IV, AES-256-CBC ciphertext (zero-padded to a block), length (8 bytes BE)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    iv = os.urandom(_IV_BYTES)
    padded = bytes(data) + b"\0" * (-len(data) % 16)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return iv + encryptor.update(padded) + encryptor.finalize() + struct.pack(">Q", len(data))


def decrypt(key, blob):
    """The inverse of encrypt; ValueError for a blob that cannot be one (only reached after the tag
    matched, so only for a file that was made wrong)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    body = len(blob) - _IV_BYTES - 8
    if body < 0 or body % 16:
        raise ValueError("an AES_default block of %d bytes" % len(blob))
    length = struct.unpack(">Q", blob[-8:])[0]
    if length > body:
        raise ValueError("an AES_default block claiming %d bytes in %d" % (length, body))
    decryptor = Cipher(algorithms.AES(key), modes.CBC(blob[:_IV_BYTES])).decryptor()
    return (decryptor.update(blob[_IV_BYTES:-8]) + decryptor.finalize())[:length]


def _tag_key(key):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_TAG_INFO).derive(key)


def seal(data, key):
    """`data` with the tag after it."""
    return data + MARK + hmac.new(_tag_key(key), data, "sha256").digest()


def is_sealed(data):
    return len(data) > len(MARK) + TAG_BYTES and bytes(data[-TAG_BYTES - len(MARK):-TAG_BYTES]) == MARK


def unseal(data, key):
    """The bytes before the tag, once the tag matches under `key`; TagError otherwise."""
    if not is_sealed(data):
        raise TagError("it has no authentication tag (truncated, or not made by export)")
    body = data[:-TAG_BYTES - len(MARK)]
    expected = hmac.new(_tag_key(key), body, "sha256").digest()
    if not hmac.compare_digest(expected, bytes(data[-TAG_BYTES:])):
        raise TagError("wrong key, or the file was modified (its authentication tag does not match)")
    return body
