#include "cc/preprocess.h"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cc/image_size.h"

namespace megdeploy {

std::optional<std::string> SizeProblem(long long width, long long height, int resize_short, long long max_pixels) {
  const std::string size = std::to_string(width) + "x" + std::to_string(height);
  if (width < 1 || height < 1) return "image has no pixels: " + size;
  if (width * height > max_pixels) {
    return "image is too large: " + size + " pixels (the limit is " + std::to_string(max_pixels) +
           "; see --max_pixels)";
  }
  if (width > kOpenCvMaxSide || height > kOpenCvMaxSide || width * height > kOpenCvMaxPixels) {
    return "image is too large: " + size + " pixels (OpenCV decodes at most " + std::to_string(kOpenCvMaxSide) +
           " per side and " + std::to_string(kOpenCvMaxPixels) + " in all)";
  }
  const cv::Size resized = ResizedSize(static_cast<int>(height), static_cast<int>(width), resize_short);
  if (static_cast<long long>(resized.width) * resized.height > kMaxResizedPixels) {
    return "image is too elongated: " + size + " pixels resize to " + std::to_string(resized.width) + "x" +
           std::to_string(resized.height) + " for this model (the limit is " + std::to_string(kMaxResizedPixels) +
           " pixels)";
  }
  return std::nullopt;
}

void CheckSize(long long width, long long height, const PreprocessSpec& spec, long long max_pixels,
               const std::string& name) {
  const auto problem = SizeProblem(width, height, spec.resize_short, max_pixels);
  if (!problem) return;
  if (width < 1 || height < 1) throw ImageError(name + ": " + *problem);
  throw ImageTooLarge(name + ": " + *problem);
}

cv::Mat ReadBgr(const std::string& path, const PreprocessSpec& spec, long long max_pixels) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    throw ImageError(path + ": cannot read image: " + (errno == ELOOP ? "symbolic link loop" : std::strerror(errno)));
  }
  if (S_ISDIR(info.st_mode)) throw ImageError(path + ": cannot read image: Is a directory");
  if (!S_ISREG(info.st_mode)) throw ImageError(path + ": cannot read image: not a regular file");
  if (info.st_size > kMaxImageBytes) {
    throw ImageError(path + ": cannot read image: the file is too big (" + std::to_string(info.st_size) +
                     " bytes; the limit is " + std::to_string(kMaxImageBytes) + ")");
  }
  std::string raw;
  try {
    raw = ReadFile(path, "image");
  } catch (const std::runtime_error& e) {
    throw ImageError(e.what());
  }
  return DecodeBgr(raw, path, spec, max_pixels);  // an empty file is refused there
}

cv::Mat DecodeBgr(const std::string& raw, const std::string& name, const PreprocessSpec& spec, long long max_pixels) {
  if (raw.empty()) throw ImageError(name + ": cannot read image: the file is empty");
  const auto size = ImageSize(raw);
  if (size) CheckSize(size->first, size->second, spec, max_pixels, name);
  // Decoders complain about damaged files on fd 2 (libpng, libjpeg), as they do under Python's
  // cv2: programs filter that (cc/cli/quiet.h); the library leaves fd 2 alone.
  cv::Mat image;
  try {
    image = cv::imdecode(cv::Mat(1, static_cast<int>(raw.size()), CV_8UC1, const_cast<char*>(raw.data())),
                         cv::IMREAD_COLOR);
  } catch (const cv::Exception&) {
    image.release();  // a decoder that throws instead of returning empty: same answer
  }
  if (image.empty()) throw ImageError(name + ": not an image OpenCV can decode");
  CheckSize(image.cols, image.rows, spec, max_pixels, name);
  return image;
}

cv::Size ResizedSize(int height, int width, int resize_short) {
  if (height <= width) {
    return cv::Size(static_cast<int>(static_cast<double>(resize_short) * width / height), resize_short);
  }
  return cv::Size(resize_short, static_cast<int>(static_cast<double>(resize_short) * height / width));
}

int CropOffset(int size, int crop) {
  // Python's round() sends halves to the even neighbour (std::round would send 2.5 to 3 and shift
  // the crop by a pixel). In integers, so that no FPU rounding mode is read or set.
  const int difference = size - crop;
  const int low = difference >= 0 ? difference / 2 : -((1 - difference) / 2);  // floor(difference / 2)
  if (difference - 2 * low == 0) return low;  // no half
  return low % 2 == 0 ? low : low + 1;
}

std::vector<float> PreprocessBgr(const cv::Mat& bgr, const PreprocessSpec& spec) {
  cv::Mat source = bgr;
  if (spec.color == "GRAY") cv::cvtColor(bgr, source, cv::COLOR_BGR2GRAY);  // before resizing, as Python does
  cv::Size size = ResizedSize(source.rows, source.cols, spec.resize_short);
  cv::Mat resized;
  cv::resize(source, resized, size, 0, 0, cv::INTER_LINEAR);
  const int crop = spec.crop;
  cv::Mat patch = resized(cv::Rect(CropOffset(size.width, crop), CropOffset(size.height, crop), crop, crop));
  const size_t plane = static_cast<size_t>(crop) * crop;
  if (spec.color == "GRAY") {
    std::vector<float> out(plane);
    for (int y = 0; y < crop; ++y) {
      const uint8_t* row = patch.ptr<uint8_t>(y);
      for (int x = 0; x < crop; ++x) {
        out[static_cast<size_t>(y) * crop + x] = (static_cast<float>(row[x]) - spec.mean[0]) / spec.std[0];
      }
    }
    return out;
  }
  std::vector<float> out(3 * plane);
  const bool rgb = spec.color == "RGB";
  for (int y = 0; y < crop; ++y) {
    const cv::Vec3b* row = patch.ptr<cv::Vec3b>(y);
    for (int x = 0; x < crop; ++x) {
      for (int c = 0; c < 3; ++c) {
        // Output channel c takes BGR channel c, or 2 - c when the model wants RGB.
        const float value = static_cast<float>(row[x][rgb ? 2 - c : c]);
        out[c * plane + static_cast<size_t>(y) * crop + x] = (value - spec.mean[c]) / spec.std[c];
      }
    }
  }
  return out;
}

}  // namespace megdeploy
