#include "cc/model_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace megdeploy {
namespace {

// An EVP SHA-256 context, freed on every path.
class Sha256 {
 public:
  Sha256() : context_(EVP_MD_CTX_new()) {
    if (context_ == nullptr || EVP_DigestInit_ex(context_, EVP_sha256(), nullptr) != 1) {
      EVP_MD_CTX_free(context_);
      throw std::runtime_error("libcrypto: cannot start a SHA-256");
    }
  }
  ~Sha256() { EVP_MD_CTX_free(context_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const void* data, size_t size) { EVP_DigestUpdate(context_, data, size); }

  std::string Hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_DigestFinal_ex(context_, digest, &size);
    static const char kDigits[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < size; ++i) {
      hex += kDigits[digest[i] >> 4];
      hex += kDigits[digest[i] & 15];
    }
    return hex;
  }

 private:
  EVP_MD_CTX* context_;
};

}  // namespace

void CheckModelFile(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    const std::string reason = errno == ENOENT  ? "model file not found"
                               : errno == ELOOP ? "symbolic link loop"
                                                : std::strerror(errno);
    throw ModelError(path + ": cannot open model: " + reason);
  }
  if (S_ISDIR(info.st_mode)) throw ModelError(path + ": is a directory, not a model file");
  if (!S_ISREG(info.st_mode)) throw ModelError(path + ": cannot open model: not a regular file");
  if (access(path.c_str(), R_OK) != 0) throw ModelError(path + ": cannot read model: permission denied");
  if (info.st_size == 0) throw ModelError(path + ": model file is empty");
  if (info.st_size > kMaxModelBytes) {
    throw ModelError(path + ": model file is too big (" + std::to_string(info.st_size) + " bytes; the limit is " +
                     std::to_string(kMaxModelBytes) + ")");
  }
}

ModelError KeyForPlainModel(const std::string& path) {
  return ModelError(path + ": a model key was given, but the model is not encrypted");
}

ModelFile ReadModelFile(const std::string& path) {
  CheckModelFile(path);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw ModelError(path + ": cannot read model: " + std::strerror(errno));
  struct stat info;
  fstat(fd, &info);
  auto bytes = std::make_shared<std::string>();
  bytes->reserve(static_cast<size_t>(info.st_size));
  Sha256 sha256;
  char chunk[1 << 16];
  while (true) {
    const ssize_t got = read(fd, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const int error = errno;
      close(fd);
      throw ModelError(path + ": cannot read model: " + std::strerror(error));
    }
    if (got == 0) break;
    if (static_cast<long long>(bytes->size()) + got > kMaxModelBytes) {
      close(fd);
      throw ModelError(path + ": model file is too big (it grew past the limit of " + std::to_string(kMaxModelBytes) +
                       " bytes while being read)");
    }
    sha256.Update(chunk, static_cast<size_t>(got));
    bytes->append(chunk, static_cast<size_t>(got));
  }
  close(fd);
  if (bytes->empty()) throw ModelError(path + ": model file is empty");
  return ModelFile{path, std::move(bytes), sha256.Hex()};
}

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

std::string Sha256Hex(const std::string& data) {
  Sha256 sha256;
  sha256.Update(data.data(), data.size());
  return sha256.Hex();
}

}  // namespace megdeploy
