// The C++ preprocessing against the same hand-worked values as py/mgedeploy/preprocess_test.py,
// and the processing budget against the shared table (argv[1]: testdata/image_budget_cases.json).
#include "cc/preprocess.h"

#include <cfenv>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

int failures = 0;

void Expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %s\n", what);
    ++failures;
  }
}

}  // namespace

void CheckBudgetTable(const char* path) {
  std::ifstream file(path);
  const nlohmann::json table = nlohmann::json::parse(file);
  int cases = 0;
  for (const auto& row : table.at("cases")) {
    const auto problem = megdeploy::SizeProblem(row.at("width").get<long long>(), row.at("height").get<long long>(),
                                                row.at("resize_short").get<int>(),
                                                row.at("max_pixels").get<long long>());
    const std::string want = row.at("problem").is_null() ? "(admitted)" : row.at("problem").get<std::string>();
    const std::string got = problem ? *problem : "(admitted)";
    if (got != want) {
      std::fprintf(stderr, "FAILED: budget case '%s': got '%s', want '%s'\n",
                   row.at("what").get<std::string>().c_str(), got.c_str(), want.c_str());
      ++failures;
    }
    ++cases;
  }
  Expect(cases >= 20, "the budget table has its cases");
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: preprocess_test image_budget_cases.json\n");
    return 2;
  }
  CheckBudgetTable(argv[1]);
  using megdeploy::CropOffset;
  using megdeploy::ResizedSize;

  Expect(ResizedSize(300, 451, 256) == cv::Size(384, 256), "ResizedSize(300, 451) = 256x384");
  Expect(ResizedSize(451, 300, 256) == cv::Size(256, 384), "ResizedSize(451, 300) = 384x256");
  Expect(ResizedSize(10, 10, 256) == cv::Size(256, 256), "small images are scaled up");
  Expect(CropOffset(384, 224) == 80, "CropOffset(384) = 80");
  Expect(CropOffset(229, 224) == 2, "CropOffset(229) = round(2.5) = 2, half to even");
  Expect(CropOffset(231, 224) == 4, "CropOffset(231) = round(3.5) = 4, half to even");
  // Python's round() of (size - crop) / 2 for every difference in -9..9, under a rounding mode
  // that is not the default: the answer does not depend on it, and the mode is left as it was.
  std::fesetround(FE_UPWARD);
  bool all_half_even = true;
  const int python_round[19] = {-4, -4, -4, -3, -2, -2, -2, -1, 0, 0, 0, 1, 2, 2, 2, 3, 4, 4, 4};  // Python 3
  for (int d = -9; d <= 9; ++d) all_half_even &= CropOffset(224 + d, 224) == python_round[d + 9];
  Expect(all_half_even, "CropOffset matches Python's round() for differences -9..9");
  Expect(std::fegetround() == FE_UPWARD, "CropOffset leaves the caller's rounding mode alone");
  std::fesetround(FE_TONEAREST);

  // 4x7 BGR image: B = 10 * row + col, G = 100, R = 200; resize_short 4 keeps it; the 2x2 crop
  // starts at row 1, col int(round(2.5)) = 2.
  cv::Mat image(4, 7, CV_8UC3);
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 7; ++c) image.at<cv::Vec3b>(r, c) = cv::Vec3b(10 * r + c, 100, 200);
  }
  megdeploy::PreprocessSpec spec;
  spec.color = "RGB";
  spec.resize_short = 4;
  spec.crop = 2;
  spec.mean = {1, 2, 3};
  spec.std = {2, 4, 8};
  std::vector<float> out = megdeploy::PreprocessBgr(image, spec);
  const std::vector<float> want = {
      99.5f, 99.5f, 99.5f, 99.5f,       // R: (200 - 1) / 2
      24.5f, 24.5f, 24.5f, 24.5f,       // G: (100 - 2) / 4
      1.125f, 1.25f, 2.375f, 2.5f,      // B at rows 1-2, cols 2-3: (12|13|22|23 - 3) / 8
  };
  Expect(out == want, "PreprocessBgr crop and normalisation by hand");

  spec.color = "BGR";
  spec.mean = {0, 0, 0};
  spec.std = {1, 1, 1};
  out = megdeploy::PreprocessBgr(image, spec);
  Expect(out[0] == 12.0f && out[4] == 100.0f && out[8] == 200.0f, "BGR spec keeps the channel order");

  std::printf("%s\n", failures ? "preprocess_test: FAILED" : "preprocess_test: all checks passed");
  return failures ? 1 : 0;
}
