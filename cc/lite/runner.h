// A small C++17 RAII layer over MegEngine Lite's C API (third_party/megenginelite).
//
// Every LITE_* call is checked; a failure throws ModelError carrying Lite's own message plus our
// context (which call, which file, which tensor). A LiteRunner owns its handle and destroys it on every
// path, including exceptions. Example:
//
//   megdeploy::LiteRunner net("model.mge", megdeploy::LiteOptions{}, /*threads=*/2);
//   net.Input("data").CopyFrom(pixels);
//   net.Forward();
//   std::vector<float> probs = net.Output(0).ToVector();
#ifndef CC_LITE_RUNNER_H_
#define CC_LITE_RUNNER_H_

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "cc/lite/options.h"
#include "lite_c/lite_c.h"

namespace megdeploy {

// A failed Lite call or an unusable model; what() is one line.
class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws ModelError("<context>: <Lite's message>") when status is non-zero.
void CheckLite(int status, const std::string& context);

// Throws ModelError naming the file if it is missing, a symbolic link loop, a directory, not a
// regular file (a FIFO would block, /dev/zero never ends), unreadable, empty or over kMaxModelBytes:
// what Lite would otherwise report confusingly, or not at all. The same checks and words as
// check_model_file in py/mgedeploy/lite/runner.py.
void CheckModelFile(const std::string& path);

// Lite reads the whole model into memory: refuse what cannot be a sane model before it does.
constexpr long long kMaxModelBytes = 1LL << 30;

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
  // Loads `model_path` with `options` and `threads` CPU threads; throws ModelError naming the file
  // and the reason. Not for several threads at once: give each thread its own LiteRunner.
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
  // Saves fast-run results to options.fast_run_cache (call after running: the runs profile).
  void SaveFastRunCache();
  const std::string& model_path() const { return model_path_; }

 private:
  LiteNetwork handle_ = nullptr;
  std::string model_path_;
  std::string fast_run_cache_;
};

// Lite's version, e.g. "1.13.0".
std::string LiteVersion();

// Applies the fix for oneDNN's exit on AMD CPUs (third_party/megenginelite/xbyak_amd_fix.h) on the
// first call; every LiteRunner calls it before loading. Returns the first call's one-line outcome
// (e.g. "applied: ..." or "not needed: ..."). Python's twin: mgedeploy.lite.xbyak_amd_fix.apply().
const std::string& ApplyXbyakAmdFix();

}  // namespace megdeploy

#endif  // CC_LITE_RUNNER_H_
