#include "cc/cli/quiet.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <regex>
#include <string>

namespace megdeploy::quiet {
namespace {

std::FILE* g_captured = nullptr;  // where fd 2 goes
std::FILE* g_real = nullptr;      // the terminal's stderr
bool g_replay = true;

// The same known chatter as quiet.py's _CHATTER.
bool IsChatter(const std::string& line) {
  static const std::regex chatter(
      R"(^(info: [+].*|debug: failed to load cuda func: .*|.*iCCP: known incorrect sRGB profile)$)");
  return std::regex_match(line, chatter);
}

void Replay() {
  if (!g_replay || g_captured == nullptr) return;
  std::fflush(stderr);
  std::rewind(g_captured);
  char buffer[4096];
  std::string line;
  auto emit = [&] {
    if (line.find_first_not_of(" \t\r") != std::string::npos && !IsChatter(line)) {
      std::fprintf(g_real, "%s\n", line.c_str());
    }
    line.clear();
  };
  while (std::fgets(buffer, sizeof buffer, g_captured) != nullptr) {
    line += buffer;
    if (!line.empty() && line.back() == '\n') {
      line.pop_back();
      emit();
    }
  }
  if (!line.empty()) emit();
  std::fflush(g_real);
}

}  // namespace

void Install() {
  if (g_real != nullptr) return;
  std::fflush(stderr);
  const int real = dup(2);
  std::FILE* captured = std::tmpfile();
  if (real < 0 || captured == nullptr) return;  // leave stderr as it is: only less tidy
  g_real = fdopen(real, "w");
  setvbuf(g_real, nullptr, _IOLBF, 0);
  g_captured = captured;
  dup2(fileno(captured), 2);
  std::atexit(Replay);
}

std::FILE* RealStderr() { return g_real != nullptr ? g_real : stderr; }

int RealStderrFd() { return g_real != nullptr ? fileno(g_real) : 2; }

void DropNativeOutput() { g_replay = false; }

}  // namespace megdeploy::quiet
