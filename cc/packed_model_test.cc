// Lite's own reading of our packed files, from C++ (what a load_and_run-style application holding
// the file does): LITE_load_model_from_path, then LITE_get_model_extra_info, gives back the contract
// ReadPacked reads — for the packed EfficientNet-Lite0, and for the encrypted digits model once its
// key is given to Lite's built-in AES_default. ReadPacked refuses the encrypted one without the key.
// Usage: packed_model_test PACKED.mge ENCRYPTED.mge KEY_FILE
#include "cc/packed_model.h"

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "cc/model_encryption.h"
#include "cc/model_files.h"
#include "lite_c/lite_c.h"

namespace {

int failures = 0;

void Expect(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what.c_str());
  if (!ok) ++failures;
}

// The contract Lite's own loader finds in the file's info section (null JSON if it cannot load it).
nlohmann::json LitesContract(const std::string& path) {
  LiteNetwork network = nullptr;
  nlohmann::json contract;
  if (LITE_make_default_network(&network) != 0) return contract;
  const char* info = nullptr;
  int size = 0;
  if (LITE_load_model_from_path(network, path.c_str()) == 0 && LITE_get_model_extra_info(network, &info, &size) == 0) {
    // Lite gives back the info's extra_info (our contract), re-serialised.
    nlohmann::json parsed = nlohmann::json::parse(std::string(info, size), nullptr, false);
    if (parsed.is_object()) contract = parsed;
  } else {
    std::printf("Lite: %s\n", LITE_get_last_error());
  }
  LITE_destroy_network(network);
  return contract;
}

void ExpectSameContract(const std::string& path, const std::string& key, const std::string& what) {
  const megdeploy::ModelAndContract ours = megdeploy::ReadPacked(megdeploy::ReadModelFile(path), key);
  const nlohmann::json lites = LitesContract(path);
  Expect(lites.is_object(), what + ": Lite loads it and returns its info");
  if (!lites.is_object()) return;
  const megdeploy::Contract theirs = megdeploy::ValidateContract(lites, path);
  Expect(theirs.model == ours.contract.model && theirs.labels == ours.contract.labels &&
             theirs.input_shape == ours.contract.input_shape && theirs.mge_sha256 == ours.contract.mge_sha256 &&
             theirs.mge_size == ours.graph.bytes->size(),
         what + ": Lite's contract is ReadPacked's (" + theirs.model + ", " +
             std::to_string(theirs.labels.size()) + " labels, graph " + theirs.mge_sha256.substr(0, 12) + "...)");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: packed_model_test PACKED.mge ENCRYPTED.mge KEY_FILE\n");
    return 2;
  }
  LITE_set_log_level(LITE_LOG_ERROR);
  const std::string packed = argv[1], encrypted = argv[2];
  const std::string key = megdeploy::ReadModelKey(argv[3]);
  ExpectSameContract(packed, "", "packed EfficientNet-Lite0");

  std::string refusal;
  try {
    megdeploy::ReadPacked(megdeploy::ReadModelFile(encrypted));
  } catch (const megdeploy::ModelError& e) {
    refusal = e.what();
  }
  Expect(refusal == encrypted + ": the model is encrypted: give its key with --model_key_file FILE (or "
                                "$MEGDEPLOY_MODEL_KEY_FILE)",
         "ReadPacked without the key: " + refusal);
  // A test program may set Lite's process-wide key table; a library must not.
  Expect(LITE_update_decryption_or_key("AES_default", nullptr, reinterpret_cast<const uint8_t*>(key.data()),
                                       key.size()) == 0,
         "Lite takes the key for AES_default");
  ExpectSameContract(encrypted, key, "encrypted digits model");
  return failures ? 1 : 0;
}
