// contract_check: validates contracts with the C++ readers, for the conformance test that holds them
// and the Python readers to one table (//tests:contract_conformance_test).
//
// Usage: contract_check FILE...
// A FILE ending in .json is a sidecar contract (LoadContract); any other is a packed model whose
// contract is read from its info section (ReadPacked: the same checks and words as the programs).
// Prints, per file, one line: `valid` or the error's message. Exit status 0.
#include <cstdio>
#include <string>

#include "cc/contract.h"
#include "cc/model_files.h"
#include "cc/packed_model.h"

namespace {

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string path = argv[i];
    try {
      if (EndsWith(path, ".json")) {
        megdeploy::LoadContract(path);
      } else {
        megdeploy::ReadPacked(megdeploy::ReadModelFile(path));
      }
      std::printf("valid\n");
    } catch (const megdeploy::ContractError& e) {
      std::printf("%s\n", e.what());
    } catch (const megdeploy::ModelError& e) {
      std::printf("%s\n", e.what());
    }
  }
  return 0;
}
