// What every C++ program shares around its flags: one parser (CLI11, from Debian), `--flag value`
// and `--flag=value`, `--help`, `--version` (ours and Lite's), and usage errors as one line with
// exit status 2, like the Python programs (py/mgedeploy/cli/). Also paths resolved the way the
// Python programs resolve them (relative to where the user ran `bazel run`). Example:
//
//   CLI::App app{"Checks that a model's output is a softmax.", "softmax_check"};
//   std::string model;
//   app.add_option("model", model, "an exported .mge model")->required();
//   if (int status = megdeploy::ParseFlags(app, argc, argv); status >= 0) return status;
#ifndef CC_CLI_PROGRAM_H_
#define CC_CLI_PROGRAM_H_

#include <string>

#include <CLI/CLI.hpp>

namespace megdeploy {

// `PROGRAM (megdeploy X.Y.Z) Lite A.B.C`, the line the Python programs print too.
std::string VersionText(const std::string& program);

// Adds --version, parses, and handles what parsing ends with: --help and --version print and give
// 0; a usage error prints `PROGRAM: what is wrong (see --help)` and gives 2. Returns -1 when the
// program should go on.
int ParseFlags(CLI::App& app, int argc, char** argv);

// A usage error found after parsing (e.g. --topk larger than the model's classes): one line, 2.
int UsageError(const std::string& program, const std::string& message);

// Resolves a user-typed path against $BUILD_WORKING_DIRECTORY (set by `bazel run`), else the cwd.
std::string UserPath(const std::string& path);

// A path as the user would type it: relative to their directory when inside it.
std::string Shown(const std::string& path);

// A file of this repository in the program's runfiles (e.g. "testdata/cat.jpg"), or "" if absent.
std::string RunfilesPath(const std::string& argv0, const std::string& repo_relative);

}  // namespace megdeploy

#endif  // CC_CLI_PROGRAM_H_
