#include "cc/cli_util.h"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace megdeploy {
namespace {

constexpr char kWorkspace[] = "megdeploy";

std::string BaseDirectory() {
  const char* bazel_dir = std::getenv("BUILD_WORKING_DIRECTORY");
  if (bazel_dir != nullptr && *bazel_dir) return bazel_dir;
  std::vector<char> buffer(PATH_MAX);
  return getcwd(buffer.data(), buffer.size()) ? std::string(buffer.data()) : ".";
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

}  // namespace

int ReportUsageError(const std::string& program, const std::string& message, bool no_arguments,
                     const char* usage) {
  if (no_arguments) {
    std::fprintf(stderr, "%s: %s\n%s", program.c_str(), message.c_str(), usage);
  } else {
    std::fprintf(stderr, "%s: %s (see --help)\n", program.c_str(), message.c_str());
  }
  return 2;
}

std::optional<long> ParseInt(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long value = std::strtol(text.c_str(), &end, 10);
  if (errno != 0 || end == nullptr || *end != '\0') return std::nullopt;
  return value;
}

std::string UserPath(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  return BaseDirectory() + "/" + path;
}

std::string Shown(const std::string& path) {
  const std::string base = BaseDirectory() + "/";
  return path.compare(0, base.size(), base) == 0 ? path.substr(base.size()) : path;
}

std::string RunfilesPath(const std::string& argv0, const std::string& repo_relative) {
  std::vector<std::string> roots;
  for (const char* variable : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
    const char* value = std::getenv(variable);
    if (value != nullptr && *value) roots.push_back(value);
  }
  roots.push_back(argv0 + ".runfiles");
  for (const std::string& root : roots) {
    std::string candidate = root + "/" + kWorkspace + "/" + repo_relative;
    if (Exists(candidate)) return candidate;
  }
  return "";
}

}  // namespace megdeploy
