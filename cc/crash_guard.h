// Turns a crash inside MegEngine into our usual one-line error and exit status 1.
//
// MegEngine 1.13's model loader trusts the file: our fuzzer found damaged models on which it
// dereferences garbage (SIGSEGV in GraphLoaderOSSV2::load_single_opr). While a CrashGuard is armed,
// SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT write `message` plus the signal's name to `fd` and
// end the process with _exit(1) (only async-signal-safe calls). The process cannot continue after
// such a crash, so this is for programs, not long-lived servers: they should load untrusted models
// in a child process instead. The C functions serve the Python side through ctypes.
#ifndef CC_CRASH_GUARD_H_
#define CC_CRASH_GUARD_H_

#include <string>

extern "C" {
// Arms the guard (replacing an armed one). `message` is copied. Returns 0.
int megdeploy_crash_guard_arm(const char* message, int fd);
// Restores the previous signal handlers. Returns 0.
int megdeploy_crash_guard_disarm(void);
}

namespace megdeploy {

class CrashGuard {
 public:
  CrashGuard(const std::string& message, int fd) { megdeploy_crash_guard_arm(message.c_str(), fd); }
  ~CrashGuard() { megdeploy_crash_guard_disarm(); }
  CrashGuard(const CrashGuard&) = delete;
  CrashGuard& operator=(const CrashGuard&) = delete;
};

}  // namespace megdeploy

#endif  // CC_CRASH_GUARD_H_
