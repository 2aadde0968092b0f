#include "cc/image_files.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>

namespace megdeploy {
namespace {

// What OpenCV's imread decodes (GIF listed so it gets its own "not an image" answer).
constexpr const char* kExtensions[] = {".bmp", ".dib", ".gif", ".jpe", ".jpeg", ".jpg", ".jp2", ".pbm", ".pgm",
                                       ".png", ".pnm", ".ppm", ".pxm", ".ras", ".sr",  ".tif", ".tiff", ".webp"};

}  // namespace

bool IsImageName(const std::string& name) {
  // Python's os.path.splitext: the extension starts at the last dot that is not leading.
  const size_t slash = name.rfind('/');
  const std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
  const size_t first = base.find_first_not_of('.');
  const size_t dot = base.rfind('.');
  if (dot == std::string::npos || first == std::string::npos || dot < first) return false;
  std::string extension = base.substr(dot);
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(std::begin(kExtensions), std::end(kExtensions), extension) != std::end(kExtensions);
}

std::vector<std::string> ExpandImages(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (!fs::is_directory(path, error)) return {path};
  std::vector<std::string> found;
  // Unreadable subfolders are skipped, as Python's os.walk does.
  fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, error), end;
  for (; !error && it != end; it.increment(error)) {
    std::error_code type_error;
    if (it->is_directory(type_error)) continue;
    const std::string file = it->path().string();
    if (IsImageName(file)) found.push_back(file);
  }
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace megdeploy
