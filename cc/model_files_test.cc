// The model read: ReadModelFile returns the file's bytes and their SHA-256 (FIPS 180-4 vectors,
// both padding cases, and a file longer than one read chunk), refuses what CheckModelFile refuses,
// and Sha256Hex agrees with it.
#include "cc/model_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

int failures = 0;

void Expect(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what.c_str());
  if (!ok) ++failures;
}

std::string Refusal(const std::string& path) {
  try {
    megdeploy::ReadModelFile(path);
    return "";
  } catch (const megdeploy::ModelError& e) {
    return e.what();
  }
}

}  // namespace

int main() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = tmp ? tmp : "/tmp";
  struct Case {
    std::string input;
    const char* digest;
  } cases[] = {
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",  // 56 bytes: padding spills
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {std::string(1000000, 'a'), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
  };
  for (const Case& c : cases) {
    const std::string path = dir + "/model_" + std::to_string(c.input.size());
    std::ofstream(path, std::ios::binary) << c.input;
    const megdeploy::ModelFile model = megdeploy::ReadModelFile(path);
    Expect(*model.bytes == c.input && model.sha256 == c.digest && megdeploy::Sha256Hex(c.input) == c.digest,
           std::to_string(c.input.size()) + " bytes: read whole, SHA-256 " + model.sha256);
  }
  Expect(megdeploy::Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "SHA-256 of nothing");

  const std::string empty = dir + "/empty.mge", fifo = dir + "/fifo.mge";
  std::ofstream(empty).close();
  mkfifo(fifo.c_str(), 0600);
  Expect(Refusal(dir + "/missing.mge") == dir + "/missing.mge: cannot open model: model file not found", "missing");
  Expect(Refusal(empty) == empty + ": model file is empty", "empty");
  Expect(Refusal(fifo) == fifo + ": cannot open model: not a regular file", "a FIFO is refused, not read");
  Expect(Refusal(dir) == dir + ": is a directory, not a model file", "a directory");
  std::printf("%s\n", failures ? "FAILED" : "all passed");
  return failures ? 1 : 0;
}
