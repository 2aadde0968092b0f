// benchmark: times an exported .mge model under MegEngine Lite from C++ — a load_and_run-class
// tool with the same flags as //py:benchmark.
//
// Usage: benchmark MODEL [--iters N] [--warmup N] [--threads N] [--input random|IMAGE] [--json]
//          [--lite_options best|default] [--weight_preprocess] [--fast_run] [--fast_run_cache FILE]
//          [--layout_transform] [--record_level 0|1|2] [--nchw44] [--nchw88] [--profile FILE]
// Lite runs with the model's best settings (the contract's, as //cc:inference) unless
// --lite_options default; the explicit Lite flags are added on top of that base.
// Prints load time, first run, then min / median / p90 / max / std of per-iteration latency.
// A progress bar goes to stderr when the timed loop lasts more than a few seconds.
// Exit status: 0, 1 (the model failed: one line naming the file), 2 (bad arguments).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cc/programs/benchmark_stats.h"
#include "cc/cli/program.h"
#include "cc/classifier.h"
#include "cc/model_encryption.h"
#include "cc/contract.h"
#include "cc/lite/runner.h"
#include "cc/lite/options.h"
#include "cc/preprocess.h"
#include "cc/cli/progress.h"
#include "cc/model_files.h"

namespace {

using Clock = std::chrono::steady_clock;

double MillisecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The flags that change Lite's options, applied on top of the --lite_options base.
struct LiteFlags {
  bool weight_preprocess = false, fast_run = false, layout_transform = false, nchw44 = false, nchw88 = false;
  std::optional<int> record_level;
  std::string fast_run_cache, profile;
};

megdeploy::LiteOptions Apply(megdeploy::LiteOptions options, const LiteFlags& flags) {
  options.weight_preprocess |= flags.weight_preprocess;
  options.fast_run |= flags.fast_run || !flags.fast_run_cache.empty();
  if (!flags.fast_run_cache.empty()) options.fast_run_cache = megdeploy::UserPath(flags.fast_run_cache);
  options.layout_transform |= flags.layout_transform;
  options.nchw44 |= flags.nchw44;
  options.nchw88 |= flags.nchw88;
  if (flags.record_level) options.record_level = *flags.record_level;
  if (!flags.profile.empty()) {
    options.profile_json = megdeploy::UserPath(flags.profile);
    options.record_level = 0;  // profiling needs the plain sequence (Lite hangs otherwise, measured)
  }
  return options;
}

std::string OptionsSummary(const megdeploy::LiteOptions& options) {
  std::string s;
  auto add = [&](bool on, const std::string& name) {
    if (on) s += (s.empty() ? "" : "+") + name;
  };
  add(options.weight_preprocess, "weight_preprocess");
  add(options.fast_run, "fast_run");
  add(options.layout_transform, "layout_transform");
  add(options.record_level > 0, "record" + std::to_string(options.record_level));
  add(options.nchw44, "nchw44");
  add(options.nchw88, "nchw88");
  return s.empty() ? "default" : s;
}

// Loads, times and reports; returns the exit status.
int Run(const std::string& model_path, const std::string& choice, const LiteFlags& lite, int threads,
        const std::string& input_flag, int warmup, int iters, bool json, const std::string& model_key_file);

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Times an exported .mge model under MegEngine Lite from C++ (the flags of //py:benchmark).",
               "benchmark"};
  std::string model, input_flag = "random", choice = "best";
  int iters = 50, warmup = 5, threads = 1;
  bool json = false;
  LiteFlags lite;
  app.add_option("model", model, "an exported .mge model (its contract MODEL.json beside it); also -m/--model");
  app.add_option("-m,--model", model, "the model, as a flag");
  app.add_option("--iters", iters, "timed iterations (default 50)")->check(CLI::Range(1, 1000000));
  app.add_option("--warmup", warmup, "untimed iterations after the first run (default 5)")->check(CLI::Range(0, 1000000));
  app.add_option("--threads", threads, "CPU threads for Lite (default 1)")->check(CLI::Range(1, 256));
  app.add_option("--input", input_flag, "random (seeded) or an image preprocessed per the contract (default random)");
  std::string model_key_file;
  app.add_option("--model_key_file", model_key_file,
                 "the key of an encrypted model; default: the file $MEGDEPLOY_MODEL_KEY_FILE names");
  app.add_flag("--json", json, "print the numbers as one JSON object");
  app.add_option("--lite_options", choice,
                 "the base Lite settings: best (default; the contract's, as //cc:inference) or default (Lite's own)")
      ->check(CLI::IsMember({"best", "default"}));
  app.add_flag("--weight_preprocess", lite.weight_preprocess, "transform weights once at load");
  app.add_flag("--fast_run", lite.fast_run, "profile kernels on the first run and keep the fastest");
  app.add_option("--fast_run_cache", lite.fast_run_cache, "read/save fast-run results in this file");
  app.add_flag("--layout_transform", lite.layout_transform, "global layout transform (searched at load)");
  app.add_option("--record_level", lite.record_level, "computing-sequence record level 0, 1 or 2")
      ->check(CLI::Range(0, 2));
  app.add_flag("--nchw44", lite.nchw44, "NCHW44 layout");
  app.add_flag("--nchw88", lite.nchw88, "NCHW88 layout");
  app.add_option("--profile", lite.profile, "write Lite's per-op profile (JSON) here");
  if (int status = megdeploy::ParseFlags(app, argc, argv); status >= 0) return status;
  if (model.empty()) return megdeploy::UsageError("benchmark", "no model given");
  // Measured here: Lite 1.13 with a recorded sequence and profiling on spins forever.
  if (!lite.profile.empty() && lite.record_level.value_or(0) > 0) {
    return megdeploy::UsageError("benchmark", "--profile cannot be combined with --record_level 1 or 2 (Lite hangs)");
  }

