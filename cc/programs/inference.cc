// inference: classifies images with an exported .mge model through MegEngine Lite, from C++.
// The same answer, in the same format, as //py:inference.
//
// Usage: inference MODEL [IMAGE...] [--topk N] [--threads N] [--json]
//        (also -m/--model MODEL and -i/--image IMAGE, as //py:inference takes them)
//   MODEL     an exported model; its contract (MODEL.json, written by //py:export) must be beside it
//   IMAGE     images, or folders of images (recursively, sorted), to classify (default: the
//             embedded testdata/cat.jpg); one network serves all
//   --topk N      classes printed per image (default 5)
//   --threads N   CPU threads for Lite (default 1)
//   --lite_options best|default  best (default): the Lite settings export measured fastest here and
//                 recorded in the contract (lite_options.h); default: Lite's own
//   --max_pixels N  refuse images whose header promises more pixels (checked before decoding)
//   --json        one line per image: {"model": ..., "image": ..., "top": [{"index", "name", "probability"}]},
//                 or {"image": ..., "error": ...} for an image that fails
//   --dump_input FILE  debugging: write the last image's input tensor there (raw float32, NCHW)
//   --help, --version
// Paths are relative to the directory you ran `bazel run` from. Exit status: 0 on success, 1 when
// a model or image fails (one line on stderr naming the file), 2 for bad arguments.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cc/cli/program.h"
#include "cc/contract.h"
#include "cc/image_files.h"
#include "cc/lite/runner.h"
#include "cc/lite/options.h"
#include "cc/preprocess.h"
#include "cc/cli/progress.h"

namespace {

std::string FormatLine(size_t rank, const std::string& name, double probability) {
  char line[512];
  std::snprintf(line, sizeof(line), "%zu: class = %-20s with probability = %.1f %%", rank, name.c_str(),
                probability * 100);
  return line;
}

// Python's json.dumps style: ", " and ": " separators, non-ASCII escaped.
std::string JsonValue(const nlohmann::json& value) {
  return value.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);  // a file name need not be UTF-8
}

