// benchmark: times an exported .mge model under MegEngine Lite from C++ — a load_and_run-class
// tool with the same flags as //py:benchmark.
//
// Usage: benchmark MODEL [--iters N] [--warmup N] [--threads N] [--input random|IMAGE]
//          [--weight_preprocess] [--fast_run] [--fast_run_cache FILE] [--layout_transform]
//          [--record_level 0|1|2] [--nchw44] [--nchw88] [--profile FILE] [--json]
// Prints load time, first run, then min / median / p90 / max / std of per-iteration latency.
// A progress bar goes to stderr when the timed loop lasts more than a few seconds.
// Exit status: 0, 1 (the model failed: one line naming the file), 2 (bad arguments).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cc/benchmark_stats.h"
#include "cc/cli_util.h"
#include "cc/contract.h"
#include "cc/lite.h"
#include "cc/preprocess.h"

namespace {

constexpr char kUsage[] =
    "usage: benchmark MODEL [flags]\n"
    "  --iters N            timed iterations (default 50)\n"
    "  --warmup N           untimed iterations after the first run (default 5)\n"
    "  --threads N          CPU threads for Lite (default 1)\n"
    "  --input random|IMAGE input data: seeded random, or an image preprocessed per the model contract (default random)\n"
    "  --weight_preprocess  transform weights once at load for faster kernels\n"
    "  --fast_run           profile kernels on the first run and keep the fastest\n"
    "  --fast_run_cache F   read/save fast-run results in F, so the search is paid once\n"
    "  --layout_transform   global layout transform (slow search at load; see README for this CPU)\n"
    "  --record_level N     computing-sequence record level 0, 1 or 2 (1 and 2 imply const shapes)\n"
    "  --nchw44, --nchw88   convert to the NCHW44 / NCHW88 layouts at load\n"
    "  --profile FILE       write Lite's per-op profile (JSON) to FILE\n"
    "  --json               print the numbers as one JSON object\n"
    "  --help               show this text\n";

using Clock = std::chrono::steady_clock;

double MillisecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct Args {
  std::string model;
  long iters = 50, warmup = 5, threads = 1, record_level = 0;
  std::string input = "random";
  bool json = false;
  megdeploy::NetworkOptions options;
};

struct UsageError {
  std::string message;
};

Args ParseArgs(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError{arg + " needs a value"};
      return argv[++i];
    };
    auto integer = [&](long min, long max) {
      std::string text = value();
      auto number = megdeploy::ParseInt(text);
      if (!number || *number < min || *number > max) {
        throw UsageError{arg + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                         ", got '" + text + "'"};
      }
      return *number;
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (arg == "--iters") {
      args.iters = integer(1, 1000000);
    } else if (arg == "--warmup") {
      args.warmup = integer(0, 1000000);
    } else if (arg == "--threads") {
      args.threads = integer(1, 256);
    } else if (arg == "--record_level") {
      args.record_level = integer(0, 2);
    } else if (arg == "--input") {
      args.input = value();
    } else if (arg == "--weight_preprocess") {
      args.options.weight_preprocess = true;
    } else if (arg == "--fast_run") {
      args.options.fast_run = true;
    } else if (arg == "--fast_run_cache") {
      args.options.fast_run_cache = megdeploy::UserPath(value());
    } else if (arg == "--layout_transform") {
      args.options.layout_transform = true;
    } else if (arg == "--nchw44") {
      args.options.enable_nchw44 = true;
    } else if (arg == "--nchw88") {
      args.options.enable_nchw88 = true;
    } else if (arg == "--profile") {
      args.options.profile_json = megdeploy::UserPath(value());
    } else if (arg == "--json") {
      args.json = true;
    } else if (arg[0] == '-' || !args.model.empty()) {
      throw UsageError{"unexpected argument " + arg};
    } else {
      args.model = arg;
    }
  }
  if (args.model.empty()) throw UsageError{"no model given"};
  // Measured here: Lite 1.13 with a recorded sequence and profiling on spins forever.
  if (!args.options.profile_json.empty() && args.record_level > 0) {
    throw UsageError{"--profile cannot be combined with --record_level 1 or 2 (Lite hangs)"};
  }
  if (!args.options.fast_run_cache.empty()) args.options.fast_run = true;
  args.options.threads = static_cast<int>(args.threads);
  args.options.comp_node_seq_record_level = static_cast<int>(args.record_level);
  // Recording replays a fixed kernel sequence, which needs shapes that never change.
  args.options.const_shape = args.record_level > 0;
  return args;
}

