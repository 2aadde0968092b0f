// The README's C++ example: classify images with the C++ Classifier.
// Usage: classifier_example MODEL IMAGE...
#include <cstdio>
#include <string>
#include <vector>

#include "cc/classifier.h"

int main(int argc, char** argv) {
  if (argc < 3) return std::fprintf(stderr, "usage: classifier_example MODEL IMAGE...\n"), 2;
  try {
    megdeploy::Classifier classifier(argv[1]);  // the model, its contract beside it
    for (const megdeploy::Record& record : classifier.Classify({argv + 2, argv + argc}, /*topk=*/3)) {
      std::printf("%s\n", record.image.c_str());
      for (const megdeploy::TopClass& entry : record.top) std::printf("%s %.6f\n", entry.name.c_str(), entry.probability);
    }
  } catch (const std::exception& e) {  // ContractError, ModelError, ImageError: one line each
    std::fprintf(stderr, "classifier_example: %s\n", e.what());
    return 1;
  }
  return 0;
}
