// The model contract written by //py:export next to each model (`<model>.mge.json`; format and
// meaning in py/mgedeploy/contract.py): input name and shape, preprocessing spec, class names, the
// Lite settings export chose. Reading it is how the C++ programs share one source of truth with
// Python. ValidateContract is the twin of contract.validate in Python: the same rules, in the same
// order, with the same words; //tests:contract_conformance_test feeds both the cases in
// testdata/contracts/cases.json.
#ifndef CC_CONTRACT_H_
#define CC_CONTRACT_H_

#include <array>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cc/lite/options.h"
#include "cc/model_files.h"

namespace megdeploy {

class ContractError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PreprocessSpec {
  // "RGB" or "BGR": the channel order fed to the model (images decode as BGR); "GRAY": one
  // channel, converted from BGR before resizing. The contract's word, as Python keeps it.
  std::string color = "BGR";
  int channels = 3;  // 3, or 1 for GRAY; mean and std hold this many values
  int resize_short = 0;
  int crop = 0;
  std::array<float, 3> mean{};
  std::array<float, 3> std{};
};

struct Contract {
  std::string model;
  std::string input_name;
  std::vector<size_t> input_shape;
  PreprocessSpec preprocess;
  std::vector<std::string> labels;
  bool meaningful_weights = true;  // false for the seeded random init used by tests
  LiteSettings lite;               // all defaults when the contract records none
  size_t mge_size = 0;
  std::string mge_sha256;
};

// Checks parsed JSON against the contract rules and returns the contract; throws ContractError
// "<path>: <reason>" (the reasons word for word as Python's).
Contract ValidateContract(const nlohmann::json& json, const std::string& path);

// Reads and validates a contract file (not yet checked against its model).
Contract LoadContract(const std::string& path);

// The contract beside `model`, validated, and the model's size and SHA-256 (as it was read, see
// ReadModelFile) checked against the ones recorded at export. Throws ContractError naming the
// file and the problem.
Contract ReadContract(const ModelFile& model);

}  // namespace megdeploy

#endif  // CC_CONTRACT_H_
