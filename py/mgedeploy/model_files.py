"""The model file: checked, then read once and hashed as it is read, so that what Lite loads is
the bytes that were verified against the contract (the C++ twin: cc/model_files.h)."""
import collections
import errno
import hashlib
import os
import stat

# Lite reads the whole model into memory: refuse what cannot be a sane model before it does.
MAX_MODEL_BYTES = 1 << 30
_CHUNK = 1 << 20

# A model file's bytes as they were read, and their SHA-256 (lowercase hex).
ModelFile = collections.namedtuple("ModelFile", "path data sha256")


class ModelError(RuntimeError):
    """The model could not be read, loaded or run; the message names the file."""


def key_for_plain_model(path):
    """The error for a model key given with a model that is not encrypted (a sidecar model or a
    plain packed one): the one place of its words."""
    return ModelError("%s: a model key was given, but the model is not encrypted" % path)


def check_model_file(path):
    """Fails early, with a clear reason, on what Lite would report confusingly or wait on forever
    (a FIFO, /dev/zero). The same checks and words as CheckModelFile in cc/model_files.cc."""
    try:
        info = os.stat(path)
    except OSError as e:
        if e.errno == errno.ENOENT:
            raise ModelError("%s: cannot open model: model file not found" % path) from None
        if e.errno == errno.ELOOP:
            raise ModelError("%s: cannot open model: symbolic link loop" % path) from None
        raise ModelError("%s: cannot open model: %s" % (path, e.strerror or e)) from None

    if stat.S_ISDIR(info.st_mode):
        raise ModelError("%s: is a directory, not a model file" % path)
    if not stat.S_ISREG(info.st_mode):
        raise ModelError("%s: cannot open model: not a regular file" % path)
    if not os.access(path, os.R_OK):
        raise ModelError("%s: cannot read model: permission denied" % path)
    if info.st_size == 0:
        raise ModelError("%s: model file is empty" % path)
    if info.st_size > MAX_MODEL_BYTES:
        raise ModelError("%s: model file is too big (%d bytes; the limit is %d)" % (path, info.st_size,
                                                                                   MAX_MODEL_BYTES))


def read_model_file(path):
    """check_model_file, then one read of the file, hashed as it is read (a file that grows past
    MAX_MODEL_BYTES meanwhile is refused). Returns a ModelFile; raises ModelError."""
    check_model_file(path)
    digest, chunks, size = hashlib.sha256(), [], 0
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                size += len(chunk)
                if size > MAX_MODEL_BYTES:
                    raise ModelError("%s: model file is too big (it grew past the limit of %d bytes while being "
                                     "read)" % (path, MAX_MODEL_BYTES))
                digest.update(chunk)
                chunks.append(chunk)
    except OSError as e:
        raise ModelError("%s: cannot read model: %s" % (path, e.strerror or e)) from None
    if not size:
        raise ModelError("%s: model file is empty" % path)
    return ModelFile(path, b"".join(chunks), digest.hexdigest())
