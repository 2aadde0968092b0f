// Small helpers shared by the C++ command-line programs: argument values, and paths resolved the
// way //py's programs resolve them (relative to where the user ran `bazel run`).
#ifndef CC_CLI_UTIL_H_
#define CC_CLI_UTIL_H_

#include <optional>
#include <string>

namespace megdeploy {

// Prints a usage error and returns exit status 2: with no arguments at all (`no_arguments`) the
// user wants the usage text; otherwise one line says what is wrong.
int ReportUsageError(const std::string& program, const std::string& message, bool no_arguments,
                     const char* usage);

// A whole-string decimal integer, or nothing ("12x", "", "1e3" are rejected).
std::optional<long> ParseInt(const std::string& text);

// Resolves a user-typed path against $BUILD_WORKING_DIRECTORY (set by `bazel run`), else the cwd.
std::string UserPath(const std::string& path);

// A path as the user would type it: relative to their directory when inside it.
std::string Shown(const std::string& path);

// A file of this repository in the program's runfiles (e.g. "testdata/cat.jpg"), or "" if absent.
std::string RunfilesPath(const std::string& argv0, const std::string& repo_relative);

}  // namespace megdeploy

#endif  // CC_CLI_UTIL_H_
