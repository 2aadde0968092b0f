#include "cc/model_encryption.h"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

namespace megdeploy {

const char kModelKeyFileEnv[] = "MEGDEPLOY_MODEL_KEY_FILE";
const char kEncryptionMethod[] = "AES_default";

namespace {

const std::string kMark = "megdeploy-hmac-sha256";
const std::string kTagInfo = "megdeploy packed model authentication v1";
constexpr size_t kTagBytes = 32, kIvBytes = 16;
constexpr long long kMaxKeyFileBytes = 4096;

std::string Trim(const std::string& text) {
  size_t begin = 0, end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return text.substr(begin, end - begin);
}

bool FromHex(const std::string& text, std::string* out) {
  out->clear();
  for (size_t i = 0; i + 1 < text.size(); i += 2) {
    char* end = nullptr;
    const std::string pair = text.substr(i, 2);
    if (!std::isxdigit(static_cast<unsigned char>(pair[0])) || !std::isxdigit(static_cast<unsigned char>(pair[1]))) {
      return false;
    }
    out->push_back(static_cast<char>(std::strtol(pair.c_str(), &end, 16)));
  }
  return true;
}

std::string TagKey(const std::string& key) {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr),
                                                                  EVP_PKEY_CTX_free);
  std::string out(32, '\0');
  size_t length = out.size();
  const auto* key_bytes = reinterpret_cast<const unsigned char*>(key.data());
  const auto* info = reinterpret_cast<const unsigned char*>(kTagInfo.data());
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) <= 0 || EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) <= 0 ||
      EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), key_bytes, static_cast<int>(key.size())) <= 0 ||
      EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), info, static_cast<int>(kTagInfo.size())) <= 0 ||
      EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &length) <= 0) {
    throw std::runtime_error("libcrypto could not derive the authentication key");
  }
  return out;
}

}  // namespace

std::string ReadModelKey(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    throw KeyFileError(path + ": cannot read the model key file: " + std::strerror(errno));
  }
  if (!S_ISREG(info.st_mode)) throw KeyFileError(path + ": the model key file is not a regular file");
  if (info.st_size > kMaxKeyFileBytes) {
    throw KeyFileError(path + ": the model key file is too big (" + std::to_string(info.st_size) +
                       " bytes) to be a key");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw KeyFileError(path + ": cannot read the model key file: " + std::strerror(errno));
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() == kModelKeyBytes) return data;
  const std::string text = Trim(data);
  std::string key;
  if (text.size() == 2 * kModelKeyBytes && FromHex(text, &key)) return key;
  throw KeyFileError(path + ": a model key is 32 bytes, or 64 hex digits; this file has " +
                     std::to_string(data.size()) + " bytes (make one with: head -c 32 /dev/urandom > FILE)");
}

std::string ModelKeyFrom(const std::string& flag_value) {
  const char* env = std::getenv(kModelKeyFileEnv);
  const std::string path = !flag_value.empty() ? flag_value : (env ? env : "");
  return path.empty() ? "" : ReadModelKey(path);
}

bool IsSealed(const std::string& data) {
  return data.size() > kMark.size() + kTagBytes &&
         data.compare(data.size() - kTagBytes - kMark.size(), kMark.size(), kMark) == 0;
}

std::string Unseal(const std::string& data, const std::string& key) {
  if (!IsSealed(data)) throw TagError("it has no authentication tag (truncated, or not made by export)");
  const size_t body = data.size() - kTagBytes - kMark.size();
  const std::string tag_key = TagKey(key);
  unsigned char expected[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!HMAC(EVP_sha256(), tag_key.data(), static_cast<int>(tag_key.size()),
            reinterpret_cast<const unsigned char*>(data.data()), body, expected, &length) ||
      length != kTagBytes) {
    throw std::runtime_error("libcrypto could not compute the authentication tag");
  }
  if (CRYPTO_memcmp(expected, data.data() + data.size() - kTagBytes, kTagBytes) != 0) {
    throw TagError("wrong key, or the file was modified (its authentication tag does not match)");
  }
  return data.substr(0, body);
}

std::string DecryptAesDefault(const std::string& key, const std::string& blob) {
  const long long body = static_cast<long long>(blob.size()) - static_cast<long long>(kIvBytes) - 8;
  if (body < 0 || body % 16) {
    throw std::invalid_argument("an AES_default block of " + std::to_string(blob.size()) + " bytes");
  }
  unsigned long long length = 0;
  for (int i = 0; i < 8; ++i) length = (length << 8) | static_cast<unsigned char>(blob[blob.size() - 8 + i]);
  if (length > static_cast<unsigned long long>(body)) {
    throw std::invalid_argument("an AES_default block claiming " + std::to_string(length) + " bytes in " +
                                std::to_string(body));
  }
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(static_cast<size_t>(body) + 16, '\0');
  int written = 0, last = 0;
  const auto* iv = reinterpret_cast<const unsigned char*>(blob.data());
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr, reinterpret_cast<const unsigned char*>(key.data()),
                         iv) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &written,
                        iv + kIvBytes, static_cast<int>(body)) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + written, &last) != 1) {
    throw std::runtime_error("libcrypto could not decrypt the model");
  }
  out.resize(static_cast<size_t>(length));
  return out;
}

}  // namespace megdeploy
