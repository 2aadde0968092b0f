// Prints the version of the Lite library this binary is linked against, as MAJOR.MINOR.PATCH.
#include <cstdio>

#include "lite_c/lite_c.h"

int main() {
  int major = 0, minor = 0, patch = 0;
  if (LITE_get_version(&major, &minor, &patch) != 0) {
    std::fprintf(stderr, "LITE_get_version failed: %s\n", LITE_get_last_error());
    return 1;
  }
  std::printf("%d.%d.%d\n", major, minor, patch);
  return 0;
}
