// contract_check: validates contract files with the C++ reader, for the conformance test that holds
// it and the Python reader to one table (//tests:contract_conformance_test).
//
// Usage: contract_check CONTRACT.json...
// Prints, per file, one line: `valid` or the ContractError's message. Exit status 0.
#include <cstdio>
#include <string>

#include "cc/contract.h"

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    try {
      megdeploy::LoadContract(argv[i]);
      std::printf("valid\n");
    } catch (const megdeploy::ContractError& e) {
      std::printf("%s\n", e.what());
    }
  }
  return 0;
}