  LITE_set_log_level(LITE_LOG_ERROR);
  const std::string model_path = megdeploy::UserPath(model);
  // One guard over the whole run: a crash in Lite (loading, the cache, running) is one line.
  int status = 0;
  megdeploy::Guarded(model_path + ": Lite crashed while loading or running the model: the model or its fast-run "
                                  "cache is damaged",
                     [&] {
                       status = Run(model_path, choice, lite, threads, input_flag, warmup, iters, json, model_key_file);
                     });
  return status;
}

namespace {

int Run(const std::string& model_path, const std::string& choice, const LiteFlags& lite, int threads,
        const std::string& input_flag, int warmup, int iters, bool json, const std::string& model_key_file) {
  try {
    const std::string key =
        megdeploy::ModelKeyFrom(model_key_file.empty() ? "" : megdeploy::UserPath(model_key_file));
    // Timed as Lite's load: one read of the file (hashed), then Lite parsing those bytes.
    auto read_start = Clock::now();
    const megdeploy::ModelAndContract model = megdeploy::ReadModel(model_path, key);
    const double read_ms = MillisecondsSince(read_start);
    const megdeploy::Contract& contract = model.contract;
    const megdeploy::EmbeddedCacheFile cache(model.fast_run_cache);
    const megdeploy::LiteOptions options =
        Apply(megdeploy::OptionsFor(contract.lite, model_path, choice, cache.path()).options, lite);
    auto load_start = Clock::now();
    megdeploy::LiteRunner network(model.graph, options, threads);
    const double load_ms = read_ms + MillisecondsSince(load_start);
    megdeploy::TensorView input = network.Input(contract.input_name);

    std::vector<float> data;
    if (input_flag == "random") {
      std::mt19937 random(0);
      std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
      data.resize(input.ElementCount());
      for (float& v : data) v = uniform(random);
    } else {
      // The image once per slot of the graph's batch (export --batch).
      const std::vector<float> image =
          megdeploy::PreprocessBgr(megdeploy::ReadBgr(megdeploy::UserPath(input_flag), contract.preprocess), contract.preprocess);
      for (size_t k = 0; k < contract.input_shape[0]; ++k) data.insert(data.end(), image.begin(), image.end());
    }
    input.CopyFrom(data);

    auto first_start = Clock::now();
    network.Forward();
    const double first_ms = MillisecondsSince(first_start);
    for (int i = 0; i < warmup; ++i) network.Forward();

    std::vector<double> samples;
    samples.reserve(iters);
    megdeploy::Progress progress(iters, "timing");
    for (int i = 0; i < iters; ++i) {
      auto start = Clock::now();
      network.Forward();
      samples.push_back(MillisecondsSince(start));
      progress.Update(i + 1);
    }
    // At the end, everything fast-run profiled is in the cache; only a --fast_run_cache of the
    // user's is written: the contract's cache is the model's, checked by its SHA-256.
    if (!lite.fast_run_cache.empty()) network.SaveFastRunCache();
    megdeploy::LatencyStats stats = megdeploy::Summarise(samples);
    const size_t batch = contract.input_shape[0];
    if (json) {
      nlohmann::ordered_json out = {
          {"runtime", "lite_cc"}, {"model", megdeploy::Shown(model_path)}, {"options", OptionsSummary(options)},
          {"threads", threads}, {"batch", batch}, {"iters", iters}, {"warmup", warmup},
          {"load_ms", load_ms}, {"first_ms", first_ms}, {"min_ms", stats.min_ms},
          {"median_ms", stats.median_ms}, {"p90_ms", stats.p90_ms}, {"max_ms", stats.max_ms},
          {"std_ms", stats.std_ms}, {"samples_ms", samples}, {"images_per_s", batch * 1e3 / stats.median_ms},
          {"xbyak_amd_fix", megdeploy::ApplyXbyakAmdFix()}};
      std::printf("%s\n", out.dump().c_str());
    } else {
      std::printf("model %s, Lite C++, %d thread(s), batch %zu, options %s\n", megdeploy::Shown(model_path).c_str(),
                  threads, batch, OptionsSummary(options).c_str());
      std::printf("load %.1f ms, first run %.2f ms\n", load_ms, first_ms);
      std::printf("%d iterations: min %.2f  median %.2f  p90 %.2f  max %.2f  std %.2f ms\n", iters,
                  stats.min_ms, stats.median_ms, stats.p90_ms, stats.max_ms, stats.std_ms);
      std::printf("%.1f images/s\n", batch * 1e3 / stats.median_ms);
    }
  } catch (const std::exception& e) {
    return megdeploy::Fail("benchmark", e.what());
  }
  return 0;
}

}  // namespace
