#include "cc/cpu_fingerprint.h"

#include <fstream>

namespace megdeploy {
namespace {

// Python's str.strip() for the whitespace /proc/cpuinfo uses.
std::string Strip(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t\n");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t\n") - begin + 1);
}

}  // namespace

CpuFingerprint ThisCpu() {
  CpuFingerprint cpu;
  bool have_model = false, have_flags = false;
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while ((!have_model || !have_flags) && std::getline(cpuinfo, line)) {
    const size_t colon = line.find(':');
    const std::string key = Strip(line.substr(0, colon));
    const std::string value = colon == std::string::npos ? "" : Strip(line.substr(colon + 1));
    if (key == "model name" && !have_model) {
      cpu.model_name = value;
      have_model = true;
    } else if (key == "flags" && !have_flags) {
      cpu.flags = value;
      have_flags = true;
    }
  }
  return cpu;
}

}  // namespace megdeploy
