// inference: classifies images with an exported .mge model through MegEngine Lite, from C++.
// The same answer, in the same format, as //py:inference.
//
// Usage: inference MODEL [IMAGE...] [--topk N] [--threads N] [--json]
//        (also -m/--model MODEL and -i/--image IMAGE, as //py:inference takes them)
//   MODEL     an exported model; its contract (MODEL.json, written by //py:export) must be beside it
//   IMAGE     images to classify (default: the embedded testdata/cat.jpg); one network serves all
//   --topk N      classes printed per image (default 5)
//   --threads N   CPU threads for Lite (default 1)
//   --lite_options best|default  best (default): the Lite settings export measured fastest here and
//                 recorded in the contract (py/mgedeploy/lite_tuning.py); default: Lite's own
//   --json        one line per image: {"model": ..., "image": ..., "top": [{"index", "name", "probability"}]}
//   --dump_input FILE  debugging: write the last image's input tensor there (raw float32, NCHW)
//   --help        this text
// Paths are relative to the directory you ran `bazel run` from. Exit status: 0 on success, 1 when
// a model or image fails (one line on stderr naming the file), 2 for bad arguments.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <optional>
#include <cstdlib>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cc/cli_util.h"
#include "cc/contract.h"
#include "cc/lite.h"
#include "cc/preprocess.h"
#include "cc/sha256.h"

