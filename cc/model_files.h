// The files that travel with an exported model, by name, and how they are read: `<model>.json`
// (the contract) beside `<model>`; whole-file reads with one-line errors; the model itself read
// once, checked and hashed as it is read, so that what Lite loads is the bytes that were verified.
#ifndef CC_MODEL_FILES_H_
#define CC_MODEL_FILES_H_

#include <memory>
#include <stdexcept>
#include <string>

namespace megdeploy {

// The model could not be read, loaded or run; what() is one line naming the file. (Python:
// mgedeploy.lite.runner.ModelError.)
class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The error for a model key given with a model that is not encrypted (a sidecar model or a plain
// packed one): the one place of its words.
ModelError KeyForPlainModel(const std::string& path);

// Lite reads the whole model into memory: refuse what cannot be a sane model before it does.
constexpr long long kMaxModelBytes = 1LL << 30;

// Throws ModelError naming the file if it is missing, a symbolic link loop, a directory, not a
// regular file (a FIFO would block, /dev/zero never ends), unreadable, empty or over kMaxModelBytes:
// what Lite would otherwise report confusingly, or not at all. The same checks and words as
// check_model_file in py/mgedeploy/lite/runner.py.
void CheckModelFile(const std::string& path);

// A model file's bytes as they were read, and their SHA-256 (lowercase hex).
struct ModelFile {
  std::string path;
  std::shared_ptr<const std::string> bytes;
  std::string sha256;
};

// CheckModelFile, then one read of the file, hashed as it is read (a file that grows past
// kMaxModelBytes meanwhile is refused). Throws ModelError.
ModelFile ReadModelFile(const std::string& path);

// `<model>.json`, where export writes the contract (py/mgedeploy/contract.py, path_for).
std::string ContractPathFor(const std::string& model_path);

// `name` in the model's directory (a fast-run cache recorded by file name in the contract).
std::string BesideModel(const std::string& model_path, const std::string& name);

// Reads a whole file; throws std::runtime_error("<path>: cannot read <what>: <reason>").
std::string ReadFile(const std::string& path, const std::string& what);

// SHA-256 of `data` in lowercase hex, from OpenSSL's libcrypto.
std::string Sha256Hex(const std::string& data);

}  // namespace megdeploy

#endif  // CC_MODEL_FILES_H_
