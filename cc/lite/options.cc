#include "cc/lite/options.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <fstream>

#include "cc/model_files.h"

namespace megdeploy {
namespace {

// Python's str.strip() for the whitespace /proc/cpuinfo uses.
std::string Strip(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t\n");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t\n") - begin + 1);
}

}  // namespace

bool IsChoice(const std::string& choice) {
  for (const char* known : kChoices) {
    if (choice == known) return true;
  }
  return false;
}

std::string LiteOptions::Describe() const {
  std::string text = nchw88 ? "NCHW88" : nchw44 ? "NCHW44" : "NCHW";
  if (layout_transform) text += " + layout transform";
  if (fast_run) text += " + fast-run";
  if (weight_preprocess) text += " + weight preprocess";
  if (record_level) text += " + record level " + std::to_string(record_level);
  return text;
}

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

ChosenOptions OptionsFor(const LiteSettings& lite, const std::string& model_path, const std::string& choice,
                         const std::string& cache_file) {
  if (!IsChoice(choice)) throw std::invalid_argument("lite options must be best or default, got '" + choice + "'");
  ChosenOptions chosen;
  if (choice != "best" || !lite.recorded) return chosen;
  chosen.options.weight_preprocess = lite.weight_preprocess;
  chosen.options.record_level = lite.record_level;
  if (!(lite.cpu == ThisCpu())) {
    chosen.note = ContractPathFor(model_path) +
                  ": Lite settings were chosen on another CPU: using the safe part (re-export here for the fastest)";
    return chosen;
  }
  chosen.options.nchw88 = lite.nchw88;
  if (lite.fast_run_cache.empty()) return chosen;
  const std::string cache = cache_file.empty() ? BesideModel(model_path, lite.fast_run_cache) : cache_file;
  if (access(cache.c_str(), F_OK) != 0) {
    chosen.note = cache + ": fast-run cache missing (export writes it beside the model): kernels are chosen by " +
                  "heuristics, slower";
    return chosen;
  }
  if (Sha256Hex(ReadFile(cache, "fast-run cache")) != lite.fast_run_cache_sha256) {
    throw SettingsError(cache + ": fast-run cache does not match its contract " + ContractPathFor(model_path) +
                        ": re-export, or copy it with the model");
  }
  chosen.options.fast_run = true;
  chosen.options.fast_run_cache = cache;
  return chosen;
}

EmbeddedCacheFile::EmbeddedCacheFile(const std::string& data) {
  if (data.empty()) return;
  const char* tmpdir = std::getenv("TMPDIR");
  std::string name = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/megdeploy-XXXXXX.fastrun";
  std::vector<char> buffer(name.begin(), name.end());
  buffer.push_back('\0');
  const int fd = mkstemps(buffer.data(), static_cast<int>(std::strlen(".fastrun")));
  if (fd < 0) throw std::runtime_error(name + ": cannot write the embedded fast-run cache: " + std::strerror(errno));
  path_ = buffer.data();
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = write(fd, data.data() + written, data.size() - written);
    if (n <= 0) {
      close(fd);
      unlink(path_.c_str());
      throw std::runtime_error(path_ + ": cannot write the embedded fast-run cache: " + std::strerror(errno));
    }
    written += static_cast<size_t>(n);
  }
  close(fd);
}

EmbeddedCacheFile::~EmbeddedCacheFile() {
  if (!path_.empty()) unlink(path_.c_str());
}

}  // namespace megdeploy
