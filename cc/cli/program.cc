#include "cc/cli/program.h"

#include <errno.h>  // program_invocation_short_name
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "cc/cli/quiet.h"
#include "cc/lite/runner.h"

#ifndef MEGDEPLOY_VERSION
#error "MEGDEPLOY_VERSION is set by cc/BUILD.bazel from //:version.bzl"
#endif

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

bool StartsWith(const std::string& text, const std::string& prefix) { return text.compare(0, prefix.size(), prefix) == 0; }

std::string g_argv0;    // set by ParseFlags: where the runfiles are
std::string g_program;  // set by ParseFlags: the name in our one-line errors

// This repository's files in the program's runfiles (Python's paths.REPO_ROOT), or "".
std::string RunfilesRoot() {
  std::vector<std::string> roots;
  for (const char* variable : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
    const char* value = std::getenv(variable);
    if (value != nullptr && *value) roots.push_back(value);
  }
  if (!g_argv0.empty()) roots.push_back(g_argv0 + ".runfiles");
  for (const std::string& root : roots) {
    if (Exists(root + "/" + kWorkspace)) return root + "/" + kWorkspace;
  }
  return "";
}

// CLI11's messages can span lines ("...\nRun with --help for more information."): keep the first.
std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

std::string VersionText(const std::string& program) {
  return program + " (megdeploy " + MEGDEPLOY_VERSION + ") Lite " + LiteVersion();
}

int ParseFlags(CLI::App& app, int argc, char** argv) {
  quiet::Install();
  g_argv0 = argv[0];
  g_program = app.get_name();
  bool version = false;
  app.add_flag("--version", version, "print our version and Lite's, then exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    // --version wins over a missing required argument, as in the Python programs.
    for (int i = 1; i < argc; ++i) {
      if (std::string(argv[i]) == "--version") {
        std::printf("%s\n", VersionText(app.get_name()).c_str());
        return 0;
      }
    }
    return UsageError(app.get_name(), FirstLine(e.what()));
  }
  if (version) {
    std::printf("%s\n", VersionText(app.get_name()).c_str());
    return 0;
  }
  return -1;
}

int UsageError(const std::string& program, const std::string& message) {
  Fail(program, message + " (see --help)");
  return 2;
}

int Fail(const std::string& program, const std::string& message) {
  std::fprintf(quiet::RealStderr(), "%s: %s\n", program.c_str(), message.c_str());
  quiet::DropNativeOutput();
  return 1;
}

std::string ProgramName() { return g_program.empty() ? std::string(program_invocation_short_name) : g_program; }

std::string UserPath(const std::string& path) {
  // Normalised lexically, as Python's os.path.normpath does ("./a/../b.jpg" -> "b.jpg").
  const std::string joined = !path.empty() && path[0] == '/' ? path : BaseDirectory() + "/" + path;
  std::string normal = std::filesystem::path(joined).lexically_normal().string();
  if (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal;
}

std::string Shown(const std::string& path) {
  // Python's paths.shown: files of this repository (the embedded photo) relative to its root when
  // the user's directory is elsewhere; otherwise relative to the user's directory when inside it.
  const std::string base = BaseDirectory() + "/";
  const std::string root = RunfilesRoot();
  if (!root.empty() && StartsWith(path, root + "/") && !StartsWith(path, base)) return path.substr(root.size() + 1);
  return StartsWith(path, base) ? path.substr(base.size()) : path;
}

std::string RunfilesPath(const std::string& argv0, const std::string& repo_relative) {
  if (g_argv0.empty()) g_argv0 = argv0;
  const std::string root = RunfilesRoot();
  if (root.empty() || !Exists(root + "/" + repo_relative)) return "";
  return root + "/" + repo_relative;
}

}  // namespace megdeploy
