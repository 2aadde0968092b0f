// A small C++17 RAII layer over MegEngine Lite's C API (third_party/megenginelite).
//
// Every LITE_* call is checked; a failure throws LiteError carrying Lite's own message plus our
// context (which call, which file, which tensor). A Network owns its handle and destroys it on every
// path, including exceptions. Example:
//
//   megdeploy::Network net("model.mge", megdeploy::NetworkOptions{/*threads=*/2});
//   net.Input("data").CopyFrom(pixels);
//   net.Forward();
//   std::vector<float> probs = net.Output(0).ToVector();
#ifndef CC_LITE_H_
#define CC_LITE_H_

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "lite_c/lite_c.h"

namespace megdeploy {

// A failed Lite call or an unusable model; what() is one line.
class LiteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws LiteError("<context>: <Lite's message>") when status is non-zero.
void CheckLite(int status, const std::string& context);

// Throws LiteError naming the file if it is missing, a directory, unreadable or empty: what Lite
// would otherwise report confusingly, or not at all.
void CheckModelFile(const std::string& path);

struct NetworkOptions {
  int threads = 1;                  // CPU threads; set before the model is loaded.
  bool weight_preprocess = false;   // transform weights once at load for faster kernels
  bool const_shape = false;         // input shapes never change (allows record level > 0)
  int comp_node_seq_record_level = 0;  // 1: record the kernel sequence and replay it
  bool enable_nchw44 = false;
  bool enable_nchw88 = false;
  bool fast_run = false;            // profile kernels and keep the fastest (LITE_ALGO_PROFILE)
  std::string fast_run_cache;       // non-empty: fast-run results are read from / saved to this file
  bool layout_transform = false;    // global layout transform (searches layouts at load)
  std::string profile_json;         // non-empty: write Lite's per-op profile there
};

// A view of a tensor owned by a Network; valid while the Network lives.
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

class Network {
 public:
  // Loads `model_path`; throws LiteError naming the file and the reason.
  Network(const std::string& model_path, const NetworkOptions& options);
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;
  Network(Network&& other) noexcept;
  Network& operator=(Network&& other) noexcept;

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

}  // namespace megdeploy

#endif  // CC_LITE_H_
