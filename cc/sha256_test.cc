// SHA-256 against FIPS 180-4 / NIST test vectors, including both padding cases.
#include "cc/sha256.h"

#include <cstdio>
#include <string>

int main() {
  struct Case {
    std::string input;
    const char* digest;
  } cases[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",  // 56 bytes: padding spills
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {std::string(1000000, 'a'), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
  };
  int failures = 0;
  for (const Case& c : cases) {
    std::string got = megdeploy::Sha256Hex(c.input);
    if (got != c.digest) {
      std::fprintf(stderr, "sha256 of %zu bytes: got %s, want %s\n", c.input.size(), got.c_str(), c.digest);
      ++failures;
    }
  }
  std::printf("%d of 4 SHA-256 vectors match\n", 4 - failures);
  return failures == 0 ? 0 : 1;
}
