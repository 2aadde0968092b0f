#include "cc/programs/benchmark_stats.h"

#include <algorithm>
#include <cmath>

namespace megdeploy {
namespace {

double Percentile(const std::vector<double>& sorted, double q) {
  double position = q * (sorted.size() - 1);
  size_t below = static_cast<size_t>(std::floor(position));
  size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

}  // namespace

LatencyStats Summarise(std::vector<double> samples_ms) {
  LatencyStats stats;
  if (samples_ms.empty()) return stats;
  std::sort(samples_ms.begin(), samples_ms.end());
  stats.min_ms = samples_ms.front();
  stats.max_ms = samples_ms.back();
  stats.median_ms = Percentile(samples_ms, 0.5);
  stats.p90_ms = Percentile(samples_ms, 0.9);
  double mean = 0;
  for (double v : samples_ms) mean += v;
  mean /= samples_ms.size();
  double variance = 0;
  for (double v : samples_ms) variance += (v - mean) * (v - mean);
  stats.std_ms = std::sqrt(variance / samples_ms.size());  // population std, as numpy.std
  return stats;
}

}  // namespace megdeploy
