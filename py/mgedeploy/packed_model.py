"""Lite's packed model: one file with the graph, an info section Lite parses, and the fast-run cache
(MegEngine's lite/src/parse_model/pack_model.fbs and model_parser.cpp, which this follows):

    b"packed_model" + a FlatBuffer: PackModel { models: [Model {
        header: ModelHeader { name, info_decryption_method, info_parse_method,
                              model_decryption_method, info_cache_parse_method, is_fast_run_cache },
        info:   ModelInfo { data: the info JSON, algo_policy: the fast-run cache },
        data:   ModelData { data: the graph (the plain .mge) } }] }

The info is what Lite's built-in "LITE_default" parser reads: {"valid", "name", "version",
"extra_info"}; our contract is its extra_info, which any Lite application gets back with
LITE_get_model_extra_info (Lite re-serialises it). Nothing in the info configures Lite: the
contract's own settings are applied by our programs, as for a sidecar model.

Writing uses the flatbuffers package's Builder. Reading is ours (here and in cc/packed_model.cc):
the package's Python reader has no verifier and follows offsets unchecked, and this file comes from
outside, so every offset is checked against the buffer before it is followed.
"""
import json
import struct

from mgedeploy import model_encryption

TAG = b"packed_model"
PARSER = "LITE_default"  # Lite's built-in info parser
CACHE_PARSER = "LITE_parse_cache"  # Lite's built-in fast-run cache parser
NO_ENCRYPTION = "NONE"
_HEADER_FIELDS = ("name", "info_decryption_method", "info_parse_method", "model_decryption_method",
                  "info_cache_parse_method", "is_fast_run_cache")


class PackedModelError(ValueError):
    """Not a packed model we can read; the message is the reason (the caller names the file)."""


def is_packed(data):
    return bytes(data[:len(TAG)]) == TAG


def pack(graph, contract, fast_run_cache=None, lite_version="1.13.0", key=None):
    """The packed file's bytes: `graph` (the .mge bytes), `contract` (a dict) as the info's
    extra_info, and the fast-run cache bytes if any. key: 32 bytes to encrypt the graph and the info
    with (model_encryption.py; the cache stays plain: Lite never decrypts it), and seal the file."""
    import flatbuffers

    name = _model_name(contract)
    info = info_json(contract, lite_version)
    method = NO_ENCRYPTION
    if key is not None:
        graph, info, method = model_encryption.encrypt(key, graph), model_encryption.encrypt(key, info), \
            model_encryption.METHOD
    builder = flatbuffers.Builder(len(graph) + len(info) + len(fast_run_cache or b"") + 1024)
    strings = [builder.CreateString(text) for text in (
        name, method, PARSER, method, CACHE_PARSER if fast_run_cache else "")]
    builder.StartObject(len(_HEADER_FIELDS))
    for slot, offset in enumerate(strings):
        builder.PrependUOffsetTRelativeSlot(slot, offset, 0)
    builder.PrependBoolSlot(5, bool(fast_run_cache), False)
    header = builder.EndObject()

    info_data = builder.CreateByteVector(info)
    policy = builder.CreateByteVector(fast_run_cache) if fast_run_cache else None
    builder.StartObject(3)
    builder.PrependUOffsetTRelativeSlot(0, info_data, 0)
    if policy is not None:
        builder.PrependUOffsetTRelativeSlot(1, policy, 0)
    model_info = builder.EndObject()

    graph_data = builder.CreateByteVector(graph)
    builder.StartObject(1)
    builder.PrependUOffsetTRelativeSlot(0, graph_data, 0)
    model_data = builder.EndObject()

    builder.StartObject(3)
    for slot, offset in enumerate((header, model_info, model_data)):
        builder.PrependUOffsetTRelativeSlot(slot, offset, 0)
    model = builder.EndObject()

    builder.StartVector(4, 1, 4)
    builder.PrependUOffsetTRelative(model)
    models = builder.EndVector()
    builder.StartObject(1)
    builder.PrependUOffsetTRelativeSlot(0, models, 0)
    builder.Finish(builder.EndObject())
    data = TAG + bytes(builder.Output())
    return data if key is None else model_encryption.seal(data, key)