std::string OptionsSummary(const Args& args) {
  std::string s;
  auto add = [&](bool on, const std::string& name) {
    if (on) s += (s.empty() ? "" : "+") + name;
  };
  add(args.options.weight_preprocess, "weight_preprocess");
  add(args.options.fast_run, "fast_run");
  add(args.options.layout_transform, "layout_transform");
  add(args.record_level > 0, "record" + std::to_string(args.record_level));
  add(args.options.enable_nchw44, "nchw44");
  add(args.options.enable_nchw88, "nchw88");
  return s.empty() ? "default" : s;
}

// A one-line progress bar on stderr, drawn only once the loop has run for 3 s and never when
// stderr is not a terminal... unless asked; benchmarks in tests and pipes stay quiet.
class Progress {
 public:
  explicit Progress(long total) : total_(total), start_(Clock::now()) {}
  void Update(long done) {
    if (MillisecondsSince(start_) < 3000 || !isatty(2)) return;
    int width = 30, filled = static_cast<int>(width * done / total_);
    std::fprintf(stderr, "\r[%s%s] %ld/%ld", std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                 done, total_);
    drawn_ = true;
    if (done == total_) std::fputc('\n', stderr);
  }
  ~Progress() {
    if (drawn_) std::fputc('\n', stderr);
  }

 private:
  long total_;
  Clock::time_point start_;
  bool drawn_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  Args args;
  try {
    args = ParseArgs(argc, argv);
  } catch (const UsageError& e) {
    return megdeploy::ReportUsageError("benchmark", e.message, argc == 1, kUsage);
  }
  LITE_set_log_level(LITE_LOG_ERROR);
  const std::string model_path = megdeploy::UserPath(args.model);
  try {
    auto load_start = Clock::now();
    megdeploy::Network network(model_path, args.options);
    const double load_ms = MillisecondsSince(load_start);
    megdeploy::TensorView input = network.Input(network.InputName(0));

    std::vector<float> data;
    if (args.input == "random") {
      std::mt19937 random(0);
      std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
      data.resize(input.ElementCount());
      for (float& v : data) v = uniform(random);
    } else {
      megdeploy::Contract contract = megdeploy::ReadContract(model_path);
      data = megdeploy::PreprocessBgr(megdeploy::ReadBgr(megdeploy::UserPath(args.input)), contract.preprocess);
    }
    input.CopyFrom(data);

    auto first_start = Clock::now();
    network.Forward();
    const double first_ms = MillisecondsSince(first_start);
    for (long i = 0; i < args.warmup; ++i) network.Forward();

    std::vector<double> samples;
    samples.reserve(args.iters);
    Progress progress(args.iters);
    for (long i = 0; i < args.iters; ++i) {
      auto start = Clock::now();
      network.Forward();
      samples.push_back(MillisecondsSince(start));
      progress.Update(i + 1);
    }
    network.SaveFastRunCache();  // at the end: everything fast-run profiled is in the cache
    megdeploy::LatencyStats stats = megdeploy::Summarise(samples);
    if (args.json) {
      nlohmann::ordered_json out = {
          {"runtime", "lite_cc"}, {"model", megdeploy::Shown(model_path)}, {"options", OptionsSummary(args)},
          {"threads", args.threads}, {"iters", args.iters}, {"warmup", args.warmup},
          {"load_ms", load_ms}, {"first_ms", first_ms}, {"min_ms", stats.min_ms},
          {"median_ms", stats.median_ms}, {"p90_ms", stats.p90_ms}, {"max_ms", stats.max_ms},
          {"std_ms", stats.std_ms}, {"samples_ms", samples}};
      std::printf("%s\n", out.dump().c_str());
    } else {
      std::printf("model %s, Lite C++, %ld thread(s), options %s\n", megdeploy::Shown(model_path).c_str(),
                  args.threads, OptionsSummary(args).c_str());
      std::printf("load %.1f ms, first run %.2f ms\n", load_ms, first_ms);
      std::printf("%ld iterations: min %.2f  median %.2f  p90 %.2f  max %.2f  std %.2f ms\n", args.iters,
                  stats.min_ms, stats.median_ms, stats.p90_ms, stats.max_ms, stats.std_ms);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "benchmark: %s\n", e.what());
    return 1;
  }
  return 0;
}
