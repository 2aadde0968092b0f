// softmax_check: the tutorial's first C++ program. Feeds a seeded random input of the model's
// input shape through Lite and prints the output's SUM and MAX; a softmax output must sum to 1.
//
// Usage: softmax_check MODEL [--threads N] [--seed N]   (--help, --version)
// Exit status: 0 if SUM is 1 within 1e-4, 1 if not or if the model fails, 2 for bad arguments.
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "cc/cli/program.h"
#include "cc/lite/runner.h"

namespace {

// float32 sums of 1000 probabilities drift by ~1e-7 each; 1e-4 still catches a wrong graph.
constexpr double kSumTolerance = 1e-4;

// Runs the model once on the seeded input and checks the sum; returns the exit status.
int Check(const std::string& model, int threads, unsigned seed);

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Feeds a seeded random input through Lite and checks that the output is a softmax (sums to 1).",
               "softmax_check"};
  std::string model;
  int threads = 1;
  unsigned seed = 0;
  app.add_option("model", model, "an exported .mge model whose output is a softmax")->required();
  app.add_option("--threads", threads, "CPU threads for Lite (default 1)")->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "seed of the uniform [0, 1) random input (default 0)");
  if (int status = megdeploy::ParseFlags(app, argc, argv); status >= 0) return status;
  LITE_set_log_level(LITE_LOG_ERROR);
  const std::string model_path = megdeploy::UserPath(model);
  return megdeploy::Guarded(model_path + ": Lite crashed while loading or running the model: the file is damaged",
                            [&] { return Check(model_path, threads, seed); });
}

namespace {

int Check(const std::string& model, int threads, unsigned seed) {
  try {
    megdeploy::LiteRunner network(model, megdeploy::LiteOptions{}, threads);
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
      char why[128];
      std::snprintf(why, sizeof why, "output sums to %.6f, not 1 (tolerance %g)", sum, kSumTolerance);
      return megdeploy::Fail("softmax_check", model + ": " + why);
    }
  } catch (const std::exception& e) {
    return megdeploy::Fail("softmax_check", e.what());
  }
  return 0;
}

}  // namespace
