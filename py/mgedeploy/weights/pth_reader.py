"""Reads a legacy (pre-zip) PyTorch `.pth` state dict into NumPy arrays, without torch.

The legacy format is a sequence of pickles followed by raw storage bytes:
  magic number, protocol version, sys info,
  the state dict (tensors are persistent ids `('storage', StorageType, key, location, size)`
  rebuilt through `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`),
  the list of storage keys,
  then for each key: an int64 element count and the little-endian data.
"""
import collections
import pickle
import struct

import numpy as np

_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C

_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class PthFormatError(ValueError):
    """The file is not a legacy PyTorch state dict this reader understands."""


class _StorageType:
    def __init__(self, name):
        if name not in _STORAGE_DTYPES:
            raise PthFormatError("unsupported storage type " + name)
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _Storage:
    """A placeholder for a storage whose bytes come after the pickles."""

    def __init__(self, storage_type, key, size):
        self.dtype = storage_type.dtype
        self.key = key
        self.size = size
        self.data = None


class _TensorRef:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def to_numpy(self):
        data = self.storage.data
        item = data.itemsize
        return np.lib.stride_tricks.as_strided(
            data[self.offset:], shape=self.size, strides=[s * item for s in self.stride]
        ).copy()


def _rebuild_tensor_v2(storage, offset, size, stride, *unused):
    return _TensorRef(storage, offset, size, stride)


class _Unpickler(pickle.Unpickler):
    """Resolves only the handful of globals a state dict needs; anything else is refused."""

    def __init__(self, f, storages):
        super().__init__(f)
        self._storages = storages

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor_v2
        if module == "torch" and name.endswith("Storage"):
            return _StorageType(name)
        raise PthFormatError("refusing to load %s.%s" % (module, name))

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise PthFormatError("unexpected persistent id %r" % (pid,))
        _, storage_type, key, _location, size = pid[:5]
        if key not in self._storages:
            self._storages[key] = _Storage(storage_type, key, size)
        return self._storages[key]


def load_state_dict(path):
    """Returns {name: np.ndarray} in file order. Raises PthFormatError or OSError."""
    with open(path, "rb") as f:
        try:
            magic = pickle.load(f)
            if magic != _MAGIC_NUMBER:
                raise PthFormatError("not a legacy PyTorch file (bad magic number)")
            pickle.load(f)  # protocol version
            pickle.load(f)  # sys info
            storages = {}
            state = _Unpickler(f, storages).load()
            keys = pickle.load(f)
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError) as e:
            raise PthFormatError("cannot unpickle: %s" % e) from e
        for key in keys:
            storage = storages[key]
            header = f.read(8)
            if len(header) != 8:
                raise PthFormatError("truncated before storage " + key)
            (count,) = struct.unpack("<q", header)
            nbytes = count * storage.dtype.itemsize
            raw = f.read(nbytes)
            if len(raw) != nbytes:
                raise PthFormatError("truncated inside storage " + key)
            storage.data = np.frombuffer(raw, dtype=storage.dtype.newbyteorder("<"))
    if not isinstance(state, dict):
        raise PthFormatError("the file holds a %s, not a state dict" % type(state).__name__)
    return collections.OrderedDict((name, ref.to_numpy()) for name, ref in state.items())
