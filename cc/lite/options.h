// The one C++ rule from a model contract's "lite" section to the options a network loads with.
//
// Mirrors py/mgedeploy/lite/options.py (same names: LiteOptions, OptionsFor / options_for, kChoices
// / CHOICES, ThisCpu / cpu_fingerprint); //tests:contract_conformance_test holds both to one table.
// The contract records what export measured fastest and exact on the machine it ran on: weight
// preprocessing, a recorded kernel sequence, and NCHW88 or fast-run kernels from `<model>.fastrun`.
// Those are trusted only on the same kind of CPU (NCHW88 can deadlock on some CPUs, fast-run
// choices are per CPU); elsewhere only the safe part is used. Example:
//
//   megdeploy::Contract contract = megdeploy::ReadContract(model);
//   megdeploy::ChosenOptions chosen = megdeploy::OptionsFor(contract.lite, model, "best");
//   if (!chosen.note.empty()) std::fprintf(stderr, "note: %s\n", chosen.note.c_str());
//   megdeploy::LiteRunner network(model, chosen.options, /*threads=*/1);
#ifndef CC_LITE_OPTIONS_H_
#define CC_LITE_OPTIONS_H_

#include <stdexcept>
#include <string>

namespace megdeploy {

// --lite_options: the contract's settings ("best", the default) or Lite's defaults ("default").
inline constexpr const char* kChoices[] = {"best", "default"};
bool IsChoice(const std::string& choice);

// How a network is configured before its model loads.
struct LiteOptions {
  bool weight_preprocess = false;  // transform weights once at load for faster kernels
  int record_level = 0;            // 1: record the kernel sequence and replay it
  bool nchw88 = false;             // the x86 NCHW88 layout
  bool fast_run = false;           // profile kernels and keep the fastest (LITE_ALGO_PROFILE)
  std::string fast_run_cache;      // non-empty: fast-run results are read from / saved to this file
  // Benchmark-only knobs (never in a contract):
  bool nchw44 = false;
  bool layout_transform = false;  // global layout transform (searches layouts at load)
  std::string profile_json;       // non-empty: write Lite's per-op profile there

  // A recorded kernel sequence replays fixed shapes: Lite needs const_shape for it.
  bool const_shape() const { return record_level > 0; }
  std::string Describe() const;
};

// The recorded settings cannot be used as they are (a damaged fast-run cache); names the file.
class SettingsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What kind of CPU this is, as export records it ("lite.cpu"): the first CPU's "model name" and
// "flags" lines of /proc/cpuinfo.
struct CpuFingerprint {
  std::string model_name;
  std::string flags;
  bool operator==(const CpuFingerprint& other) const {
    return model_name == other.model_name && flags == other.flags;
  }
};
CpuFingerprint ThisCpu();

// The Lite settings export measured fastest and recorded (the contract's "lite" section, read by
// contract.h; chosen by py/mgedeploy/lite/tuning.py).
struct LiteSettings {
  bool recorded = false;  // the contract has a non-empty "lite" section
  CpuFingerprint cpu;     // the CPU they were chosen on
  bool weight_preprocess = false;
  int record_level = 0;
  bool nchw88 = false;
  std::string fast_run_cache;  // a file name beside the model; empty: none recorded
  std::string fast_run_cache_sha256;
};

struct ChosenOptions {
  LiteOptions options;
  std::string note;  // one line for the user when the best settings cannot be used as recorded
};

// LiteOptions for `choice` and a validated contract's settings (Contract::lite). Throws
// SettingsError for a fast-run cache whose SHA-256 is not the recorded one: Lite itself crashes on
// a damaged cache (measured), so it never gets one.
// cache_file: where a packed model's embedded fast-run cache was put (EmbeddedCacheFile), read
// instead of the file beside the model.
ChosenOptions OptionsFor(const LiteSettings& lite, const std::string& model_path, const std::string& choice,
                         const std::string& cache_file = "");

// A private temporary file holding a packed model's fast-run cache while Lite reads it
// (LITE_set_persistent_cache takes only a path), removed when this goes; path() is "" for no
// cache. It holds kernel choices, not the graph. Throws std::runtime_error if it cannot be written.
class EmbeddedCacheFile {
 public:
  explicit EmbeddedCacheFile(const std::string& data);
  ~EmbeddedCacheFile();
  EmbeddedCacheFile(const EmbeddedCacheFile&) = delete;
  EmbeddedCacheFile& operator=(const EmbeddedCacheFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace megdeploy

#endif  // CC_LITE_OPTIONS_H_
