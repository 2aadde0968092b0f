// What every C++ program shares around its main, like the Python programs (py/mgedeploy/cli/):
// one flag parser (CLI11, from Debian), `--flag value` and `--flag=value`, `--help`, `--version`
// (ours and Lite's), usage errors as one line with exit status 2, failures as one line with 1,
// native fd-2 output filtered (quiet.h), the crash guard armed around the Lite calls a program
// guards (Guarded), and paths resolved the way the Python programs resolve them (relative to
// where the user ran `bazel run`). Programs only: the library never calls these. Example:
//
//   CLI::App app{"Checks that a model's output is a softmax.", "softmax_check"};
//   std::string model;
//   app.add_option("model", model, "an exported .mge model")->required();
//   if (int status = megdeploy::ParseFlags(app, argc, argv); status >= 0) return status;
#ifndef CC_CLI_PROGRAM_H_
#define CC_CLI_PROGRAM_H_

#include <string>

#include <CLI/CLI.hpp>

#include "cc/cli/crash_guard.h"
#include "cc/cli/quiet.h"

namespace megdeploy {

// `PROGRAM (megdeploy X.Y.Z) Lite A.B.C`, the line the Python programs print too.
std::string VersionText(const std::string& program);

// Installs the fd-2 filter (quiet.h), adds --version, parses, and handles what parsing ends with:
// --help and --version print and give 0; a usage error prints `PROGRAM: what is wrong (see
// --help)` and gives 2. Returns -1 when the program should go on. Call it first in main.
int ParseFlags(CLI::App& app, int argc, char** argv);

// A usage error found after parsing (e.g. --topk larger than the model's classes): one line, 2.
int UsageError(const std::string& program, const std::string& message);

// An expected failure: `PROGRAM: message` on the real stderr, the native output behind it
// dropped; returns exit status 1.
int Fail(const std::string& program, const std::string& message);

// The program's name (CLI::App's), as our one-line errors start.
std::string ProgramName();

// Runs `step` with this thread's crash guard armed (crash_guard.h): a crash inside prints
// `PROGRAM: message (SIGNAL)` on the real stderr and exits 1. Python's twin: crash_guard.guarded.
template <typename Step>
auto Guarded(const std::string& message, Step&& step) {
  CrashGuard guard(ProgramName() + ": " + message, quiet::RealStderrFd());
  return step();
}

// Resolves a user-typed path against $BUILD_WORKING_DIRECTORY (set by `bazel run`), else the cwd.
std::string UserPath(const std::string& path);

// A path as the user would type it: relative to their directory when inside it.
std::string Shown(const std::string& path);

// A file of this repository in the program's runfiles (e.g. "testdata/cat.jpg"), or "" if absent.
std::string RunfilesPath(const std::string& argv0, const std::string& repo_relative);

}  // namespace megdeploy

#endif  // CC_CLI_PROGRAM_H_
