// Loads a network, runs it once and frees it, 200 times: resident memory must stop growing.
//
// Resident memory rises in steps while glibc's arenas and Lite's global caches settle (seen: +8 MB
// between cycles 20 and 30, +0.6 MB near cycle 110), so the first 100 cycles are warm-up and the
// last 100 may add at most kGrowthBoundMb in total, 40 KB a cycle. A leaked model buffer (18.6 MB
// for EfficientNet-Lite0) or a leaked network would exceed that in one cycle. Bytes held by malloc
// (mallinfo2, mmapped blocks included) are printed beside it as the finer-grained reading.
//
// Usage: load_free_test MODEL
#include <malloc.h>
#include <unistd.h>

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
constexpr double kGrowthBoundMb = 4.0;

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
  double after_warmup = 0, malloc_after_warmup = 0;
  try {
    for (int cycle = 1; cycle <= kCycles; ++cycle) {
      {
        megdeploy::LiteRunner network(argv[1], megdeploy::LiteOptions{});
        megdeploy::TensorView input = network.Input(network.InputName(0));
        input.CopyFrom(std::vector<float>(input.ElementCount(), 0.5f));
        network.Forward();
      }
      if (cycle == kWarmupCycles) {
        after_warmup = ResidentMb();
        malloc_after_warmup = MallocInUseMb();
      }
      if (cycle % 10 == 0) {
        std::printf("cycle %d: resident %.1f MB, malloc in use %.2f MB\n", cycle, ResidentMb(), MallocInUseMb());
        std::fflush(stdout);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "load_free_test: %s\n", e.what());
    return 1;
  }
  const double growth = ResidentMb() - after_warmup;
  std::printf("resident memory grew %.2f MB from cycle %d to %d (bound %.1f MB); malloc in use changed %+.3f MB\n",
              growth, kWarmupCycles, kCycles, kGrowthBoundMb, MallocInUseMb() - malloc_after_warmup);
  if (!kCheckGrowth) {
    std::printf("(built with AddressSanitizer: growth not checked)\n");
    return 0;
  }
  return growth <= kGrowthBoundMb ? 0 : 1;
}
