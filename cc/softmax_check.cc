// softmax_check: the tutorial's first C++ program. Feeds a seeded random input of the model's
// input shape through Lite and prints the output's SUM and MAX; a softmax output must sum to 1.
//
// Usage: softmax_check MODEL [--threads N] [--seed N]
// Exit status: 0 if SUM is 1 within 1e-4, 1 if not or if the model fails, 2 for bad arguments.
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "cc/cli_util.h"
#include "cc/lite.h"

namespace {

constexpr char kUsage[] =
    "usage: softmax_check MODEL [--threads N] [--seed N]\n"
    "  MODEL        an exported .mge model whose output is a softmax\n"
    "  --threads N  CPU threads for Lite (default 1)\n"
    "  --seed N     seed of the uniform [0, 1) random input (default 0)\n";
// float32 sums of 1000 probabilities drift by ~1e-7 each; 1e-4 still catches a wrong graph.
constexpr double kSumTolerance = 1e-4;

}  // namespace

int main(int argc, char** argv) {
  std::string model;
  long threads = 1, seed = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--threads" || arg == "--seed") {
      auto value = i + 1 < argc ? megdeploy::ParseInt(argv[++i]) : std::nullopt;
      if (!value || *value < (arg == "--threads" ? 1 : 0)) {
        std::fprintf(stderr, "softmax_check: %s needs a %s integer (see --help)\n", arg.c_str(),
                     arg == "--threads" ? "positive" : "non-negative");
        return 2;
      }
      (arg == "--threads" ? threads : seed) = *value;
    } else if (arg[0] == '-' || !model.empty()) {
      std::fprintf(stderr, "softmax_check: unexpected argument %s (see --help)\n", arg.c_str());
      return 2;
    } else {
      model = arg;
    }
  }
  if (model.empty()) {
    std::fprintf(stderr, "softmax_check: no model given\n%s", kUsage);
    return 2;
  }
  LITE_set_log_level(LITE_LOG_ERROR);
  try {
    megdeploy::NetworkOptions options;
    options.threads = static_cast<int>(threads);
    megdeploy::Network network(megdeploy::UserPath(model), options);
    megdeploy::TensorView input = network.Input(network.InputName(0));
    std::mt19937 random(static_cast<unsigned>(seed));
    std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
    std::vector<float> data(input.ElementCount());
    for (float& v : data) v = uniform(random);
    input.CopyFrom(data);
    network.Forward();
    std::vector<float> output = network.Output(0).ToVector();
    double sum = 0;
    size_t argmax = 0;
    for (size_t i = 0; i < output.size(); ++i) {
      sum += output[i];
      if (output[i] > output[argmax]) argmax = i;
    }
    std::printf("SUM = %.6f\nMAX = %.6f (index %zu of %zu)\n", sum, output.empty() ? 0.0 : output[argmax],
                argmax, output.size());
    if (!(std::fabs(sum - 1.0) <= kSumTolerance)) {
      std::fprintf(stderr, "softmax_check: %s: output sums to %.6f, not 1 (tolerance %g)\n", model.c_str(), sum,
                   kSumTolerance);
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "softmax_check: %s\n", e.what());
    return 1;
  }
  return 0;
}
