#include "cc/model_files.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace megdeploy {

std::string ContractPathFor(const std::string& model_path) { return model_path + ".json"; }

std::string BesideModel(const std::string& model_path, const std::string& name) {
  const size_t slash = model_path.rfind('/');
  return (slash == std::string::npos ? std::string() : model_path.substr(0, slash + 1)) + name;
}

std::string ReadFile(const std::string& path, const std::string& what) {
  struct stat info;
  if (stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    throw std::runtime_error(path + ": cannot read " + what + ": Is a directory");
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error(path + ": cannot read " + what + ": " + std::strerror(errno));
  std::ostringstream content;
  content << file.rdbuf();
  if (file.bad()) throw std::runtime_error(path + ": cannot read " + what + ": " + std::strerror(errno));
  return content.str();
}

}  // namespace megdeploy