def info_json(contract, lite_version):
    """The info section Lite's LITE_default parser accepts, with the contract as its extra_info."""
    return json.dumps({"valid": True, "name": _model_name(contract), "version": lite_version,
                       "extra_info": contract}, separators=(",", ":")).encode()


def _model_name(contract):
    """The header's name: the contract's model (packing does not validate: readers do, and the
    conformance table packs invalid contracts too)."""
    name = contract.get("model")
    return name if isinstance(name, str) else ""


def contract_from_info(info):
    """The contract dict inside an info section's bytes; PackedModelError if there is none."""
    try:
        parsed = json.loads(info)
    except (ValueError, UnicodeDecodeError):
        raise PackedModelError("its info section is not JSON (encrypted without a key, or damaged)") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("extra_info"), dict):
        raise PackedModelError("its info section holds no model contract (extra_info)")
    return parsed["extra_info"]


class Unpacked:
    """What a packed file holds: header (dict of its fields), info, graph and fast_run_cache bytes."""

    def __init__(self, header, info, graph, fast_run_cache):
        self.header, self.info, self.graph, self.fast_run_cache = header, info, graph, fast_run_cache


def unpack(data):
    """A packed file's bytes -> Unpacked; PackedModelError for anything out of shape."""
    buf = memoryview(data)[len(TAG):]
    reader = _Reader(buf)
    root = reader.table(reader.u32(0), "PackModel")
    models = reader.vector_of_tables(root, 0, "PackModel.models")
    if len(models) != 1:
        raise PackedModelError("it holds %d models; Lite reads packed files of exactly one" % len(models))
    model = models[0]
    header_table = reader.field_table(model, 0, "Model.header")
    info_table = reader.field_table(model, 1, "Model.info")
    data_table = reader.field_table(model, 2, "Model.data")
    if header_table is None or data_table is None:
        raise PackedModelError("it has no %s" % ("header" if header_table is None else "model data"))
    header = {field: reader.string(header_table, slot, "ModelHeader." + field)
              for slot, field in enumerate(_HEADER_FIELDS[:5])}
    header["is_fast_run_cache"] = reader.bool(header_table, 5)
    graph = reader.bytes(data_table, 0, "ModelData.data")
    if not graph:
        raise PackedModelError("its model data is empty")
    info = reader.bytes(info_table, 0, "ModelInfo.data") if info_table is not None else None
    cache = reader.bytes(info_table, 1, "ModelInfo.algo_policy") if info_table is not None else None
    return Unpacked(header, info, graph, cache)


class _Reader:
    """FlatBuffer reads with every offset checked against the buffer (the format's rules: a table
    starts with a signed offset back to its vtable; a vtable lists each field's offset, 0 = absent;
    strings and vectors are a u32 length, then the elements)."""

    def __init__(self, buf):
        self.buf = buf

    def _at(self, fmt, pos, what="the buffer"):
        size = struct.calcsize(fmt)
        if pos < 0 or pos + size > len(self.buf):
            raise PackedModelError("offset %d of %s is outside the file's %d bytes" % (pos, what, len(self.buf)))
        return struct.unpack_from(fmt, self.buf, pos)[0]

    def u32(self, pos, what="the buffer"):
        return self._at("<I", pos, what)

    def table(self, pos, what):
        vtable = pos - self._at("<i", pos, what)
        size = self._at("<H", vtable, what)
        if size < 4 or size % 2:
            raise PackedModelError("%s has a malformed field table" % what)
        return pos, vtable, size

    def _field(self, table, slot):
        pos, vtable, size = table
        if 4 + 2 * slot + 2 > size:
            return None
        offset = self._at("<H", vtable + 4 + 2 * slot)
        return pos + offset if offset else None

    def _target(self, table, slot, what):
        where = self._field(table, slot)
        return None if where is None else where + self.u32(where, what)

    def field_table(self, table, slot, what):
        target = self._target(table, slot, what)
        return None if target is None else self.table(target, what)

    def bytes(self, table, slot, what):
        target = self._target(table, slot, what)
        if target is None:
            return None
        length = self.u32(target, what)
        if target + 4 + length > len(self.buf):
            raise PackedModelError("%s claims %d bytes, past the end of the file" % (what, length))
        return bytes(self.buf[target + 4:target + 4 + length])

    def string(self, table, slot, what):
        raw = self.bytes(table, slot, what)
        return "" if raw is None else raw.decode("utf-8", "replace")  # only compared, never trusted

    def bool(self, table, slot):
        where = self._field(table, slot)
        return bool(self._at("<B", where)) if where is not None else False

    def vector_of_tables(self, table, slot, what):
        target = self._target(table, slot, what)
        if target is None:
            return []
        count = self.u32(target, what)
        if count > 16 or target + 4 + 4 * count > len(self.buf):
            raise PackedModelError("%s claims %d entries" % (what, count))
        return [self.table(target + 4 + 4 * i + self.u32(target + 4 + 4 * i, what), what) for i in range(count)]


