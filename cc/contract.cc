#include "cc/contract.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cc/sha256.h"

namespace megdeploy {

namespace {
constexpr char kFormat[] = "megdeploy-contract/1";
}

std::string ContractPathFor(const std::string& model_path) { return model_path + ".json"; }

std::string ReadFile(const std::string& path, const std::string& what) {
  struct stat info;
  if (stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    throw std::runtime_error(path + ": cannot read " + what + ": Is a directory");
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error(path + ": cannot read " + what + ": " + std::strerror(errno));
  std::ostringstream content;
  content << file.rdbuf();
  if (file.bad()) throw std::runtime_error(path + ": cannot read " + what + ": " + std::strerror(errno));
  return content.str();
}

Contract ReadContract(const std::string& model_path) {
  const std::string path = ContractPathFor(model_path);
  std::ifstream probe(path);
  if (!probe) {
    if (errno == ENOENT) {
      throw ContractError(path + ": no model contract next to the model (export writes it; copy it with the .mge)");
    }
    throw ContractError(path + ": cannot read model contract: " + std::strerror(errno));
  }
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(probe);
  } catch (const nlohmann::json::exception& e) {
    throw ContractError(path + ": model contract is not valid JSON");
  }
  Contract contract;
  try {
    if (json.at("format") != kFormat) throw ContractError(path + ": not a " + std::string(kFormat) + " model contract");
    contract.model = json.at("model").get<std::string>();
    contract.input_name = json.at("input").at("name").get<std::string>();
    contract.input_shape = json.at("input").at("shape").get<std::vector<size_t>>();
    const auto& spec = json.at("preprocess");
    const std::string color = spec.at("color").get<std::string>();
    if (color != "RGB" && color != "BGR") throw ContractError(path + ": unknown color order '" + color + "'");
    contract.preprocess.rgb = color == "RGB";
    contract.preprocess.resize_short = spec.at("resize_short").get<int>();
    contract.preprocess.crop = spec.at("crop").get<int>();
    contract.preprocess.mean = spec.at("mean").get<std::array<float, 3>>();
    contract.preprocess.std = spec.at("std").get<std::array<float, 3>>();
    contract.labels = json.at("labels").get<std::vector<std::string>>();
    contract.meaningful_weights = json.at("weights").value("meaningful", true);
    if (json.contains("lite")) {
      const auto& lite = json.at("lite");
      contract.lite.recorded = !lite.empty();
      if (lite.contains("cpu")) {
        contract.lite.cpu.model_name = lite.at("cpu").value("model_name", std::string());
        contract.lite.cpu.flags = lite.at("cpu").value("flags", std::string());
      }
      contract.lite.nchw88 = lite.value("nchw88", false);
      contract.lite.weight_preprocess = lite.value("weight_preprocess", false);
      contract.lite.record_level = lite.value("record_level", 0);
      contract.lite.fast_run_cache = lite.value("fast_run_cache", std::string());
      contract.lite.fast_run_cache_sha256 = lite.value("fast_run_cache_sha256", std::string());
      if (contract.lite.record_level < 0 || contract.lite.record_level > 2) {
        throw ContractError(path + ": lite.record_level must be 0, 1 or 2");
      }
      if (contract.lite.fast_run_cache.find('/') != std::string::npos) {
        throw ContractError(path + ": lite.fast_run_cache must be a file name beside the model");
      }
    }
    const auto& file = json.at("mge_file");
    const std::string model = ReadFile(model_path, "model");
    const auto size = file.at("size").get<size_t>();
    if (model.size() != size || Sha256Hex(model) != file.at("sha256").get<std::string>()) {
      throw ContractError(model_path + ": the model file does not match its contract " + path + " (" +
                          std::to_string(model.size()) + " bytes, contract says " + std::to_string(size) +
                          "): re-export, or copy the two files together");
    }
  } catch (const nlohmann::json::exception& e) {
    throw ContractError(path + ": model contract lacks a valid field (" + std::string(e.what()) + ")");
  }
  if (contract.preprocess.resize_short < contract.preprocess.crop || contract.preprocess.crop <= 0) {
    throw ContractError(path + ": preprocessing needs 0 < crop <= resize_short");
  }
  return contract;
}

}  // namespace megdeploy
