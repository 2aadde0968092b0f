#include "cc/packed_model.h"

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "cc/model_encryption.h"

namespace megdeploy {
namespace {

const std::string kTag = "packed_model";
const std::string kNoEncryption = "NONE";

// A reason for "not a packed model we can read: ...".
class PackedModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A table: its position, its vtable's position and the vtable's size in bytes.
struct Table {
  size_t pos, vtable, size;
};

// FlatBuffer reads with every offset checked against the buffer, as packed_model.py's _Reader
// (the flatbuffers library's verifier would need its generated code and compiler; the format's
// few rules are these): a table starts with a signed offset back to its vtable, which lists each
// field's offset (0: absent); strings and vectors are a u32 length, then the elements.
class Reader {
 public:
  Reader(const char* data, size_t size) : data_(data), size_(size) {}

  template <typename T>
  T At(long long pos, const std::string& what = "the buffer") const {
    if (pos < 0 || static_cast<unsigned long long>(pos) + sizeof(T) > size_) {
      throw PackedModelError("offset " + std::to_string(pos) + " of " + what + " is outside the file's " +
                             std::to_string(size_) + " bytes");
    }
    T value;
    std::memcpy(&value, data_ + pos, sizeof(T));  // little-endian, as on every target we build for
    return value;
  }

  Table TableAt(long long pos, const std::string& what) const {
    const long long vtable = pos - At<int32_t>(pos, what);
    const uint16_t size = At<uint16_t>(vtable, what);
    if (size < 4 || size % 2) throw PackedModelError(what + " has a malformed field table");
    return {static_cast<size_t>(pos), static_cast<size_t>(vtable), size};
  }

  std::optional<long long> Field(const Table& table, int slot) const {
    if (4 + 2 * slot + 2 > static_cast<int>(table.size)) return std::nullopt;
    const uint16_t offset = At<uint16_t>(static_cast<long long>(table.vtable) + 4 + 2 * slot);
    if (!offset) return std::nullopt;
    return static_cast<long long>(table.pos) + offset;
  }

  std::optional<long long> Target(const Table& table, int slot, const std::string& what) const {
    const std::optional<long long> where = Field(table, slot);
    if (!where) return std::nullopt;
    return *where + At<uint32_t>(*where, what);
  }

  std::optional<Table> FieldTable(const Table& table, int slot, const std::string& what) const {
    const std::optional<long long> target = Target(table, slot, what);
    if (!target) return std::nullopt;
    return TableAt(*target, what);
  }

  std::optional<std::string> Bytes(const Table& table, int slot, const std::string& what) const {
    const std::optional<long long> target = Target(table, slot, what);
    if (!target) return std::nullopt;
    const uint32_t length = At<uint32_t>(*target, what);
    if (static_cast<unsigned long long>(*target) + 4 + length > size_) {
      throw PackedModelError(what + " claims " + std::to_string(length) + " bytes, past the end of the file");
    }
    return std::string(data_ + *target + 4, length);
  }

  std::string String(const Table& table, int slot, const std::string& what) const {
    return Bytes(table, slot, what).value_or("");
  }

  std::vector<Table> TablesIn(const Table& table, int slot, const std::string& what) const {
    const std::optional<long long> target = Target(table, slot, what);
    if (!target) return {};
    const uint32_t count = At<uint32_t>(*target, what);
    if (count > 16 || static_cast<unsigned long long>(*target) + 4 + 4ULL * count > size_) {
      throw PackedModelError(what + " claims " + std::to_string(count) + " entries");
    }
    std::vector<Table> tables;
    for (uint32_t i = 0; i < count; ++i) {
      const long long at = *target + 4 + 4LL * i;
      tables.push_back(TableAt(at + At<uint32_t>(at, what), what));
    }
    return tables;
  }

