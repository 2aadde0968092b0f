// The model contract written by //py:export next to each model (`<model>.mge.json`; format and
// meaning in py/mgedeploy/contract.py): input name and shape, preprocessing spec, class names.
// Reading it is how the C++ programs share one source of truth with Python.
#ifndef CC_CONTRACT_H_
#define CC_CONTRACT_H_

#include <array>
#include <stdexcept>
#include <string>
#include <vector>

#include "cc/cpu_fingerprint.h"

namespace megdeploy {

class ContractError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PreprocessSpec {
  bool rgb = false;  // channel order fed to the model; images decode as BGR
  int resize_short = 0;
  int crop = 0;
  std::array<float, 3> mean{};
  std::array<float, 3> std{};
};

// The Lite settings export measured fastest and recorded ("lite" in the contract; see
// py/mgedeploy/lite_tuning.py).
struct LiteSettings {
  bool recorded = false;  // the contract has a "lite" section
  CpuFingerprint cpu;     // the CPU they were chosen on
  bool weight_preprocess = false;
  int record_level = 0;
  bool nchw88 = false;
  std::string fast_run_cache;  // a file name beside the model; empty: none recorded
  std::string fast_run_cache_sha256;
};

struct Contract {
  std::string model;
  std::string input_name;
  std::vector<size_t> input_shape;
  PreprocessSpec preprocess;
  std::vector<std::string> labels;
  bool meaningful_weights = true;  // false for the seeded random init used by tests
  LiteSettings lite;               // all defaults when the contract records none
};

std::string ContractPathFor(const std::string& model_path);

// Reads and validates the contract of `model_path`, including that the model file's size and
// sha256 are the ones recorded at export. Throws ContractError naming the file and the problem.
Contract ReadContract(const std::string& model_path);

// Reads a whole file; throws std::runtime_error("<path>: cannot read <what>: <reason>").
std::string ReadFile(const std::string& path, const std::string& what);

}  // namespace megdeploy

#endif  // CC_CONTRACT_H_
