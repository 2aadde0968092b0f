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
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cc/classifier.h"
#include "cc/cli/program.h"
#include "cc/cli/progress.h"
#include "cc/model_encryption.h"
#include "cc/cli/quiet.h"
#include "cc/image_files.h"

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

std::string JsonLine(const std::string& model, const std::string& image, const std::vector<megdeploy::TopClass>& top) {
  std::string line = "{\"model\": " + JsonValue(model) + ", \"image\": " + JsonValue(image) + ", \"top\": [";
  for (size_t r = 0; r < top.size(); ++r) {
    line += (r ? ", " : "") + std::string("{\"index\": ") + std::to_string(top[r].index) + ", \"name\": " +
            JsonValue(top[r].name) + ", \"probability\": " + JsonValue(top[r].probability) + "}";
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
  std::string model_key_file;
  app.add_option("--model_key_file", model_key_file,
                 "the key of an encrypted model (export --encrypt_key_file); default: the file $MEGDEPLOY_MODEL_KEY_FILE "
                 "names");
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
      return megdeploy::UsageError("inference", "no image given and the embedded testdata/cat.jpg is not in the runfiles");
    }
    images.emplace_back(fallback, "testdata/cat.jpg");
  }

  std::optional<megdeploy::Classifier> classifier;
  try {
    // Lite reads the model (and a recorded fast-run cache) here; a crash in it is one line.
    megdeploy::Guarded(model_path + ": Lite crashed while loading the model or its fast-run cache: the file is "
                                    "damaged or not a MegEngine model",
                       [&] {
                         const std::string key =
                             megdeploy::ModelKeyFrom(model_key_file.empty() ? "" : megdeploy::UserPath(model_key_file));
                         classifier.emplace(model_path, threads, choice, max_pixels, key);
                       });
  } catch (const std::exception& e) {  // ContractError, ModelError, each one line
    return megdeploy::Fail("inference", e.what());
  }
  if (static_cast<size_t>(topk) > classifier->labels().size()) {
    return megdeploy::UsageError("inference", "--topk " + std::to_string(topk) + " is more than the model's " +
                                                  std::to_string(classifier->labels().size()) + " classes");
  }
  std::FILE* err = megdeploy::quiet::RealStderr();
  // Only once the model loaded: a failure stays a single line.
  if (!classifier->note().empty()) std::fprintf(err, "note: %s\n", classifier->note().c_str());
  if (classifier->random_weights()) {
    std::fprintf(err, "WARNING: %s has random weights (tests and benchmarks only): its classes mean nothing.\n",
                 megdeploy::Shown(model_path).c_str());
  }
  int failures = 0;
  long done = 0;
  megdeploy::Progress progress(static_cast<long>(images.size()), "images");
  // Groups of a few forward passes, as //py:inference reads them: results stream, memory stays bounded.
  const size_t group_size = 4 * classifier->batch();
  for (size_t start = 0; start < images.size(); start += group_size) {
    const size_t end = std::min(images.size(), start + group_size);
    std::vector<std::string> group;
    for (size_t i = start; i < end; ++i) group.push_back(images[i].first);
    std::vector<megdeploy::Prepared> prepared = classifier->Prepare(group);
    for (size_t k = 0; k < group.size(); ++k) {
      if (std::find(empty_folders.begin(), empty_folders.end(), group[k]) != empty_folders.end()) {
        prepared[k] = {{}, group[k] + ": " + megdeploy::kNoImages};
      } else if (!dump_input.empty() && prepared[k].error.empty()) {
        std::ofstream(megdeploy::UserPath(dump_input), std::ios::binary)
            .write(reinterpret_cast<const char*>(prepared[k].input.data()), prepared[k].input.size() * sizeof(float));
      }
    }
    std::vector<megdeploy::Result> results(group.size());
    try {
      results = megdeploy::Guarded(model_path + ": Lite crashed while running the model: the file is damaged",
                                   [&] { return classifier->ClassifyPrepared(group, prepared, topk); });
    } catch (const std::exception& e) {  // ModelError: every image of the group fails with it
      for (size_t k = 0; k < group.size(); ++k) {
        results[k] = {std::nullopt, prepared[k].error.empty() ? e.what() : prepared[k].error};
      }
    }
    for (size_t k = 0; k < group.size(); ++k) {
      progress.Update(++done);
      const std::string& shown = images[start + k].second;
      const megdeploy::Result& result = results[k];
      if (!result.record) {
        ++failures;
        if (json) {  // the failure takes the image's place in the stream
          std::printf("{\"image\": %s, \"error\": %s}\n", JsonValue(shown).c_str(), JsonValue(result.error).c_str());
          std::fflush(stdout);
          megdeploy::quiet::DropNativeOutput();
        } else {
          megdeploy::Fail("inference", result.error);
        }
        continue;
      }
      if (json) {
        std::printf("%s\n", JsonLine(megdeploy::Shown(model_path), shown, result.record->top).c_str());
        continue;
      }
      if (images.size() > 1) std::printf("image: %s\n", shown.c_str());
      for (size_t r = 0; r < result.record->top.size(); ++r) {
        std::printf("%s\n", FormatLine(r, result.record->top[r].name, result.record->top[r].probability).c_str());
      }
    }
  }
  return failures ? 1 : 0;
}
