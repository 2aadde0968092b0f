// ImageSize on the test images, against the table testdata/image_sizes.txt (one line per file:
// `PATH WIDTH HEIGHT`, or `PATH none` for formats the reader does not parse). The Python twin,
// //py:image_size_test, reads the same table.
//
// Usage: image_size_test TABLE
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "cc/image_size.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: image_size_test TABLE\n");
    return 2;
  }
  const std::string table = argv[1];
  const std::string root = table.substr(0, table.rfind("testdata/"));
  std::ifstream lines(table);
  std::string line;
  int checked = 0, failures = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string path, width, height;
    fields >> path >> width >> height;
    std::ifstream file(root + path, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    const auto size = megdeploy::ImageSize(data);
    const std::string got = size ? std::to_string(size->first) + " " + std::to_string(size->second) : "none";
    const std::string want = width == "none" ? "none" : width + " " + height;
    ++checked;
    if (data.empty() || got != want) {
      std::printf("%s: got %s, want %s%s\n", path.c_str(), got.c_str(), want.c_str(), data.empty() ? " (unreadable)" : "");
      ++failures;
    }
  }
  std::printf("%d images checked, %d wrong\n", checked, failures);
  return failures || checked == 0 ? 1 : 0;
}
