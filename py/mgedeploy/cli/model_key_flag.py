"""--model_key_file, shared by the programs that read models (inference, benchmark, both servers)."""
import os

from absl import flags

from mgedeploy import model_encryption
from mgedeploy.cli import paths

MODEL_KEY_FILE = flags.DEFINE_string(
    "model_key_file", None, "The key of encrypted models (export --encrypt_key_file): a file of 32 bytes or 64 hex "
    "digits; default: the file $%s names. The key is never given as a flag's value; the servers offer it to "
    "encrypted models only." % model_encryption.KEY_FILE_ENV)


def key_file():
    """The key file's path (the flag's, resolved where the user ran the command; else the
    environment's, as given), or None."""
    if MODEL_KEY_FILE.value:
        return paths.user_path(MODEL_KEY_FILE.value)
    return os.environ.get(model_encryption.KEY_FILE_ENV) or None


def key():
    """The key's 32 bytes, or None; KeyFileError for a file that is not a key."""
    path = key_file()
    return model_encryption.read_key(path) if path else None
