#include "cc/crash_guard.h"

#include <signal.h>
#include <unistd.h>

#include <cstring>

namespace {

constexpr int kSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
constexpr size_t kSignalCount = sizeof(kSignals) / sizeof(kSignals[0]);

char g_message[2048];
size_t g_message_length = 0;
int g_fd = 2;
bool g_armed = false;
struct sigaction g_previous[kSignalCount];

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

void Write(const char* text, size_t length) {
  while (length > 0) {
    ssize_t n = write(g_fd, text, length);
    if (n <= 0) return;
    text += n;
    length -= static_cast<size_t>(n);
  }
}

void OnCrash(int signal) {
  Write(g_message, g_message_length);
  const char* name = SignalName(signal);
  Write(" (", 2);
  Write(name, std::strlen(name));
  Write(")\n", 2);
  _exit(1);
}

}  // namespace

extern "C" int megdeploy_crash_guard_arm(const char* message, int fd) {
  megdeploy_crash_guard_disarm();
  g_message_length = std::strlen(message);
  if (g_message_length >= sizeof(g_message)) g_message_length = sizeof(g_message) - 1;
  std::memcpy(g_message, message, g_message_length);
  g_fd = fd;
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = OnCrash;
  sigemptyset(&action.sa_mask);
  for (size_t i = 0; i < kSignalCount; ++i) sigaction(kSignals[i], &action, &g_previous[i]);
  g_armed = true;
  return 0;
}

extern "C" int megdeploy_crash_guard_disarm(void) {
  if (!g_armed) return 0;
  for (size_t i = 0; i < kSignalCount; ++i) sigaction(kSignals[i], &g_previous[i], nullptr);
  g_armed = false;
  return 0;
}
