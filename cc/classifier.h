// Classifier: an exported model, loaded once, classifying images. The C++ twin of
// py/mgedeploy/classifier.py: the same names, records and errors. Example:
//
//   megdeploy::Classifier classifier("efficientnet_lite0_deploy.mge");  // its contract beside it
//   for (const megdeploy::Record& record : classifier.Classify({"cat.jpg", "coffee.jpg"}, /*topk=*/3)) {
//     std::printf("%s: %s\n", record.image.c_str(), record.top[0].name.c_str());
//   }
//
// The model is read once and its SHA-256 checked against the contract before Lite sees a byte;
// Lite then loads exactly those bytes. Nothing process-wide is touched (no signal handlers, no fd
// 2 redirection): that is for programs (cc/cli/). Not for several threads at once: give each
// thread its own Classifier.
#ifndef CC_CLASSIFIER_H_
#define CC_CLASSIFIER_H_

#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "cc/contract.h"
#include "cc/packed_model.h"
#include "cc/lite/runner.h"
#include "cc/preprocess.h"

namespace megdeploy {

struct TopClass {
  size_t index = 0;
  std::string name;
  double probability = 0;
};

// What `//cc:inference --json` prints for one image: {"model", "image", "top": [...]}.
struct Record {
  std::string model;
  std::string image;
  std::vector<TopClass> top;
};

// One image's outcome in ClassifyMany: its record, or the one-line ImageError it raised.
struct Result {
  std::optional<Record> record;
  std::string error;
};

// An image decoded and preprocessed for the model (its input tensor), or why it could not be.
struct Prepared {
  std::vector<float> input;
  std::string error;
};

// The k most probable classes, highest first; ties keep the lower index (NumPy's stable argsort).
std::vector<TopClass> TopClasses(const std::vector<float>& probs, const std::vector<std::string>& names, size_t k);

class Classifier {
 public:
  // Loads `model_path` and its contract. threads: Lite's CPU threads. lite_options: "best" (the
  // settings export chose for this machine, recorded in the contract) or "default" (Lite's own).
  // model_key: the 32 bytes of an encrypted model's key (ReadModelKey reads a key file).
  // Throws ContractError or ModelError, each one line naming the file.
  explicit Classifier(const std::string& model_path, int threads = 1, const std::string& lite_options = "best",
                      long long max_pixels = kDefaultMaxPixels, const std::string& model_key = "");

  const std::string& model_path() const { return model_path_; }
  const Contract& contract() const { return contract_; }
  const std::vector<std::string>& labels() const { return contract_.labels; }
  // One line for the user when the best settings cannot be used as recorded, or "".
  const std::string& note() const { return note_; }
  // Images per forward pass: the exported graph's batch (export --batch).
  size_t batch() const { return contract_.input_shape[0]; }
  // True for test models exported with --random_init: their classes mean nothing.
  bool random_weights() const { return !contract_.meaningful_weights; }

  // An image file, encoded bytes, or a decoded uint8 BGR image -> the model's input tensor.
  // Throws ImageError naming the image ("bytes", "array" for the last two).
  std::vector<float> Preprocess(const std::string& path) const;
  std::vector<float> PreprocessEncoded(const std::string& bytes) const;
  std::vector<float> PreprocessBgr(const cv::Mat& bgr) const;

  // The model's softmax output for one image file.
  std::vector<float> Probabilities(const std::string& path);
  // Preprocessed inputs -> their outputs, batch() per forward pass; a last partial group is
  // padded with copies of its last input, whose outputs are dropped. Throws ModelError.
  std::vector<std::vector<float>> RunInputs(const std::vector<std::vector<float>>& inputs);

  // One result per image, in order, batch() images per forward pass: the record, or the
  // ImageError that image raised (the others go on). A ModelError is thrown.
  std::vector<Result> ClassifyMany(const std::vector<std::string>& paths, int topk = 5);
  // ClassifyMany in two steps, for a program that guards the run but not the decoding: decode
  // and preprocess, then run and rank (`paths` names the images in the records).
  std::vector<Prepared> Prepare(const std::vector<std::string>& paths) const;
  std::vector<Result> ClassifyPrepared(const std::vector<std::string>& paths, const std::vector<Prepared>& prepared,
                                       int topk = 5);
  // One image's record.
  Record ClassifyOne(const std::string& path, int topk = 5);
  // A record per image, in order; throws the first bad image's ImageError.
  std::vector<Record> Classify(const std::vector<std::string>& paths, int topk = 5);

 private:
  void CheckTopk(int topk) const;

  std::string model_path_;
  Contract contract_;
  std::string note_;
  long long max_pixels_;
  std::optional<LiteRunner> runner_;
};

// The graph's bytes as Lite gets them, the contract and an embedded fast-run cache: from a sidecar
// model (the .mge, its .json beside it) or a packed one (packed_model.h: one file). One read: the
// bytes hashed for the contract are the bytes Lite loads. Python: classifier.read_model.
// model_key: an encrypted packed model's key; given for any other model, a ModelError.
ModelAndContract ReadModel(const std::string& model_path, const std::string& model_key = "");

}  // namespace megdeploy

#endif  // CC_CLASSIFIER_H_
