// A small C++17 RAII layer over MegEngine Lite's C API (third_party/megenginelite).
//
// Every LITE_* call is checked; a failure throws ModelError carrying Lite's own message plus our
// context (which call, which file, which tensor). A LiteRunner owns its handle and destroys it on every
// path, including exceptions. It writes nothing to stderr and arms nothing process-wide: a
// program that wants Lite's own log filtered or a crash turned into one line does that itself
// (cc/cli/). The twin of py/mgedeploy/lite/runner.py. Example:
//
//   megdeploy::LiteRunner runner("model.mge", megdeploy::LiteOptions{}, /*threads=*/2);
//   std::vector<float> probs = runner.Run("data", pixels);
#ifndef CC_LITE_RUNNER_H_
#define CC_LITE_RUNNER_H_

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cc/lite/options.h"
#include "cc/model_files.h"
#include "lite_c/lite_c.h"

namespace megdeploy {

// Throws ModelError("<context>: <Lite's message>") when status is non-zero.
void CheckLite(int status, const std::string& context);

// A view of a tensor owned by a LiteRunner; valid while the LiteRunner lives.
class TensorView {
 public:
  TensorView(LiteTensor handle, std::string name, std::string model_path);

  std::vector<size_t> Shape() const;
  size_t ElementCount() const;
  // Copies `values` into the tensor; throws if the count or the tensor's type does not match.
  void CopyFrom(const std::vector<float>& values);
  std::vector<float> ToVector() const;

 private:
  LiteLayout Layout() const;
  LiteTensor handle_;
  std::string name_;
  std::string model_path_;
};

class LiteRunner {
 public:
  // Loads the model from the bytes that were read (ReadModelFile: one read, hashed; check them
  // against the contract first) with `options` and `threads` CPU threads; throws ModelError
  // naming the file and the reason. Not for several threads at once: give each thread its own.
  LiteRunner(const ModelFile& model, const LiteOptions& options, int threads = 1);
  // The same, reading the file first (for models without a contract).
  LiteRunner(const std::string& model_path, const LiteOptions& options, int threads = 1);
  ~LiteRunner();
  LiteRunner(const LiteRunner&) = delete;
  LiteRunner& operator=(const LiteRunner&) = delete;
  LiteRunner(LiteRunner&& other) noexcept;
  LiteRunner& operator=(LiteRunner&& other) noexcept;

  std::string InputName(size_t index) const;
  std::string OutputName(size_t index) const;
  TensorView Input(const std::string& name);
  TensorView Output(size_t index);
  // Runs the model and waits for it.
  void Forward();
  // Copies `input` into the input `input_name`, runs, and returns output 0.
  std::vector<float> Run(const std::string& input_name, const std::vector<float>& input);
  // Saves fast-run results to options.fast_run_cache (call after running: the runs profile).
  void SaveFastRunCache();
  const std::string& model_path() const { return model_path_; }

 private:
  LiteNetwork handle_ = nullptr;
  std::string model_path_;
  std::string fast_run_cache_;
  std::shared_ptr<const std::string> bytes_;  // Lite uses them after loading
};

// Lite's version, e.g. "1.13.0".
std::string LiteVersion();

// Applies the fix for oneDNN's exit on AMD CPUs (third_party/megenginelite/xbyak_amd_fix.h) on the
// first call; every LiteRunner calls it before loading. Returns the first call's one-line outcome
// (e.g. "applied: ..." or "not needed: ..."). Python's twin: mgedeploy.lite.xbyak_amd_fix.apply().
const std::string& ApplyXbyakAmdFix();

}  // namespace megdeploy

#endif  // CC_LITE_RUNNER_H_
