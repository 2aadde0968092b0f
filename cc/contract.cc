#include "cc/contract.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

namespace megdeploy {
namespace {

using Json = nlohmann::json;

constexpr char kFormat[] = "megdeploy-contract/1";
// A contract is small (1000 labels are ~16 KB): refuse a file that cannot be one before reading it.
constexpr size_t kMaxContractBytes = 16 << 20;

// The rule that failed, without the path: ValidateContract adds it.
struct Invalid {
  std::string reason;
};

[[noreturn]] void Fail(const std::string& field, const std::string& detail) {
  throw Invalid{"invalid field " + field + ": " + detail};
}

const Json& Get(const Json& object, const std::string& key, const std::string& prefix) {
  if (!object.contains(key)) Fail(prefix + key, "missing");
  return object.at(key);
}

const Json& Object(const Json& object, const std::string& key, const std::string& prefix = "") {
  const Json& value = Get(object, key, prefix);
  if (!value.is_object()) Fail(prefix + key, "expected an object");
  return value;
}

std::string String(const Json& object, const std::string& key, const std::string& prefix = "") {
  const Json& value = Get(object, key, prefix);
  if (!value.is_string() || value.get<std::string>().empty()) Fail(prefix + key, "expected a non-empty string");
  return value.get<std::string>();
}

bool IsPositiveInt(const Json& value) {
  return value.is_number_integer() && (value.is_number_unsigned() || value.get<long long>() > 0) &&
         value.get<long long>() != 0;
}

std::vector<size_t> PositiveInts(const Json& object, const std::string& key, size_t count,
                                 const std::string& prefix) {
  const Json& value = Get(object, key, prefix);
  bool ok = value.is_array() && value.size() == count;
  for (size_t i = 0; ok && i < value.size(); ++i) ok = IsPositiveInt(value[i]);
  if (!ok) Fail(prefix + key, "expected " + std::to_string(count) + " positive integers");
  return value.get<std::vector<size_t>>();
}

int PositiveInt(const Json& object, const std::string& key, const std::string& prefix) {
  const Json& value = Get(object, key, prefix);
  if (!IsPositiveInt(value) || value.get<long long>() > (1 << 30)) Fail(prefix + key, "expected a positive integer");
  return value.get<int>();
}

std::array<float, 3> Numbers(const Json& object, const std::string& key, size_t count, const std::string& prefix,
                             bool positive) {
  const Json& value = Get(object, key, prefix);
  bool ok = value.is_array() && value.size() == count;
  for (size_t i = 0; ok && i < value.size(); ++i) {
    ok = value[i].is_number() && (!positive || value[i].get<double>() > 0);
  }
  if (!ok) {
    Fail(prefix + key, "expected " + std::to_string(count) + (positive ? " positive number" : " number") +
                           (count != 1 ? "s" : ""));
  }
  std::array<float, 3> numbers{};
  for (size_t i = 0; i < count && i < numbers.size(); ++i) numbers[i] = value[i].get<float>();
  return numbers;
}

void Flag(const Json& object, const std::string& key, const std::string& prefix) {
  if (object.contains(key) && !object.at(key).is_boolean()) Fail(prefix + key, "expected true or false");
}

bool IsSha256(const Json& value) {
  static const std::regex hex("^[0-9a-f]{64}$");
  return value.is_string() && std::regex_match(value.get<std::string>(), hex);
}

// The rules, in the order contract.py checks them.
Contract Check(const Json& json) {
  if (!json.is_object() || !json.contains("format") || json.at("format") != kFormat) {
    throw Invalid{std::string("not a ") + kFormat + " model contract"};
  }
  Contract contract;
  contract.model = String(json, "model");
  const Json& input = Object(json, "input");
  contract.input_name = String(input, "name", "input.");
  contract.input_shape = PositiveInts(input, "shape", 4, "input.");
  if (contract.input_shape[1] != 1 && contract.input_shape[1] != 3) {
    Fail("input.shape", "expected 1 or 3 channels (NCHW)");
  }
  const Json& output = Object(json, "output");
  const std::vector<size_t> output_shape = PositiveInts(output, "shape", 2, "output.");
  if (output_shape[0] != contract.input_shape[0]) Fail("output.shape", "the batch must be input.shape's");
  const Json& spec = Object(json, "preprocess");
  const Json& color = Get(spec, "color", "preprocess.");
  if (color != "RGB" && color != "BGR" && color != "GRAY") Fail("preprocess.color", "expected one of RGB, BGR, GRAY");
  if ((color == "GRAY") != (contract.input_shape[1] == 1)) {
    Fail("preprocess.color", "GRAY needs 1 input channel, RGB and BGR need 3");
  }
  contract.preprocess.color = color.get<std::string>();
  contract.preprocess.channels = static_cast<int>(contract.input_shape[1]);
  contract.preprocess.resize_short = PositiveInt(spec, "resize_short", "preprocess.");
  contract.preprocess.crop = PositiveInt(spec, "crop", "preprocess.");
  if (contract.preprocess.crop > contract.preprocess.resize_short) {
    Fail("preprocess.crop", "must not exceed preprocess.resize_short");
  }
  const size_t crop = static_cast<size_t>(contract.preprocess.crop);
  if (contract.input_shape[2] != crop || contract.input_shape[3] != crop) {
    Fail("input.shape", "height and width must equal preprocess.crop");
  }
  contract.preprocess.mean = Numbers(spec, "mean", contract.input_shape[1], "preprocess.", false);
  contract.preprocess.std = Numbers(spec, "std", contract.input_shape[1], "preprocess.", true);
  const Json& labels = Get(json, "labels", "");
  bool strings = labels.is_array();
  for (size_t i = 0; strings && i < labels.size(); ++i) strings = labels[i].is_string();
  if (!strings) Fail("labels", "expected a list of strings");
  contract.labels = labels.get<std::vector<std::string>>();
  if (contract.labels.size() != output_shape[1]) {
    Fail("labels", std::to_string(contract.labels.size()) + " names for " + std::to_string(output_shape[1]) +
                       " classes in output.shape");
  }
  const Json& weights = Object(json, "weights");
  if (weights.contains("meaningful") && weights.at("meaningful").is_boolean()) {
    contract.meaningful_weights = weights.at("meaningful").get<bool>();
  }
  if (json.contains("lite")) {
    const Json& lite = Object(json, "lite");
    contract.lite.recorded = !lite.empty();
    Flag(lite, "weight_preprocess", "lite.");
    Flag(lite, "nchw88", "lite.");
    contract.lite.weight_preprocess = lite.value("weight_preprocess", false);
    contract.lite.nchw88 = lite.value("nchw88", false);
    if (lite.contains("record_level")) {
      const Json& level = lite.at("record_level");
      if (!level.is_number_integer() || level.get<long long>() < 0 || level.get<long long>() > 2) {
        Fail("lite.record_level", "expected 0, 1 or 2");
      }
      contract.lite.record_level = level.get<int>();
    }
    if (lite.contains("fast_run_cache")) {
      const Json& cache = lite.at("fast_run_cache");
      if (!cache.is_string() || cache.get<std::string>().empty() ||
          cache.get<std::string>().find('/') != std::string::npos || cache == "." || cache == "..") {
        Fail("lite.fast_run_cache", "expected a file name beside the model");
      }
      if (!lite.contains("fast_run_cache_sha256") || !IsSha256(lite.at("fast_run_cache_sha256"))) {
        Fail("lite.fast_run_cache_sha256", "expected a SHA-256 in hex");
      }
      contract.lite.fast_run_cache = cache.get<std::string>();
      contract.lite.fast_run_cache_sha256 = lite.at("fast_run_cache_sha256").get<std::string>();
    }
    if (lite.contains("cpu")) {
      const Json& cpu = Object(lite, "cpu", "lite.");
      for (const char* key : {"model_name", "flags"}) {
        if (!cpu.contains(key) || !cpu.at(key).is_string()) Fail(std::string("lite.cpu.") + key, "expected a string");
      }
      contract.lite.cpu.model_name = cpu.at("model_name").get<std::string>();
      contract.lite.cpu.flags = cpu.at("flags").get<std::string>();
    }
  }
  const Json& mge = Object(json, "mge_file");
  const Json& size = Get(mge, "size", "mge_file.");
  if (!size.is_number_integer() || (!size.is_number_unsigned() && size.get<long long>() < 0)) {
    Fail("mge_file.size", "expected a size in bytes");
  }
  contract.mge_size = size.get<size_t>();
  const Json& digest = Get(mge, "sha256", "mge_file.");
  if (!IsSha256(digest)) Fail("mge_file.sha256", "expected a SHA-256 in hex");
  contract.mge_sha256 = digest.get<std::string>();
  return contract;
}

}  // namespace

Contract ValidateContract(const nlohmann::json& json, const std::string& path) {
  try {
    return Check(json);
  } catch (const Invalid& e) {
    throw ContractError(path + ": " + e.reason);
  } catch (const nlohmann::json::exception& e) {  // a value out of range for its C++ type
    throw ContractError(path + ": invalid value (" + std::string(e.what()) + ")");
  }
}

Contract LoadContract(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) {
      throw ContractError(path + ": no model contract next to the model (export writes it; copy it with the .mge)");
    }
    throw ContractError(path + ": cannot read model contract: " + std::strerror(errno));
  }
  if (S_ISREG(info.st_mode) && static_cast<size_t>(info.st_size) > kMaxContractBytes) {
    throw ContractError(path + ": model contract is too big (" + std::to_string(info.st_size) + " bytes)");
  }
  std::string text;
  try {
    text = ReadFile(path, "model contract");
  } catch (const std::runtime_error& e) {
    throw ContractError(e.what());
  }
  const Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) throw ContractError(path + ": model contract is not valid JSON");
  return ValidateContract(json, path);
}

Contract ReadContract(const ModelFile& model) {
  const std::string path = ContractPathFor(model.path);
  Contract contract = LoadContract(path);
  const size_t size = model.bytes->size();
  if (size != contract.mge_size || model.sha256 != contract.mge_sha256) {
    const std::string why = size != contract.mge_size
                                ? std::to_string(size) + " bytes, contract says " + std::to_string(contract.mge_size)
                                : std::string("same size, but its SHA-256 differs");
    throw ContractError(model.path + ": the model file does not match its contract " + path + " (" + why +
                        "): re-export, or copy the two files together");
  }
  return contract;
}

}  // namespace megdeploy
