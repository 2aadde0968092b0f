#include "cc/cli/captured_stderr.h"

#include <unistd.h>

namespace megdeploy {
namespace {

std::recursive_mutex& CaptureLock() {
  static std::recursive_mutex lock;
  return lock;
}

}  // namespace

CapturedStderr::CapturedStderr() : lock_(CaptureLock()) {
  std::fflush(stderr);
  file_ = std::tmpfile();
  saved_ = file_ ? dup(2) : -1;
  if (saved_ >= 0) dup2(fileno(file_), 2);
}

CapturedStderr::~CapturedStderr() { Release(); }

std::string CapturedStderr::Release() {
  std::string text;
  if (saved_ < 0) {
    if (lock_.owns_lock()) lock_.unlock();
    return text;
  }
  std::fflush(stderr);
  dup2(saved_, 2);
  close(saved_);
  saved_ = -1;
  std::rewind(file_);
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof(buffer), file_)) > 0;) text.append(buffer, n);
  std::fclose(file_);
  file_ = nullptr;
  lock_.unlock();
  return text;
}

}  // namespace megdeploy
