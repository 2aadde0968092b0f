#include "cc/cli/crash_guard.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>

namespace {

constexpr int kSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
constexpr size_t kSignalCount = sizeof(kSignals) / sizeof(kSignals[0]);
// More threads than this loading or running networks at once would be unusual for a program.
constexpr size_t kSlots = 64;

// A slot belongs to the thread whose id it holds (0: free). The handler only reads.
struct Slot {
  std::atomic<pid_t> thread{0};
  int fd = 2;
  size_t length = 0;
  char message[1024];
};

Slot g_slots[kSlots];
struct sigaction g_previous[kSignalCount];
std::once_flag g_installed;

pid_t ThisThread() { return static_cast<pid_t>(syscall(SYS_gettid)); }

const char* SignalName(int signal) {
  switch (signal) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
  }
  return "a signal";
}

void Write(int fd, const char* text, size_t length) {
  while (length > 0) {
    ssize_t n = write(fd, text, length);
    if (n <= 0) return;
    text += n;
    length -= static_cast<size_t>(n);
  }
}

Slot* SlotOf(pid_t thread) {
  for (Slot& slot : g_slots) {
    if (slot.thread.load(std::memory_order_acquire) == thread) return &slot;
  }
  return nullptr;
}

// Not our crash: hand it to the handler that was there before us, as if we were not installed.
void PassOn(int signal, siginfo_t* info, void* context) {
  for (size_t i = 0; i < kSignalCount; ++i) {
    if (kSignals[i] != signal) continue;
    const struct sigaction& previous = g_previous[i];
    if (previous.sa_flags & SA_SIGINFO) {
      previous.sa_sigaction(signal, info, context);
      return;
    }
    if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
      previous.sa_handler(signal);
      return;
    }
  }
  // The default action: reset and re-raise (the fault repeats on return for SIGSEGV/SIGBUS).
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = SIG_DFL;
  sigaction(signal, &action, nullptr);
  raise(signal);
}

void OnCrash(int signal, siginfo_t* info, void* context) {
  Slot* slot = SlotOf(ThisThread());
  if (slot == nullptr) {
    PassOn(signal, info, context);
    return;
  }
  Write(slot->fd, slot->message, slot->length);
  const char* name = SignalName(signal);
  Write(slot->fd, " (", 2);
  Write(slot->fd, name, std::strlen(name));
  Write(slot->fd, ")\n", 2);
  _exit(1);
}

void Install() {
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_sigaction = OnCrash;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  for (size_t i = 0; i < kSignalCount; ++i) sigaction(kSignals[i], &action, &g_previous[i]);
}

}  // namespace

extern "C" int megdeploy_crash_guard_arm(const char* message, int fd) {
  std::call_once(g_installed, Install);
  const pid_t me = ThisThread();
  Slot* slot = SlotOf(me);
  if (slot != nullptr) slot->thread.store(0, std::memory_order_release);  // rewritten below
  for (Slot& candidate : g_slots) {
    pid_t expected = 0;
    // Claim with a placeholder id first: the handler must never see a half-written message.
    if (!candidate.thread.compare_exchange_strong(expected, -1, std::memory_order_acq_rel)) continue;
    candidate.length = std::min(std::strlen(message), sizeof(candidate.message));
    std::memcpy(candidate.message, message, candidate.length);
    candidate.fd = fd;
    candidate.thread.store(me, std::memory_order_release);
    return 0;
  }
  return -1;
}

extern "C" int megdeploy_crash_guard_disarm(void) {
  Slot* slot = SlotOf(ThisThread());
  if (slot != nullptr) slot->thread.store(0, std::memory_order_release);
  return 0;
}

extern "C" int megdeploy_crash_guard_armed_count(void) {
  int count = 0;
  for (const Slot& slot : g_slots) count += slot.thread.load(std::memory_order_acquire) > 0;
  return count;
}
