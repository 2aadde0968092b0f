#include "cc/cli/progress.h"

#include <unistd.h>

#include <cstdio>

#include "cc/cli/quiet.h"

namespace megdeploy {

Progress::Progress(long total, std::string what)
    : total_(total), what_(std::move(what)), start_(std::chrono::steady_clock::now()) {}

void Progress::Update(long done) {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (seconds < 3 || !isatty(quiet::RealStderrFd()) || total_ <= 0) return;
  const int width = 30, filled = static_cast<int>(width * done / total_);
  std::fprintf(quiet::RealStderr(), "\r%s [%s%s] %ld/%ld", what_.c_str(), std::string(filled, '#').c_str(),
               std::string(width - filled, '.').c_str(), done, total_);
  std::fflush(quiet::RealStderr());
  drawn_ = true;
}

Progress::~Progress() {
  if (drawn_) std::fputc('\n', quiet::RealStderr());
}

}  // namespace megdeploy
