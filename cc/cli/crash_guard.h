// Turns a crash inside MegEngine into our usual one-line error and exit status 1.
//
// MegEngine 1.13's model loader trusts the file: our fuzzer found damaged models on which it
// dereferences garbage (SIGSEGV in GraphLoaderOSSV2::load_single_opr). While a thread has a guard
// armed, a SIGSEGV, SIGBUS, SIGFPE, SIGILL or SIGABRT raised in that thread writes the thread's
// `message` plus the signal's name to `fd` and ends the process with _exit(1) (only
// async-signal-safe calls). A crash in a thread without an armed guard goes to whatever handler was
// there before (the default: a core dump), so the guard changes nothing outside its scopes.
//
// Thread-safe: each thread arms and disarms its own slot (a fixed table keyed by thread id, so the
// handler reads it without locks); the handlers are installed once, on the first arm, and stay.
// The process cannot continue after such a crash, so this is for programs, not long-lived
// servers: they should load untrusted models in a child process. The C functions serve the Python
// side through ctypes (py/mgedeploy/lite/crash_guard.py).
#ifndef CC_CLI_CRASH_GUARD_H_
#define CC_CLI_CRASH_GUARD_H_

#include <string>

extern "C" {
// Arms the calling thread's guard (replacing its armed one). `message` is copied. Returns 0, or -1
// when more threads than the table holds are armed at once (then this thread is not guarded).
int megdeploy_crash_guard_arm(const char* message, int fd);
// Disarms the calling thread's guard. Returns 0.
int megdeploy_crash_guard_disarm(void);
// How many threads have a guard armed now (for tests).
int megdeploy_crash_guard_armed_count(void);
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

#endif  // CC_CLI_CRASH_GUARD_H_
