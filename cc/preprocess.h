// Image preprocessing in C++, driven by the model contract's spec; it must reproduce
// py/mgedeploy/preprocess.py exactly (same geometry, same rounding, same float32 arithmetic).
#ifndef CC_PREPROCESS_H_
#define CC_PREPROCESS_H_

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "cc/contract.h"

namespace megdeploy {

class ImageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Over the processing budget (SizeProblem): refused before decoding or resizing.
class ImageTooLarge : public ImageError {
 public:
  using ImageError::ImageError;
};

// What cannot be a sane image is refused before it is read or decoded, with the words of
// py/mgedeploy/preprocess.py: anything but a regular file, files over kMaxImageBytes, images whose
// header promises more than `max_pixels` pixels.
constexpr long long kMaxImageBytes = 64LL << 20;  // the largest camera JPEGs are ~30 MB
// 64 megapixels decode to 192 MB of BGR; larger photos than that are not classifier inputs.
constexpr long long kDefaultMaxPixels = 64LL << 20;
// The resized image before the crop: 16 Mpx is 48 MB of BGR, a 256:1 strip at resize_short 256.
constexpr long long kMaxResizedPixels = 16LL << 20;
// OpenCV's own decoder limits (CV_IO_MAX_IMAGE_WIDTH, _HEIGHT, _PIXELS defaults).
constexpr long long kOpenCvMaxSide = 1LL << 20;
constexpr long long kOpenCvMaxPixels = 1LL << 30;

// Why a width x height image is outside the processing budget for a model that resizes its
// shorter side to resize_short, or nothing: the one rule, in the words of
// py/mgedeploy/preprocess.py's size_problem, held to testdata/image_budget_cases.json.
std::optional<std::string> SizeProblem(long long width, long long height, int resize_short, long long max_pixels);

// Throws ImageTooLarge (ImageError for an image with no pixels) naming the image, per SizeProblem.
void CheckSize(long long width, long long height, const PreprocessSpec& spec, long long max_pixels,
               const std::string& name);

// Decodes any image OpenCV reads into 3-channel uint8 BGR (gray replicated, alpha dropped,
// 16-bit scaled), after CheckSize on the header's size, and again on the decoded size (for
// formats whose header is not read). Throws ImageError naming the file.
cv::Mat ReadBgr(const std::string& path, const PreprocessSpec& spec, long long max_pixels = kDefaultMaxPixels);

// The same for an encoded image in memory (`name` names it in errors: "bytes", an upload's name).
cv::Mat DecodeBgr(const std::string& raw, const std::string& name, const PreprocessSpec& spec,
                  long long max_pixels = kDefaultMaxPixels);

// (height, width) after scaling the shorter side to resize_short: the long side is
// int(resize_short * long / short), computed in double as Python does.
cv::Size ResizedSize(int height, int width, int resize_short);

// int(round((size - crop) / 2)) with Python's round: halves go to the even neighbour.
int CropOffset(int size, int crop);

// uint8 BGR image -> float32 NCHW (1, C, crop, crop), flattened: C = 3, or 1 for a GRAY spec.
std::vector<float> PreprocessBgr(const cv::Mat& bgr, const PreprocessSpec& spec);

}  // namespace megdeploy

#endif  // CC_PREPROCESS_H_
