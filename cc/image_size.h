// An image's width and height from its header, before anything is decoded: the twin of
// py/mgedeploy/image_size.py (same formats, same answers; both tested on the same files).
// A small PNG can decode to gigabytes (30000x30000 pixels from 875 KB, measured: 2.8 GB), so the
// programs check the pixel count first. Hand-written because Debian has no header-only reader for
// C++ (OpenCV 4.6 decodes to learn the size). Formats: PNG, JPEG, GIF, BMP, WebP.
#ifndef CC_IMAGE_SIZE_H_
#define CC_IMAGE_SIZE_H_

#include <optional>
#include <string>
#include <utility>

namespace megdeploy {

// (width, height) from the encoded bytes' header, or nothing if the format is not one we parse or
// the header is cut short.
std::optional<std::pair<long long, long long>> ImageSize(const std::string& data);

}  // namespace megdeploy

#endif  // CC_IMAGE_SIZE_H_
