#include "cc/lite/runner.h"

#include <sys/stat.h>
#include <unistd.h>

#include <errno.h>  // program_invocation_short_name

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "cc/cli/captured_stderr.h"
#include "cc/cli/crash_guard.h"
#include "third_party/megenginelite/xbyak_amd_fix.h"

namespace megdeploy {
namespace {

std::string LastError() {
  const char* text = LITE_get_last_error();
  std::string message = text ? text : "";
  // Lite's messages can span lines (backtraces); keep the first.
  size_t end = message.find('\n');
  if (end != std::string::npos) message.resize(end);
  while (!message.empty() && (message.back() == ' ' || message.back() == ',')) message.pop_back();
  return message;
}

// The last non-empty line of a log, without Lite's "LITE[ERR] <time>" prefix.
std::string LastLogLine(const std::string& log) {
  std::string line;
  size_t start = 0;
  while (start < log.size()) {
    size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    if (end > start) line = log.substr(start, end - start);
    start = end + 1;
  }
  size_t marker = line.find("Lite exception: ");
  return marker == std::string::npos ? line : line.substr(marker + 16);
}

}  // namespace

void CheckModelFile(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    const std::string reason = errno == ENOENT  ? "model file not found"
                               : errno == ELOOP ? "symbolic link loop"
                                                : std::strerror(errno);
    throw ModelError(path + ": cannot open model: " + reason);
  }
  if (S_ISDIR(info.st_mode)) throw ModelError(path + ": is a directory, not a model file");
  if (!S_ISREG(info.st_mode)) throw ModelError(path + ": cannot open model: not a regular file");
  if (access(path.c_str(), R_OK) != 0) throw ModelError(path + ": cannot read model: permission denied");
  if (info.st_size == 0) throw ModelError(path + ": model file is empty");
  if (info.st_size > kMaxModelBytes) {
    throw ModelError(path + ": model file is too big (" + std::to_string(info.st_size) + " bytes; the limit is " +
                    std::to_string(kMaxModelBytes) + ")");
  }
}

namespace {

size_t DataTypeSize(LiteDataType type) {
  switch (type) {
    case LITE_FLOAT:
    case LITE_INT:
      return 4;
    case LITE_HALF:
    case LITE_INT16:
    case LITE_UINT16:
      return 2;
    case LITE_INT8:
    case LITE_UINT8:
      return 1;
  }
  return 0;
}

}  // namespace

void CheckLite(int status, const std::string& context) {
  if (status == 0) return;
  std::string reason = LastError();
  LITE_clear_last_error();
  throw ModelError(context + ": " + (reason.empty() ? "Lite reported a failure without a message" : reason));
}

