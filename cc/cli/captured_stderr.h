// Holds file descriptor 2 in a temp file for a scope, so that what a library prints there while it
// fails (Lite's "LITE[ERR] ..." log, libpng's "libpng error: ...") does not turn our one-line error
// into two, and can still be used as the reason when the library's own error text is empty.
//
// fd 2 belongs to the whole process, so captures are serialised: a CapturedStderr holds a
// process-wide (recursive) lock from construction to Release(), and a second thread's capture waits
// for it. Otherwise two overlapping captures would restore each other's temp file as stderr for
// good. Keep captured scopes short (a model load).
#ifndef CC_CLI_CAPTURED_STDERR_H_
#define CC_CLI_CAPTURED_STDERR_H_

#include <cstdio>
#include <mutex>
#include <string>

namespace megdeploy {

class CapturedStderr {
 public:
  CapturedStderr();
  ~CapturedStderr();  // restores stderr, dropping anything not Release()d
  CapturedStderr(const CapturedStderr&) = delete;
  CapturedStderr& operator=(const CapturedStderr&) = delete;

  // Restores stderr and returns what was written meanwhile.
  std::string Release();
  // The real stderr while captured (for a crash handler's last words), else 2.
  int real_fd() const { return saved_ >= 0 ? saved_ : 2; }

 private:
  std::unique_lock<std::recursive_mutex> lock_;
  std::FILE* file_ = nullptr;
  int saved_ = -1;
};

}  // namespace megdeploy

#endif  // CC_CLI_CAPTURED_STDERR_H_
