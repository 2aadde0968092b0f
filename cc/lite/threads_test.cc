// Four threads, each owning a LiteRunner on the same model, 50 runs each over the test photos, while a
// fifth thread keeps failing (loading random bytes: Lite refuses them). Every output must be
// bit-identical to the single-thread result for that photo, every failure must be the expected
// one-line error, and fd 2 must still be the original stderr (the library never redirects it).
//
// Usage: threads_test MODEL PHOTO...
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "cc/contract.h"
#include "cc/lite/runner.h"
#include "cc/preprocess.h"

namespace {

constexpr int kThreads = 4;
constexpr int kRunsPerThread = 50;
constexpr int kFailures = 20;

// Identifies the file behind a descriptor, to show fd 2 is the same after the threads.
std::pair<dev_t, ino_t> FileOf(int fd) {
  struct stat info {};
  fstat(fd, &info);
  return {info.st_dev, info.st_ino};
}

std::vector<float> Classify(megdeploy::LiteRunner& network, const std::string& input_name, const std::vector<float>& input) {
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
  const auto stderr_before = FileOf(2);
  const std::string damaged = std::string(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp") +
                              "/threads_test_damaged.mge";
  {
    std::mt19937 random(7);
    std::ofstream out(damaged, std::ios::binary);
    for (int i = 0; i < 100000; ++i) out.put(static_cast<char>(random()));
  }
  try {
    megdeploy::Contract contract = megdeploy::ReadContract(megdeploy::ReadModelFile(model));
    std::vector<std::vector<float>> inputs, expected;
    megdeploy::LiteRunner reference(model, megdeploy::LiteOptions{});
    for (int i = 2; i < argc; ++i) {
      inputs.push_back(megdeploy::PreprocessBgr(megdeploy::ReadBgr(argv[i], contract.preprocess), contract.preprocess));
      expected.push_back(Classify(reference, contract.input_name, inputs.back()));
    }

    std::vector<int> mismatches(kThreads, 0), runs(kThreads, 0);
    std::vector<std::string> errors(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        try {
          megdeploy::LiteRunner network(model, megdeploy::LiteOptions{});
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
    int refused = 0;
    std::string unexpected;
    threads.emplace_back([&] {
      for (int i = 0; i < kFailures; ++i) {
        try {
          megdeploy::LiteRunner network(damaged, megdeploy::LiteOptions{});
          unexpected = "random bytes loaded as a model";
        } catch (const megdeploy::ModelError& e) {
          const std::string what = e.what();
          if (what.find("Lite cannot load the model") != std::string::npos && what.find('\n') == std::string::npos) {
            ++refused;
          } else {
            unexpected = what;
          }
        }
      }
    });
    for (std::thread& thread : threads) thread.join();
    int failures = 0;
    std::printf("failing thread: %d of %d loads refused with one line%s%s\n", refused, kFailures,
                unexpected.empty() ? "" : "; unexpected: ", unexpected.c_str());
    failures += (refused == kFailures ? 0 : 1);
    const bool same_stderr = FileOf(2) == stderr_before;
    std::printf("fd 2 is the original stderr: %s\n", same_stderr ? "yes" : "no");
    failures += same_stderr ? 0 : 1;
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
