// The C++ Classifier on EfficientNet-Lite0 and the test photos: records, per-image errors, the
// three image forms agreeing bit for bit, the refusals (bad topk, a damaged copy of the model, a
// missing contract), and no process-wide side effect (fd 2 and the SIGSEGV handler untouched).
//
// Usage: classifier_test MODEL PHOTO PHOTO
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cc/classifier.h"

namespace {

int failures = 0;

void Expect(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what.c_str());
  if (!ok) ++failures;
}

std::string Read(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

template <typename Call>
std::string ErrorOf(Call call) {
  try {
    call();
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

ino_t InodeOf(int fd) {
  struct stat info {};
  fstat(fd, &info);
  return info.st_ino;
}

// The SIGSEGV disposition (the default, or a sanitizer's: the test compares before with after).
void* SegvHandler() {
  struct sigaction action {};
  sigaction(SIGSEGV, nullptr, &action);
  return reinterpret_cast<void*>(action.sa_handler);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: classifier_test MODEL PHOTO PHOTO\n");
    return 2;
  }
  const std::string model = argv[1], cat = argv[2], coffee = argv[3];
  const std::string tmp = std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp";
  const ino_t stderr_before = InodeOf(2);
  void* const handler_before = SegvHandler();

  std::vector<megdeploy::TopClass> tied = megdeploy::TopClasses({0.25f, 0.5f, 0.25f}, {"a", "b", "c"}, 3);
  Expect(tied[0].name == "b" && tied[1].index == 0 && tied[2].index == 2, "TopClasses: ties keep the lower index");

  megdeploy::Classifier classifier(model);
  Expect(classifier.batch() == 1 && classifier.labels().size() == 1000 && !classifier.random_weights(),
         "the contract: batch 1, 1000 ImageNet classes, trained weights");

  const std::string missing = tmp + "/missing.jpg";
  std::vector<megdeploy::Result> results = classifier.ClassifyMany({cat, missing, coffee}, 3);
  Expect(results.size() == 3 && results[0].record && results[2].record && !results[1].record,
         "ClassifyMany: one result per image, the missing one an error");
  Expect(results[1].error.rfind(missing + ": cannot read image: ", 0) == 0, "its error names it: " + results[1].error);
  const megdeploy::Record one = classifier.ClassifyOne(cat, 3);
  Expect(results[0].record->top.size() == 3 && results[0].record->image == cat && results[0].record->model == model,
         "a record: model, image, top 3");
  Expect(one.top[0].index == results[0].record->top[0].index &&
             one.top[0].probability == results[0].record->top[0].probability,
         "ClassifyOne = ClassifyMany (bit for bit): " + one.top[0].name);
  Expect(ErrorOf([&] { classifier.Classify({cat, missing}); }) == results[1].error,
         "Classify throws the bad image's ImageError");
  Expect(ErrorOf([&] { classifier.ClassifyMany({cat}, 1001); }) == "topk must be 1 to 1000, got 1001",
         "topk beyond the classes is refused");

  const std::vector<float> from_path = classifier.Preprocess(cat);
  const std::vector<float> from_bytes = classifier.PreprocessEncoded(Read(cat));
  Expect(from_path == from_bytes, "a path and its encoded bytes give the same input");
  Expect(ErrorOf([&] { classifier.PreprocessBgr(cv::Mat(8, 8, CV_8UC1)); }) ==
             "array: expected a uint8 HxWx3 BGR image",
         "a one-channel array is refused");
  Expect(ErrorOf([&] { classifier.PreprocessEncoded("not an image"); }) == "bytes: not an image OpenCV can decode",
         "undecodable bytes are named \"bytes\"");

  // A copy with one byte changed: refused by its SHA-256 before Lite reads it.
  std::string bytes = Read(model);
  bytes[bytes.size() / 2] ^= 0xFF;
  const std::string damaged = tmp + "/damaged.mge";
  std::ofstream(damaged, std::ios::binary) << bytes;
  std::ofstream(damaged + ".json", std::ios::binary) << Read(model + ".json");
  const std::string refused = ErrorOf([&] { megdeploy::Classifier again(damaged); });
  Expect(refused.find("same size, but its SHA-256 differs") != std::string::npos, "a damaged copy: " + refused);
  const std::string alone = tmp + "/alone.mge";
  std::ofstream(alone, std::ios::binary) << Read(model);
  const std::string no_contract = ErrorOf([&] { megdeploy::Classifier again(alone); });
  Expect(no_contract == alone + ".json: no model contract next to the model (export writes it; copy it with the .mge)",
         "no contract: " + no_contract);

  Expect(InodeOf(2) == stderr_before, "fd 2 is still the original stderr");
  Expect(SegvHandler() == handler_before, "no signal handler was installed");
  std::printf("%s\n", failures ? "FAILED" : "all passed");
  return failures ? 1 : 0;
}
