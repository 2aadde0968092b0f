// Four threads, each owning a Network on the same model, 50 runs each over the test photos: every
// output must be bit-identical to the single-thread result for that photo.
//
// Usage: threads_test MODEL PHOTO...
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "cc/contract.h"
#include "cc/lite.h"
#include "cc/preprocess.h"

namespace {

constexpr int kThreads = 4;
constexpr int kRunsPerThread = 50;

std::vector<float> Classify(megdeploy::Network& network, const std::string& input_name, const std::vector<float>& input) {
  network.Input(input_name).CopyFrom(input);
  network.Forward();
  return network.Output(0).ToVector();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL PHOTO...\n", argv[0]);
    return 2;
  }
  LITE_set_log_level(LITE_LOG_ERROR);
  const std::string model = argv[1];
  try {
    megdeploy::Contract contract = megdeploy::ReadContract(model);
    std::vector<std::vector<float>> inputs, expected;
    megdeploy::Network reference(model, megdeploy::NetworkOptions{});
    for (int i = 2; i < argc; ++i) {
      inputs.push_back(megdeploy::PreprocessBgr(megdeploy::ReadBgr(argv[i]), contract.preprocess));
      expected.push_back(Classify(reference, contract.input_name, inputs.back()));
    }

    std::vector<int> mismatches(kThreads, 0), runs(kThreads, 0);
    std::vector<std::string> errors(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        try {
          megdeploy::Network network(model, megdeploy::NetworkOptions{});
          for (int i = 0; i < kRunsPerThread; ++i) {
            size_t photo = (t + i) % inputs.size();  // threads work on different photos at once
            std::vector<float> out = Classify(network, contract.input_name, inputs[photo]);
            ++runs[t];
            if (out.size() != expected[photo].size() ||
                std::memcmp(out.data(), expected[photo].data(), out.size() * sizeof(float)) != 0) {
              ++mismatches[t];
            }
          }
        } catch (const std::exception& e) {
          errors[t] = e.what();
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    int failures = 0;
    for (int t = 0; t < kThreads; ++t) {
      std::printf("thread %d: %d runs, %d differ from the single-thread output%s%s\n", t, runs[t], mismatches[t],
                  errors[t].empty() ? "" : "; error: ", errors[t].c_str());
      failures += mismatches[t] + (errors[t].empty() ? 0 : 1) + (runs[t] == kRunsPerThread ? 0 : 1);
    }
    std::printf("%s: %d threads x %d runs over %zu photos: %s\n", contract.model.c_str(), kThreads, kRunsPerThread,
                inputs.size(), failures ? "FAILED" : "all bit-identical");
    return failures ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "threads_test: %s\n", e.what());
    return 1;
  }
}