std::string JsonLine(const std::string& model, const std::string& image, const std::vector<size_t>& order,
                     const std::vector<float>& probs, const std::vector<std::string>& labels) {
  std::string line = "{\"model\": " + JsonValue(model) + ", \"image\": " + JsonValue(image) + ", \"top\": [";
  for (size_t r = 0; r < order.size(); ++r) {
    size_t i = order[r];
    line += (r ? ", " : "") + std::string("{\"index\": ") + std::to_string(i) + ", \"name\": " +
            JsonValue(labels[i]) + ", \"probability\": " + JsonValue(static_cast<double>(probs[i])) + "}";
  }
  return line + "]}";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Classifies images with an exported .mge model through MegEngine Lite (the answers of //py:inference).",
               "inference"};
  std::string model, dump_input, choice = "best";
  std::vector<std::string> positional, image_flags;
  int topk = 5, threads = 1;
  long long max_pixels = megdeploy::kDefaultMaxPixels;
  bool json = false;
  app.add_option("args", positional, "MODEL [IMAGE...]: the model (its contract MODEL.json beside it), then images");
  app.add_option("-m,--model", model, "the exported .mge model");
  app.add_option("-i,--image", image_flags,
                 "an image, or a folder of images (recursively, sorted), to classify; repeat for several "
                 "(default: testdata/cat.jpg)");
  app.add_option("--topk", topk, "classes printed per image (default 5)")->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "CPU threads for Lite (default 1)")->check(CLI::PositiveNumber);
  app.add_option("--lite_options", choice,
                 "best (default): the Lite settings export measured fastest on this machine and recorded in the "
                 "contract; default: Lite's own defaults")
      ->check(CLI::IsMember({"best", "default"}));
  app.add_option("--max_pixels", max_pixels, "refuse images whose header promises more pixels than this")
      ->check(CLI::PositiveNumber);
  app.add_flag("--json", json, "one JSON object per image instead of the tutorial's lines");
  app.add_option("--dump_input", dump_input, "write the last image's input tensor (raw float32 NCHW), for debugging");
  if (int status = megdeploy::ParseFlags(app, argc, argv); status >= 0) return status;
  auto rest = positional.begin();
  if (model.empty()) {
    if (rest == positional.end()) return megdeploy::UsageError("inference", "no model given");
    model = *rest++;
  }
  std::vector<std::string> image_args(image_flags);
  image_args.insert(image_args.end(), rest, positional.end());
  LITE_set_log_level(LITE_LOG_ERROR);

  const std::string model_path = megdeploy::UserPath(model);
  std::vector<std::pair<std::string, std::string>> images;  // (path to open, path to show)
  std::vector<std::string> empty_folders;
  for (const std::string& image : image_args) {
    const std::string argument = megdeploy::UserPath(image);
    std::vector<std::string> found = megdeploy::ExpandImages(argument);
    if (found.empty()) {
      empty_folders.push_back(argument);
      found.push_back(argument);
    }
    for (const std::string& path : found) {
      images.emplace_back(path, megdeploy::Shown(path));  // shown as //py:inference shows it
    }
  }
  if (images.empty()) {
    std::string fallback = megdeploy::RunfilesPath(argv[0], "testdata/cat.jpg");
    if (fallback.empty()) {
      std::fprintf(stderr, "inference: no image given and the embedded testdata/cat.jpg is not in the runfiles\n");
      return 2;
    }
    images.emplace_back(fallback, "testdata/cat.jpg");
  }

  megdeploy::Contract contract;
  std::optional<megdeploy::LiteRunner> network;
  std::string note;
  try {
    megdeploy::CheckModelFile(model_path);
    contract = megdeploy::ReadContract(model_path);
    if (static_cast<size_t>(topk) > contract.labels.size()) {
      return megdeploy::UsageError("inference", "--topk " + std::to_string(topk) + " is more than the model's " +
                                                    std::to_string(contract.labels.size()) + " classes");
    }
    megdeploy::ChosenOptions chosen = megdeploy::OptionsFor(contract.lite, model_path, choice);
    note = chosen.note;
    network.emplace(model_path, chosen.options, threads);
  } catch (const std::exception& e) {  // ContractError, ModelError, or a read error, each one line
    std::fprintf(stderr, "inference: %s\n", e.what());
    return 1;
  }

  // Only once the model loaded: a failure stays a single line.
  if (!note.empty()) std::fprintf(stderr, "note: %s\n", note.c_str());
  if (!contract.meaningful_weights) {
    std::fprintf(stderr, "WARNING: %s has random weights (tests and benchmarks only): its classes mean nothing.\n",
                 megdeploy::Shown(model_path).c_str());
  }
  const size_t batch = contract.input_shape[0];  // images per forward pass (export --batch)
  const size_t classes = contract.labels.size();
  int failures = 0;
  long done = 0;
  megdeploy::Progress progress(static_cast<long>(images.size()), "images");
  // Groups of a few forward passes, as //py:inference reads them: results stream, memory stays bounded.
  for (size_t start = 0; start < images.size(); start += 4 * batch) {
    const size_t end = std::min(images.size(), start + 4 * batch);
    std::vector<std::string> errors(end - start);
    std::vector<std::vector<float>> probs(end - start);
    std::vector<size_t> readable;  // indexes into this group
    std::vector<float> inputs;
    for (size_t i = start; i < end; ++i) {
      try {
        if (std::find(empty_folders.begin(), empty_folders.end(), images[i].first) != empty_folders.end()) {
          throw megdeploy::ImageError(images[i].first + ": " + megdeploy::kNoImages);
        }
        std::vector<float> input =
            megdeploy::PreprocessBgr(megdeploy::ReadBgr(images[i].first, contract.preprocess, max_pixels), contract.preprocess);
        if (!dump_input.empty()) {
          std::ofstream(megdeploy::UserPath(dump_input), std::ios::binary)
              .write(reinterpret_cast<const char*>(input.data()), input.size() * sizeof(float));
        }
        inputs.insert(inputs.end(), input.begin(), input.end());
        readable.push_back(i - start);
      } catch (const std::exception& e) {  // ImageError, one line
        errors[i - start] = e.what();
      }
    }
    const size_t per_image = readable.empty() ? 0 : inputs.size() / readable.size();
    for (size_t first = 0; first < readable.size(); first += batch) {
      const size_t count = std::min(batch, readable.size() - first);
      // A last partial group is padded with copies of its last input; their outputs are dropped.
      std::vector<float> group(inputs.begin() + first * per_image, inputs.begin() + (first + count) * per_image);
      for (size_t pad = count; pad < batch; ++pad) {
        group.insert(group.end(), inputs.begin() + (first + count - 1) * per_image,
                     inputs.begin() + (first + count) * per_image);
      }
      try {
        network->Input(contract.input_name).CopyFrom(group);
        network->Forward();
        std::vector<float> output = network->Output(0).ToVector();
        if (output.size() != batch * classes) {
          throw megdeploy::ModelError(model_path + ": output has " + std::to_string(output.size()) + " values for " +
                                     std::to_string(batch) + " x " + std::to_string(classes) + " labels");
        }
        for (size_t k = 0; k < count; ++k) {
          probs[readable[first + k]].assign(output.begin() + k * classes, output.begin() + (k + 1) * classes);
        }
      } catch (const std::exception& e) {  // ModelError: every image of the pass fails with it
        for (size_t k = 0; k < count; ++k) errors[readable[first + k]] = e.what();
      }
    }
    for (size_t i = start; i < end; ++i) {
      progress.Update(++done);
      const std::string& shown = images[i].second;
      if (!errors[i - start].empty()) {
        ++failures;
        if (json) {  // the failure takes the image's place in the stream
          std::printf("{\"image\": %s, \"error\": %s}\n", JsonValue(shown).c_str(),
                      JsonValue(errors[i - start]).c_str());
        } else {
          std::fprintf(stderr, "inference: %s\n", errors[i - start].c_str());
        }
        continue;
      }
      const std::vector<float>& p = probs[i - start];
      // Highest first; ties keep the lower index, as NumPy's stable argsort of -p does.
      std::vector<size_t> order(p.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
      order.resize(static_cast<size_t>(topk));
      if (json) {
        std::printf("%s\n", JsonLine(megdeploy::Shown(model_path), shown, order, p, contract.labels).c_str());
        continue;
      }
      if (images.size() > 1) std::printf("image: %s\n", shown.c_str());
      for (size_t r = 0; r < order.size(); ++r) {
        std::printf("%s\n", FormatLine(r, contract.labels[order[r]], p[order[r]]).c_str());
      }
    }
  }
  return failures ? 1 : 0;
}
