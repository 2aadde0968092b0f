// Latency statistics shared by the C++ benchmark: min / median / p90 / max / std in milliseconds.
#ifndef CC_PROGRAMS_BENCHMARK_STATS_H_
#define CC_PROGRAMS_BENCHMARK_STATS_H_

#include <vector>

namespace megdeploy {

struct LatencyStats {
  double min_ms = 0, median_ms = 0, p90_ms = 0, max_ms = 0, std_ms = 0;
};

// Percentiles use linear interpolation between order statistics (NumPy's default), so the C++ and
// Python benchmarks report the same numbers for the same samples.
LatencyStats Summarise(std::vector<double> samples_ms);

}  // namespace megdeploy

#endif  // CC_PROGRAMS_BENCHMARK_STATS_H_
