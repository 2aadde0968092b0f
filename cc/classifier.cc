#include "cc/classifier.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace megdeploy {

std::vector<TopClass> TopClasses(const std::vector<float>& probs, const std::vector<std::string>& names, size_t k) {
  std::vector<size_t> order(probs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return probs[a] > probs[b]; });
  order.resize(std::min(k, order.size()));
  std::vector<TopClass> top;
  for (size_t i : order) top.push_back({i, names[i], static_cast<double>(probs[i])});
  return top;
}

Classifier::Classifier(const std::string& model_path, int threads, const std::string& lite_options,
                       long long max_pixels, const std::string& model_key)
    : model_path_(model_path), max_pixels_(max_pixels) {
  const ModelAndContract model = ReadModel(model_path, model_key);
  contract_ = model.contract;
  const EmbeddedCacheFile cache(model.fast_run_cache);
  ChosenOptions chosen;
  try {
    chosen = OptionsFor(contract_.lite, model_path, lite_options, cache.path());
  } catch (const SettingsError& e) {
    throw ContractError(e.what());  // as Python's Classifier reports it
  }
  note_ = chosen.note;
  runner_.emplace(model.graph, chosen.options, threads);
}

ModelAndContract ReadModel(const std::string& model_path, const std::string& model_key) {
  ModelFile model = ReadModelFile(model_path);
  if (IsPacked(*model.bytes)) return ReadPacked(model, model_key);
  if (!model_key.empty()) throw KeyForPlainModel(model_path);
  Contract contract = ReadContract(model);
  return {std::move(model), std::move(contract), ""};
}

std::vector<float> Classifier::Preprocess(const std::string& path) const {
  return megdeploy::PreprocessBgr(ReadBgr(path, contract_.preprocess, max_pixels_), contract_.preprocess);
}

std::vector<float> Classifier::PreprocessEncoded(const std::string& bytes) const {
  return megdeploy::PreprocessBgr(DecodeBgr(bytes, "bytes", contract_.preprocess, max_pixels_), contract_.preprocess);
}

std::vector<float> Classifier::PreprocessBgr(const cv::Mat& bgr) const {
  if (bgr.type() != CV_8UC3) throw ImageError("array: expected a uint8 HxWx3 BGR image");
  CheckSize(bgr.cols, bgr.rows, contract_.preprocess, max_pixels_, "array");
  return megdeploy::PreprocessBgr(bgr, contract_.preprocess);
}

std::vector<float> Classifier::Probabilities(const std::string& path) { return RunInputs({Preprocess(path)})[0]; }

std::vector<std::vector<float>> Classifier::RunInputs(const std::vector<std::vector<float>>& inputs) {
  const size_t batch = this->batch(), classes = contract_.labels.size();
  std::vector<std::vector<float>> outputs;
  for (size_t start = 0; start < inputs.size(); start += batch) {
    const size_t count = std::min(batch, inputs.size() - start);
    std::vector<float> group;
    for (size_t k = 0; k < batch; ++k) {
      const std::vector<float>& input = inputs[start + std::min(k, count - 1)];
      group.insert(group.end(), input.begin(), input.end());
    }
    const std::vector<float> output = runner_->Run(contract_.input_name, group);
    if (output.size() != batch * classes) {
      throw ModelError(model_path_ + ": output has " + std::to_string(output.size()) + " values for " +
                       std::to_string(batch) + " x " + std::to_string(classes) + " labels");
    }
    for (size_t k = 0; k < count; ++k) {
      outputs.emplace_back(output.begin() + k * classes, output.begin() + (k + 1) * classes);
    }
  }
  return outputs;
}

void Classifier::CheckTopk(int topk) const {
  if (topk < 1 || static_cast<size_t>(topk) > contract_.labels.size()) {
    throw std::invalid_argument("topk must be 1 to " + std::to_string(contract_.labels.size()) + ", got " +
                                std::to_string(topk));
  }
}

std::vector<Prepared> Classifier::Prepare(const std::vector<std::string>& paths) const {
  std::vector<Prepared> prepared(paths.size());
  for (size_t i = 0; i < paths.size(); ++i) {
    try {
      prepared[i].input = Preprocess(paths[i]);
    } catch (const ImageError& e) {
      prepared[i].error = e.what();
    }
  }
  return prepared;
}

std::vector<Result> Classifier::ClassifyPrepared(const std::vector<std::string>& paths,
                                                 const std::vector<Prepared>& prepared, int topk) {
  CheckTopk(topk);
  std::vector<Result> results(paths.size());
  std::vector<std::vector<float>> inputs;
  std::vector<size_t> where;
  for (size_t i = 0; i < paths.size(); ++i) {
    if (!prepared[i].error.empty()) {
      results[i].error = prepared[i].error;
      continue;
    }
    inputs.push_back(prepared[i].input);
    where.push_back(i);
  }
  const std::vector<std::vector<float>> outputs = RunInputs(inputs);
  for (size_t k = 0; k < where.size(); ++k) {
    results[where[k]].record = Record{model_path_, paths[where[k]], TopClasses(outputs[k], contract_.labels, topk)};
  }
  return results;
}

std::vector<Result> Classifier::ClassifyMany(const std::vector<std::string>& paths, int topk) {
  CheckTopk(topk);
  return ClassifyPrepared(paths, Prepare(paths), topk);
}

Record Classifier::ClassifyOne(const std::string& path, int topk) {
  CheckTopk(topk);
  return Record{model_path_, path, TopClasses(Probabilities(path), contract_.labels, topk)};
}

std::vector<Record> Classifier::Classify(const std::vector<std::string>& paths, int topk) {
  std::vector<Record> records;
  for (Result& result : ClassifyMany(paths, topk)) {
    if (!result.record) throw ImageError(result.error);
    records.push_back(std::move(*result.record));
  }
  return records;
}

}  // namespace megdeploy
