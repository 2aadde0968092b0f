// Smoke test of the C++ toolchain: loads //testdata:tiny.mge (dumped at build time by a Python tool)
// through the Lite C API, feeds the same fixed input the Python tool used, and compares the output
// with the eager MegEngine result written beside the model.
//
// Usage: lite_smoke_test MODEL.mge EXPECTED.txt
#include <cmath>
#include <cstdio>
#include <fstream>
#include <vector>

#include "lite_c/lite_c.h"

namespace {

// Mirrors mgedeploy.tiny_model.sample_input(): (arange(n) / n - 0.5) in shape (1, 3, 8, 8).
constexpr size_t kInputCount = 1 * 3 * 8 * 8;

bool Check(int status, const char* what) {
  if (status != 0) {
    std::fprintf(stderr, "%s failed: %s\n", what, LITE_get_last_error());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MODEL.mge EXPECTED.txt\n", argv[0]);
    return 2;
  }
  std::vector<float> expected;
  std::ifstream expected_file(argv[2]);
  for (float v; expected_file >> v;) expected.push_back(v);
  if (expected.empty()) {
    std::fprintf(stderr, "%s: no values\n", argv[2]);
    return 1;
  }

  LiteNetwork network = nullptr;
  if (!Check(LITE_make_default_network(&network), "LITE_make_default_network")) return 1;
  int failures = 0;
  LiteTensor input = nullptr, output = nullptr;
  const char* output_name = nullptr;
  void* output_data = nullptr;
  size_t output_bytes = 0;
  std::vector<float> data(kInputCount);
  for (size_t i = 0; i < kInputCount; ++i) data[i] = static_cast<float>(i) / kInputCount - 0.5f;

  if (!Check(LITE_load_model_from_path(network, argv[1]), "LITE_load_model_from_path") ||
      !Check(LITE_get_io_tensor(network, "data", LITE_INPUT, &input), "LITE_get_io_tensor(data)") ||
      !Check(LITE_reset_tensor_memory(input, data.data(), data.size() * sizeof(float)),
             "LITE_reset_tensor_memory") ||
      !Check(LITE_forward(network), "LITE_forward") || !Check(LITE_wait(network), "LITE_wait") ||
      !Check(LITE_get_output_name(network, 0, &output_name), "LITE_get_output_name") ||
      !Check(LITE_get_io_tensor(network, output_name, LITE_OUTPUT, &output), "LITE_get_io_tensor(out)") ||
      !Check(LITE_get_tensor_memory(output, &output_data), "LITE_get_tensor_memory") ||
      !Check(LITE_get_tensor_total_size_in_byte(output, &output_bytes), "LITE_get_tensor_total_size")) {
    LITE_destroy_network(network);
    return 1;
  }

  const float* probs = static_cast<const float*>(output_data);
  const size_t count = output_bytes / sizeof(float);
  if (count != expected.size()) {
    std::fprintf(stderr, "output has %zu values, expected %zu\n", count, expected.size());
    ++failures;
  } else {
    // Same float32 kernels as the Python run on the same CPU; 1e-6 allows summation order only.
    double sum = 0;
    for (size_t i = 0; i < count; ++i) {
      sum += probs[i];
      if (std::fabs(probs[i] - expected[i]) > 1e-6f) {
        std::fprintf(stderr, "output[%zu] = %.9g, eager MegEngine gave %.9g\n", i, probs[i], expected[i]);
        ++failures;
      }
    }
    std::printf("%zu outputs match eager MegEngine within 1e-6; sum = %.7f\n", count, sum);
  }
  if (!Check(LITE_destroy_network(network), "LITE_destroy_network")) ++failures;
  return failures == 0 ? 0 : 1;
}