def read(model, key=None):
    """A packed model_files.ModelFile -> (the graph as a ModelFile, its contract, the fast-run cache
    bytes or None). An encrypted file's tag is checked under `key` before anything else is read,
    then its graph and info are decrypted. The contract is validated and held to the graph it came
    with (size and SHA-256, as a sidecar is): parts that do not belong together are a ContractError.
    Unreadable packing, a missing or wrong key, a modified file: ModelError; both name the file."""
    import hashlib

    from mgedeploy import contract as contract_lib
    from mgedeploy import model_files

    data, sealed = model.data, model_encryption.is_sealed(model.data)
    try:
        if sealed:
            if key is None:
                raise model_files.ModelError("%s: the model is encrypted: give its key with --model_key_file FILE "
                                             "(or $%s)" % (model.path, model_encryption.KEY_FILE_ENV))
            data = model_encryption.unseal(data, key)
        unpacked = unpack(data)
        methods = {unpacked.header["model_decryption_method"], unpacked.header["info_decryption_method"]}
        if not sealed and methods != {NO_ENCRYPTION}:
            raise PackedModelError("it is encrypted (%s) but has no authentication tag (truncated, or not made by "
                                   "export)" % unpacked.header["model_decryption_method"])
        if not sealed and key is not None:
            raise model_files.key_for_plain_model(model.path)
        if sealed and methods != {model_encryption.METHOD}:
            raise PackedModelError("it is encrypted with %s, not %s" % (", ".join(sorted(methods)),
                                                                       model_encryption.METHOD))
        if unpacked.info is None:
            raise PackedModelError("it has no info section, so no model contract")
        if sealed:
            unpacked.graph = model_encryption.decrypt(key, unpacked.graph)
            unpacked.info = model_encryption.decrypt(key, unpacked.info)
        info = contract_from_info(unpacked.info)
    except model_encryption.TagError as e:
        raise model_files.ModelError("%s: %s" % (model.path, e)) from None
    except ValueError as e:  # PackedModelError, or AES blocks export did not make behind a matching tag
        raise model_files.ModelError("%s: not a packed model we can read: %s" % (model.path, e)) from None
    where = "%s (its packed contract)" % model.path
    contract_lib.validate(info, where)
    graph = model_files.ModelFile(model.path, unpacked.graph, hashlib.sha256(unpacked.graph).hexdigest())
    expected = info["mge_file"]
    if len(graph.data) != expected["size"] or graph.sha256 != expected["sha256"]:
        raise contract_lib.ContractError("%s: its parts do not belong together: the graph is %d bytes with SHA-256 "
                                         "%s..., the packed contract says %d bytes, %s...: re-export with --pack"
                                         % (model.path, len(graph.data), graph.sha256[:12], expected["size"],
                                            expected["sha256"][:12]))
    return graph, info, unpacked.fast_run_cache