std::string LiteVersion() {
  int major = 0, minor = 0, patch = 0;
  CheckLite(LITE_get_version(&major, &minor, &patch), "LITE_get_version");
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

const std::string& ApplyXbyakAmdFix() {
  // A function-local static: applied once, thread-safe, the first outcome kept.
  static const std::string outcome = [] {
    char reason[256] = {};
    megdeploy_xbyak_amd_fix_apply(reason, sizeof reason);
    return std::string(reason);
  }();
  return outcome;
}

TensorView::TensorView(LiteTensor handle, std::string name, std::string model_path)
    : handle_(handle), name_(std::move(name)), model_path_(std::move(model_path)) {}

LiteLayout TensorView::Layout() const {
  LiteLayout layout;
  CheckLite(LITE_get_tensor_layout(handle_, &layout), model_path_ + ": tensor '" + name_ + "': layout");
  return layout;
}

std::vector<size_t> TensorView::Shape() const {
  LiteLayout layout = Layout();
  return std::vector<size_t>(layout.shapes, layout.shapes + layout.ndim);
}

size_t TensorView::ElementCount() const {
  size_t count = 1;
  for (size_t dim : Shape()) count *= dim;
  return count;
}

void TensorView::CopyFrom(const std::vector<float>& values) {
  LiteLayout layout = Layout();
  if (layout.data_type != LITE_FLOAT) {
    throw ModelError(model_path_ + ": tensor '" + name_ + "' is not float32");
  }
  size_t count = ElementCount();
  if (values.size() != count) {
    throw ModelError(model_path_ + ": tensor '" + name_ + "' holds " + std::to_string(count) +
                    " values, given " + std::to_string(values.size()));
  }
  void* data = nullptr;
  CheckLite(LITE_get_tensor_memory(handle_, &data), model_path_ + ": tensor '" + name_ + "': memory");
  std::memcpy(data, values.data(), count * sizeof(float));
}

std::vector<float> TensorView::ToVector() const {
  LiteLayout layout = Layout();
  if (layout.data_type != LITE_FLOAT) {
    throw ModelError(model_path_ + ": tensor '" + name_ + "' is not float32");
  }
  size_t bytes = 0;
  void* data = nullptr;
  CheckLite(LITE_get_tensor_total_size_in_byte(handle_, &bytes), model_path_ + ": tensor '" + name_ + "': size");
  CheckLite(LITE_get_tensor_memory(handle_, &data), model_path_ + ": tensor '" + name_ + "': memory");
  const float* values = static_cast<const float*>(data);
  return std::vector<float>(values, values + bytes / DataTypeSize(layout.data_type));
}

LiteRunner::LiteRunner(const std::string& model_path, const LiteOptions& options, int threads)
    : model_path_(model_path), fast_run_cache_(options.fast_run_cache) {
  CheckModelFile(model_path);
  if (threads < 1) throw ModelError("threads must be at least 1, got " + std::to_string(threads));
  ApplyXbyakAmdFix();  // before anything runs (xbyak_amd_fix.h says why)
  // The one place C++ turns LiteOptions into Lite's config (Python: lite/runner.py, lite_config).
  LiteConfig config = *default_config();
  config.options.weight_preprocess = options.weight_preprocess;
  config.options.const_shape = options.const_shape();
  config.options.comp_node_seq_record_level = options.record_level;
  config.options.enable_nchw44 = options.nchw44;
  config.options.enable_nchw88 = options.nchw88;
  CheckLite(LITE_make_network(&handle_, config, *default_network_io()), model_path + ": creating a network");
  try {
    CheckLite(LITE_set_cpu_threads_number(handle_, static_cast<size_t>(threads)),
              model_path + ": setting " + std::to_string(threads) + " threads");
    if (!options.fast_run_cache.empty()) {
      // A missing file starts an empty cache: the first run profiles and SaveFastRunCache writes it.
      CapturedStderr captured;
      int status;
      {
        CrashGuard guard(std::string(program_invocation_short_name) + ": " + options.fast_run_cache +
                             ": Lite crashed while reading the fast-run cache: the file is damaged",
                         captured.real_fd());
        status = LITE_set_persistent_cache(options.fast_run_cache.c_str(), 0);
      }
      captured.Release();
      CheckLite(status, options.fast_run_cache + ": fast-run cache");
    }
    if (options.layout_transform) {
      CheckLite(LITE_enable_global_layout_transform(handle_), model_path + ": global layout transform");
    }
    if (options.fast_run) {
      CheckLite(LITE_set_network_algo_policy(
                    handle_, static_cast<LiteAlgoSelectStrategy>(LITE_ALGO_PROFILE | LITE_ALGO_REPRODUCIBLE)),
                model_path + ": fast-run policy");
    }
    if (!options.profile_json.empty()) {
      CheckLite(LITE_enable_profile_performance(handle_, options.profile_json.c_str()),
                model_path + ": enabling the profile");
    }
    // Lite logs its own copy of a load error ("LITE[ERR] ... Lite exception: ...") on stderr,
    // which would make our one-line error two lines; and when LITE_get_last_error() comes back
    // empty, that log is the only reason we get.
    CapturedStderr captured;
    int status;
    {
      CrashGuard guard(std::string(program_invocation_short_name) + ": " + model_path +
                           ": Lite crashed while loading the model: the file is damaged or not a MegEngine model",
                       captured.real_fd());
      status = LITE_load_model_from_path(handle_, model_path.c_str());
    }
    std::string log = captured.Release();
    if (status != 0) {
      std::string reason = LastError();
      LITE_clear_last_error();
      if (reason.empty()) reason = LastLogLine(log);
      if (reason.empty()) reason = "not a model this Lite version can read (Lite gave no reason)";
      throw ModelError(model_path + ": Lite cannot load the model: " + reason);
    }
    std::fputs(log.c_str(), stderr);  // a successful load keeps whatever Lite had to say
  } catch (...) {
    LITE_destroy_network(handle_);
    handle_ = nullptr;
    throw;
  }
}

void LiteRunner::SaveFastRunCache() {
  if (fast_run_cache_.empty()) return;
  CheckLite(LITE_dump_persistent_cache(fast_run_cache_.c_str()), fast_run_cache_ + ": saving the fast-run cache");
}

LiteRunner::~LiteRunner() {
  if (handle_ != nullptr) LITE_destroy_network(handle_);
}

LiteRunner::LiteRunner(LiteRunner&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)),
      model_path_(std::move(other.model_path_)),
      fast_run_cache_(std::move(other.fast_run_cache_)) {}

LiteRunner& LiteRunner::operator=(LiteRunner&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) LITE_destroy_network(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
    model_path_ = std::move(other.model_path_);
    fast_run_cache_ = std::move(other.fast_run_cache_);
  }
  return *this;
}

std::string LiteRunner::InputName(size_t index) const {
  const char* name = nullptr;
  CheckLite(LITE_get_input_name(handle_, index, &name), model_path_ + ": input " + std::to_string(index));
  return name ? name : "";
}

std::string LiteRunner::OutputName(size_t index) const {
  const char* name = nullptr;
  CheckLite(LITE_get_output_name(handle_, index, &name), model_path_ + ": output " + std::to_string(index));
  return name ? name : "";
}

TensorView LiteRunner::Input(const std::string& name) {
  LiteTensor tensor = nullptr;
  CheckLite(LITE_get_io_tensor(handle_, name.c_str(), LITE_INPUT, &tensor),
            model_path_ + ": no input tensor '" + name + "'");
  return TensorView(tensor, name, model_path_);
}

TensorView LiteRunner::Output(size_t index) {
  std::string name = OutputName(index);
  LiteTensor tensor = nullptr;
  CheckLite(LITE_get_io_tensor(handle_, name.c_str(), LITE_OUTPUT, &tensor),
            model_path_ + ": no output tensor '" + name + "'");
  return TensorView(tensor, name, model_path_);
}

void LiteRunner::Forward() {
  // A model that loaded can still be damaged in ways only running it shows.
  CrashGuard guard(std::string(program_invocation_short_name) + ": " + model_path_ +
                       ": Lite crashed while running the model: the file is damaged",
                   2);
  CheckLite(LITE_forward(handle_), model_path_ + ": forward");
  CheckLite(LITE_wait(handle_), model_path_ + ": wait");
}

}  // namespace megdeploy
