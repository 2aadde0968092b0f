// Encrypted packed models, the twin of py/mgedeploy/model_encryption.py: the same key files, the
// same AES_default layout, the same authentication tag and the same words. AES, HMAC and HKDF are
// OpenSSL's libcrypto; nothing here is hand-made cryptography.
#ifndef CC_MODEL_ENCRYPTION_H_
#define CC_MODEL_ENCRYPTION_H_

#include <stdexcept>
#include <string>

namespace megdeploy {

constexpr size_t kModelKeyBytes = 32;
extern const char kModelKeyFileEnv[];    // "MEGDEPLOY_MODEL_KEY_FILE"
extern const char kEncryptionMethod[];  // "AES_default"

// A key file that cannot be a key; one line naming it.
class KeyFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A missing or mismatched tag; the reason (the caller names the file).
class TagError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A key file: exactly 32 bytes, or 64 hex digits (whitespace around them allowed).
std::string ReadModelKey(const std::string& path);

// --model_key_file's file, else $MEGDEPLOY_MODEL_KEY_FILE's, else "" (no key).
std::string ModelKeyFrom(const std::string& flag_value);

// True when `data` ends with the tag's marker and 32 bytes.
bool IsSealed(const std::string& data);

// The bytes before the tag, once it matches under `key`; throws TagError.
std::string Unseal(const std::string& data, const std::string& key);

// AES_default's layout (16-byte IV, AES-256-CBC, 8-byte big-endian length) -> the plain bytes;
// throws std::invalid_argument for a block that cannot be one.
std::string DecryptAesDefault(const std::string& key, const std::string& blob);

}  // namespace megdeploy

#endif  // CC_MODEL_ENCRYPTION_H_
