// Loads a network, runs it once and frees it, 200 times: resident memory must stop growing.
//
// A leak grows memory every cycle; glibc's arenas and Lite's global caches grow it in single steps
// (seen: +8 MB between cycles 20 and 30, and once +8.1 MB between cycles 110 and 120 with malloc's
// count flat: freed pages that glibc keeps resident). So after 100 warm-up cycles the test reads
// resident memory every 10 cycles and bounds the *median* 10-cycle growth (kStepBoundMb, 40 KB a
// cycle): a few steps cannot fail it, a leak of more than 40 KB a cycle always does. Bytes held by
// malloc (mallinfo2, mmapped blocks included) are exact, so their total growth is bounded too: a
// leaked model buffer (18.6 MB for EfficientNet-Lite0) exceeds kMallocBoundMb in one cycle.
//
// Usage: load_free_test MODEL
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "cc/lite/runner.h"

namespace {

#if defined(__SANITIZE_ADDRESS__)
// Under ASan, freed memory sits in its quarantine, so resident memory says nothing about leaks:
// a few cycles exercise load/free for ASan and LeakSanitizer, which check at exit.
constexpr int kCycles = 30;
constexpr bool kCheckGrowth = false;
#else
constexpr int kCycles = 200;
constexpr bool kCheckGrowth = true;
#endif
constexpr int kWarmupCycles = kCycles / 2;
constexpr int kReadEvery = 10;
constexpr double kStepBoundMb = 0.4;
constexpr double kMallocBoundMb = 4.0;

double ResidentMb() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20);
}

double MallocInUseMb() {
  const struct mallinfo2 info = mallinfo2();
  return static_cast<double>(info.uordblks + info.hblkhd) / (1 << 20);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s MODEL\n", argv[0]);
    return 2;
  }
  LITE_set_log_level(LITE_LOG_ERROR);
  std::vector<double> resident_after_warmup;  // every kReadEvery cycles from kWarmupCycles on
  double malloc_after_warmup = 0;
  try {
    for (int cycle = 1; cycle <= kCycles; ++cycle) {
      {
        megdeploy::LiteRunner network(argv[1], megdeploy::LiteOptions{});
        megdeploy::TensorView input = network.Input(network.InputName(0));
        input.CopyFrom(std::vector<float>(input.ElementCount(), 0.5f));
        network.Forward();
      }
      if (cycle == kWarmupCycles) malloc_after_warmup = MallocInUseMb();
      if (cycle >= kWarmupCycles && cycle % kReadEvery == 0) resident_after_warmup.push_back(ResidentMb());
      if (cycle % kReadEvery == 0) {
        std::printf("cycle %d: resident %.1f MB, malloc in use %.2f MB\n", cycle, ResidentMb(), MallocInUseMb());
        std::fflush(stdout);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "load_free_test: %s\n", e.what());
    return 1;
  }
  std::vector<double> steps;
  for (size_t i = 1; i < resident_after_warmup.size(); ++i) {
    steps.push_back(resident_after_warmup[i] - resident_after_warmup[i - 1]);
  }
  std::sort(steps.begin(), steps.end());
  const double median_step = steps.empty() ? 0 : steps[steps.size() / 2];
  const double malloc_growth = MallocInUseMb() - malloc_after_warmup;
  std::printf("from cycle %d to %d: resident memory grew %.2f MB, median %.2f MB per %d cycles (bound %.1f MB); "
              "malloc in use changed %+.3f MB (bound %.1f MB)\n",
              kWarmupCycles, kCycles, resident_after_warmup.back() - resident_after_warmup.front(), median_step,
              kReadEvery, kStepBoundMb, malloc_growth, kMallocBoundMb);
  if (!kCheckGrowth) {
    std::printf("(built with AddressSanitizer: growth not checked)\n");
    return 0;
  }
  return median_step <= kStepBoundMb && malloc_growth <= kMallocBoundMb ? 0 : 1;
}
