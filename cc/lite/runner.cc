#include "cc/lite/runner.h"

#include <cstring>
#include <utility>

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
    : LiteRunner(ReadModelFile(model_path), options, threads) {}

LiteRunner::LiteRunner(const ModelFile& model, const LiteOptions& options, int threads)
    : model_path_(model.path), fast_run_cache_(options.fast_run_cache), bytes_(model.bytes) {
  if (threads < 1) throw ModelError("threads must be at least 1, got " + std::to_string(threads));
  ApplyXbyakAmdFix();  // before anything runs (xbyak_amd_fix.h says why)
  // The one place C++ turns LiteOptions into Lite's config (Python: lite/runner.py, lite_config).
  LiteConfig config = *default_config();
  config.options.weight_preprocess = options.weight_preprocess;
  config.options.const_shape = options.const_shape();
  config.options.comp_node_seq_record_level = options.record_level;
  config.options.enable_nchw44 = options.nchw44;
  config.options.enable_nchw88 = options.nchw88;
  CheckLite(LITE_make_network(&handle_, config, *default_network_io()), model_path_ + ": creating a network");
  try {
    CheckLite(LITE_set_cpu_threads_number(handle_, static_cast<size_t>(threads)),
              model_path_ + ": setting " + std::to_string(threads) + " threads");
    if (!options.fast_run_cache.empty()) {
      // A missing file starts an empty cache: the first run profiles and SaveFastRunCache writes it.
      CheckLite(LITE_set_persistent_cache(options.fast_run_cache.c_str(), 0), options.fast_run_cache + ": fast-run cache");
    }
    if (options.layout_transform) {
      CheckLite(LITE_enable_global_layout_transform(handle_), model_path_ + ": global layout transform");
    }
    if (options.fast_run) {
      CheckLite(LITE_set_network_algo_policy(
                    handle_, static_cast<LiteAlgoSelectStrategy>(LITE_ALGO_PROFILE | LITE_ALGO_REPRODUCIBLE)),
                model_path_ + ": fast-run policy");
    }
    if (!options.profile_json.empty()) {
      CheckLite(LITE_enable_profile_performance(handle_, options.profile_json.c_str()),
                model_path_ + ": enabling the profile");
    }
    // The bytes that were read (and, by the caller, checked against the contract): Lite does
    // not read the file again. It keeps using them ("managed by user"), so bytes_ lives as long.
    if (LITE_load_model_from_mem(handle_, const_cast<char*>(bytes_->data()), bytes_->size()) != 0) {
      std::string reason = LastError();
      LITE_clear_last_error();
      if (reason.empty()) reason = "not a model this Lite version can read (Lite gave no reason)";
      throw ModelError(model_path_ + ": Lite cannot load the model: " + reason);
    }
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
      fast_run_cache_(std::move(other.fast_run_cache_)),
      bytes_(std::move(other.bytes_)) {}

LiteRunner& LiteRunner::operator=(LiteRunner&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) LITE_destroy_network(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
    model_path_ = std::move(other.model_path_);
    fast_run_cache_ = std::move(other.fast_run_cache_);
    bytes_ = std::move(other.bytes_);
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
  CheckLite(LITE_forward(handle_), model_path_ + ": forward");
  CheckLite(LITE_wait(handle_), model_path_ + ": wait");
}

std::vector<float> LiteRunner::Run(const std::string& input_name, const std::vector<float>& input) {
  Input(input_name).CopyFrom(input);
  Forward();
  return Output(0).ToVector();
}

}  // namespace megdeploy