namespace {

constexpr char kUsage[] =
    "usage: inference MODEL [IMAGE...] [--topk N] [--threads N] [--lite_options best|default] [--json]\n"
    "                 [--dump_input FILE]\n"
    "  MODEL          exported .mge model (its contract MODEL.json must be beside it); also -m/--model\n"
    "  IMAGE          images to classify (default: testdata/cat.jpg); also -i/--image, repeatable\n"
    "  --topk N       classes printed per image (default 5)\n"
    "  --threads N    CPU threads for Lite (default 1)\n"
    "  --lite_options best|default\n"
    "                 best (default): the Lite settings export measured fastest on this machine and\n"
    "                 recorded in the contract (NCHW88 layout or fast-run kernels from MODEL.fastrun,\n"
    "                 weight preprocess, recorded kernel sequence); default: Lite's own defaults\n"
    "  --json         one JSON object per image instead of the tutorial's lines\n"
    "  --dump_input FILE  write the last image's input tensor (raw float32 NCHW), for debugging\n"
    "  --help         show this text\n";

struct Args {
  std::string model;
  std::vector<std::string> images;
  long topk = 5;
  long threads = 1;
  bool json = false;
  bool best_lite_options = true;
  std::string dump_input;
};

struct UsageError {
  std::string message;
};

// Accepts `--flag value` and `--flag=value`.
Args ParseArgs(int argc, char** argv) {
  Args args;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_inline_value = false;
    if (arg.rfind("--", 0) == 0 && arg.find('=') != std::string::npos) {
      value = arg.substr(arg.find('=') + 1);
      arg = arg.substr(0, arg.find('='));
      has_inline_value = true;
    }
    auto next = [&]() -> std::string {
      if (has_inline_value) return value;
      if (i + 1 >= argc) throw UsageError{arg + " needs a value"};
      return argv[++i];
    };
    auto positive = [&](const std::string& text) {
      auto number = megdeploy::ParseInt(text);
      if (!number || *number < 1) throw UsageError{arg + " must be a positive integer, got '" + text + "'"};
      return *number;
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (arg == "--json") {
      args.json = true;
    } else if (arg == "--topk") {
      args.topk = positive(next());
    } else if (arg == "--threads") {
      args.threads = positive(next());
    } else if (arg == "--lite_options") {
      const std::string choice = next();
      if (choice != "best" && choice != "default") {
        throw UsageError{"--lite_options must be best or default, got '" + choice + "'"};
      }
      args.best_lite_options = choice == "best";
    } else if (arg == "--model" || arg == "-m") {
      args.model = next();
    } else if (arg == "--image" || arg == "-i") {
      args.images.push_back(next());
    } else if (arg == "--dump_input") {
      args.dump_input = next();
    } else if (arg.size() > 1 && arg[0] == '-') {
      throw UsageError{"unknown flag " + arg};
    } else {
      positional.push_back(arg);
    }
  }
  auto it = positional.begin();
  if (args.model.empty()) {
    if (it == positional.end()) throw UsageError{"no model given"};
    args.model = *it++;
  }
  args.images.insert(args.images.end(), it, positional.end());
  return args;
}

std::string FormatLine(size_t rank, const std::string& name, double probability) {
  char line[512];
  std::snprintf(line, sizeof(line), "%zu: class = %-20s with probability = %.1f %%", rank, name.c_str(),
                probability * 100);
  return line;
}

// Python's json.dumps style: ", " and ": " separators, non-ASCII escaped.
std::string JsonValue(const nlohmann::json& value) { return value.dump(-1, ' ', true); }

std::string JsonLine(const std::string& model, const std::string& image, const std::vector<size_t>& order,
                     const std::vector<float>& probs, const std::vector<std::string>& labels) {
  std::string line = "{\"model\": " + JsonValue(model) + ", \"image\": " + JsonValue(image) + ", \"top\": [";
  for (size_t r = 0; r < order.size(); ++r) {
    size_t i = order[r];
    line += (r ? ", " : "") + std::string("{\"index\": ") + std::to_string(i) + ", \"name\": " +
            JsonValue(labels[i]) + ", \"probability\": " + JsonValue(static_cast<double>(probs[i])) + "}";
  }
  return line + "]}";
}

// The contract's best settings into `options`, as //py:inference applies them
// (py/mgedeploy/lite_runner.py, options_for); returns a note for the user when they cannot be used
// as recorded.
std::string ApplyContractSettings(const megdeploy::LiteSettings& lite, const std::string& model_path,
                                  megdeploy::NetworkOptions* options) {
  if (!lite.recorded) return "";
  options->weight_preprocess = lite.weight_preprocess;
  options->comp_node_seq_record_level = lite.record_level;
  options->const_shape = lite.record_level > 0;  // recording needs fixed shapes
  if (!(lite.cpu == megdeploy::ThisCpu())) {
    // NCHW88 can deadlock on some CPUs and fast-run choices are per CPU: only the safe part.
    return megdeploy::ContractPathFor(model_path) +
           ": Lite settings were chosen on another CPU: using the safe part (re-export here for the fastest)";
  }
  options->enable_nchw88 = lite.nchw88;
  if (lite.fast_run_cache.empty()) return "";
  const size_t slash = model_path.rfind('/');
  const std::string cache =
      (slash == std::string::npos ? std::string() : model_path.substr(0, slash + 1)) + lite.fast_run_cache;
  if (access(cache.c_str(), F_OK) != 0) {
    return cache + ": fast-run cache missing (export writes it beside the model): kernels are chosen by " +
           "heuristics, slower";
  }
  // Lite itself crashes on a damaged cache (measured): it never gets one.
  if (megdeploy::Sha256Hex(megdeploy::ReadFile(cache, "fast-run cache")) != lite.fast_run_cache_sha256) {
    throw megdeploy::ContractError(cache + ": fast-run cache does not match its contract " +
                                   megdeploy::ContractPathFor(model_path) + ": re-export, or copy it with the model");
  }
  options->fast_run = true;
  options->fast_run_cache = cache;
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  try {
    args = ParseArgs(argc, argv);
  } catch (const UsageError& e) {
    return megdeploy::ReportUsageError("inference", e.message, argc == 1, kUsage);
  }
  LITE_set_log_level(LITE_LOG_ERROR);

  const std::string model_path = megdeploy::UserPath(args.model);
  std::vector<std::pair<std::string, std::string>> images;  // (path to open, path to show)
  for (const std::string& image : args.images) images.emplace_back(megdeploy::UserPath(image), image);
  if (images.empty()) {
    std::string fallback = megdeploy::RunfilesPath(argv[0], "testdata/cat.jpg");
    if (fallback.empty()) {
      std::fprintf(stderr, "inference: no image given and the embedded testdata/cat.jpg is not in the runfiles\n");
      return 2;
    }
    images.emplace_back(fallback, "testdata/cat.jpg");
  }

  megdeploy::Contract contract;
  std::optional<megdeploy::Network> network;
  std::string note;
  try {
    megdeploy::CheckModelFile(model_path);
    contract = megdeploy::ReadContract(model_path);
    if (static_cast<size_t>(args.topk) > contract.labels.size()) {
      std::fprintf(stderr, "inference: --topk %ld is more than the model's %zu classes (see --help)\n", args.topk,
                   contract.labels.size());
      return 2;
    }
    megdeploy::NetworkOptions options;
    options.threads = static_cast<int>(args.threads);
    if (args.best_lite_options) note = ApplyContractSettings(contract.lite, model_path, &options);
    network.emplace(model_path, options);
  } catch (const std::exception& e) {  // ContractError, LiteError, or a read error, each one line
    std::fprintf(stderr, "inference: %s\n", e.what());
    return 1;
  }

  // Only once the model loaded: a failure stays a single line.
  if (!note.empty()) std::fprintf(stderr, "note: %s\n", note.c_str());
  if (!contract.meaningful_weights) {
    std::fprintf(stderr, "WARNING: %s has random weights (tests and benchmarks only): its classes mean nothing.\n",
                 megdeploy::Shown(model_path).c_str());
  }
  int failures = 0;
  for (const auto& [path, shown] : images) {
    try {
      std::vector<float> input = megdeploy::PreprocessBgr(megdeploy::ReadBgr(path), contract.preprocess);
      network->Input(contract.input_name).CopyFrom(input);
      network->Forward();
      std::vector<float> probs = network->Output(0).ToVector();
      if (probs.size() != contract.labels.size()) {
        throw megdeploy::LiteError(model_path + ": output has " + std::to_string(probs.size()) +
                                   " values for " + std::to_string(contract.labels.size()) + " labels");
      }
      if (!args.dump_input.empty()) {
        std::ofstream(megdeploy::UserPath(args.dump_input), std::ios::binary)
            .write(reinterpret_cast<const char*>(input.data()), input.size() * sizeof(float));
      }
      // Highest first; ties keep the lower index, as NumPy's stable argsort of -p does.
      std::vector<size_t> order(probs.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return probs[a] > probs[b]; });
      order.resize(static_cast<size_t>(args.topk));
      if (args.json) {
        std::printf("%s\n", JsonLine(megdeploy::Shown(model_path), shown, order, probs, contract.labels).c_str());
        continue;
      }
      if (images.size() > 1) std::printf("image: %s\n", shown.c_str());
      for (size_t r = 0; r < order.size(); ++r) {
        std::printf("%s\n", FormatLine(r, contract.labels[order[r]], probs[order[r]]).c_str());
      }
    } catch (const std::exception& e) {  // ImageError or LiteError, one line each
      std::fprintf(stderr, "inference: %s\n", e.what());
      ++failures;
    }
  }
  return failures ? 1 : 0;
}
