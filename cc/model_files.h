// The files that travel with an exported model, by name, and how they are read: `<model>.json`
// (the contract) beside `<model>`; whole-file reads with one-line errors.
#ifndef CC_MODEL_FILES_H_
#define CC_MODEL_FILES_H_

#include <string>

namespace megdeploy {

// `<model>.json`, where export writes the contract (py/mgedeploy/contract.py, path_for).
std::string ContractPathFor(const std::string& model_path);

// `name` in the model's directory (a fast-run cache recorded by file name in the contract).
std::string BesideModel(const std::string& model_path, const std::string& name);

// Reads a whole file; throws std::runtime_error("<path>: cannot read <what>: <reason>").
std::string ReadFile(const std::string& path, const std::string& what);

}  // namespace megdeploy

#endif  // CC_MODEL_FILES_H_