 private:
  const char* data_;
  size_t size_;
};

struct Unpacked {
  std::string model_decryption, info_decryption;
  std::optional<std::string> info, graph, fast_run_cache;
};

Unpacked Unpack(const std::string& bytes) {
  const Reader reader(bytes.data() + kTag.size(), bytes.size() - kTag.size());
  const Table root = reader.TableAt(reader.At<uint32_t>(0), "PackModel");
  const std::vector<Table> models = reader.TablesIn(root, 0, "PackModel.models");
  if (models.size() != 1) {
    throw PackedModelError("it holds " + std::to_string(models.size()) +
                           " models; Lite reads packed files of exactly one");
  }
  const std::optional<Table> header = reader.FieldTable(models[0], 0, "Model.header");
  const std::optional<Table> info = reader.FieldTable(models[0], 1, "Model.info");
  const std::optional<Table> data = reader.FieldTable(models[0], 2, "Model.data");
  if (!header || !data) throw PackedModelError(std::string("it has no ") + (!header ? "header" : "model data"));
  Unpacked unpacked;
  // Every header field is read (and so checked), in packed_model.py's order.
  const char* fields[] = {"name", "info_decryption_method", "info_parse_method", "model_decryption_method",
                          "info_cache_parse_method"};
  for (int slot = 0; slot < 5; ++slot) {
    const std::string value = reader.String(*header, slot, std::string("ModelHeader.") + fields[slot]);
    if (slot == 1) unpacked.info_decryption = value;
    if (slot == 3) unpacked.model_decryption = value;
  }
  if (const std::optional<long long> flag = reader.Field(*header, 5)) reader.At<uint8_t>(*flag);
  unpacked.graph = reader.Bytes(*data, 0, "ModelData.data");
  if (!unpacked.graph || unpacked.graph->empty()) throw PackedModelError("its model data is empty");
  if (info) {
    unpacked.info = reader.Bytes(*info, 0, "ModelInfo.data");
    unpacked.fast_run_cache = reader.Bytes(*info, 1, "ModelInfo.algo_policy");
  }
  return unpacked;
}

nlohmann::json ContractFromInfo(const std::string& info) {
  nlohmann::json parsed = nlohmann::json::parse(info, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    throw PackedModelError("its info section is not JSON (encrypted without a key, or damaged)");
  }
  if (!parsed.is_object() || !parsed.contains("extra_info") || !parsed["extra_info"].is_object()) {
    throw PackedModelError("its info section holds no model contract (extra_info)");
  }
  return parsed["extra_info"];
}

std::string Short(const std::string& sha256) { return sha256.substr(0, 12) + "..."; }

}  // namespace

bool IsPacked(const std::string& bytes) { return bytes.compare(0, kTag.size(), kTag) == 0; }

ModelAndContract ReadPacked(const ModelFile& model, const std::string& key) {
  Unpacked unpacked;
  nlohmann::json info;
  const bool sealed = IsSealed(*model.bytes);
  try {
    std::string unsealed;
    if (sealed) {
      if (key.empty()) {
        throw ModelError(model.path + ": the model is encrypted: give its key with --model_key_file FILE (or $" +
                         kModelKeyFileEnv + ")");
      }
      unsealed = Unseal(*model.bytes, key);
    }
    unpacked = Unpack(sealed ? unsealed : *model.bytes);
    std::set<std::string> methods = {unpacked.model_decryption, unpacked.info_decryption};
    if (!sealed && methods != std::set<std::string>{kNoEncryption}) {
      throw PackedModelError("it is encrypted (" + unpacked.model_decryption +
                             ") but has no authentication tag (truncated, or not made by export)");
    }
    if (!sealed && !key.empty()) {
      throw KeyForPlainModel(model.path);
    }
    if (sealed && methods != std::set<std::string>{kEncryptionMethod}) {
      std::string names;
      for (const std::string& method : methods) names += (names.empty() ? "" : ", ") + method;
      throw PackedModelError("it is encrypted with " + names + ", not " + kEncryptionMethod);
    }
    if (!unpacked.info) throw PackedModelError("it has no info section, so no model contract");
    if (sealed) {
      unpacked.graph = DecryptAesDefault(key, *unpacked.graph);
      unpacked.info = DecryptAesDefault(key, *unpacked.info);
    }
    info = ContractFromInfo(*unpacked.info);
  } catch (const TagError& e) {
    throw ModelError(model.path + ": " + e.what());
  } catch (const PackedModelError& e) {
    throw ModelError(model.path + ": not a packed model we can read: " + e.what());
  } catch (const std::invalid_argument& e) {  // AES blocks export did not make, behind a matching tag
    throw ModelError(model.path + ": not a packed model we can read: " + e.what());
  }
  ModelAndContract packed;
  packed.contract = ValidateContract(info, model.path + " (its packed contract)");
  auto graph = std::make_shared<const std::string>(std::move(*unpacked.graph));
  packed.graph = {model.path, graph, Sha256Hex(*graph)};
  if (graph->size() != packed.contract.mge_size || packed.graph.sha256 != packed.contract.mge_sha256) {
    throw ContractError(model.path + ": its parts do not belong together: the graph is " +
                        std::to_string(graph->size()) + " bytes with SHA-256 " + Short(packed.graph.sha256) +
                        ", the packed contract says " + std::to_string(packed.contract.mge_size) + " bytes, " +
                        Short(packed.contract.mge_sha256) + ": re-export with --pack");
  }
  packed.fast_run_cache = unpacked.fast_run_cache.value_or("");
  return packed;
}

}  // namespace megdeploy
