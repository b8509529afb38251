#include "case/case_analyzer.h"

#include <torch/nn/functional/normalization.h>

#include "case/ood.h"
#include "core/errors.h"
#include "core/text.h"
#include "core/timing.h"
#include "image/preprocess.h"
#include "image/test_time_augmentation.h"
#include "models/ensemble.h"
#include "models/output.h"

namespace pneumoscan {
namespace {

// P(pneumonia) from class probabilities [N, K] (K = 2: column 1; else 1 - NORMAL), as float like
// Predictor::fill_prediction.
torch::Tensor pneumonia_column(const torch::Tensor& probabilities) {
  return probabilities.size(1) == 2 ? probabilities.select(1, 1) : 1.0f - probabilities.select(1, 0);
}

Provenance provenance_of(const LoadedModel& model) {
  const ModelMetadata& m = model.metadata;
  Provenance p;
  p.model_name = m.name;
  p.architecture = architecture_summary(m);
  p.ensemble_size = m.ensemble_size;
  p.checksum = model.checksum;
  p.integrity_warning = model.integrity_warning;
  p.created_at = m.created_at;
  p.preprocess = to_json(m.preprocess);
  p.threshold = m.threshold;
  p.threshold_policy = m.calibration.value("threshold_policy", "validation");
  p.population = m.intended_use.population.description;
  p.program_version = PNEUMOSCAN_VERSION;
  return p;
}

}  // namespace

nlohmann::json to_json(const Provenance& p) {
  return {{"model", p.model_name},
          {"architecture", p.architecture},
          {"ensemble_size", p.ensemble_size},
          {"checksum", p.checksum.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.checksum)},
          {"integrity_warning", p.integrity_warning},
          {"created_at", p.created_at},
          {"preprocess", p.preprocess},
          {"threshold", p.threshold},
          {"threshold_policy", p.threshold_policy},
          {"population", p.population},
          {"pneumoscan_version", p.program_version},
          {"precision", p.precision}};
}

CaseAnalyzer::CaseAnalyzer(CaseAnalyzerOptions options)
    : model_path_(model_or_default(options.model_path)), options_(std::move(options)) {
  PredictorOptions predictor_options;
  predictor_options.device = options_.device;
  predictor_options.with_fingerprint = !options_.index_path.empty();
  predictor_options.precision = options_.precision;
  predictor_ = std::make_unique<Predictor>(model_path_, predictor_options);
  if (!options_.index_path.empty())
    finder_ = std::make_unique<CaseFinder>(options_.index_path, *predictor_, model_path_);
  provenance_ = provenance_of(predictor_->model());
  provenance_.precision = precision_name(predictor_->precision());
}

torch::Tensor CaseAnalyzer::forward_rows(const torch::Tensor& rows) {
  std::lock_guard<std::mutex> lock(network_mutex_);
  ClassifierImpl& net = predictor_->net();
  const EvalModeGuard eval_mode(net);
  c10::InferenceMode inference;
  // prepare_input makes the rows channels-last again: the HTTP batcher's
  // torch::cat of 1-channel rows gives the standard layout, which sends the
  // channels-last network down slow paths.
  const torch::Tensor features = net.forward_features(predictor_->prepare_input(rows));
  const torch::Tensor probabilities =
      class_probabilities(net.logits(features)).to(torch::kCPU, torch::kFloat32);
  std::vector<torch::Tensor> parts = {probabilities};
  if (auto* ensemble = dynamic_cast<EnsembleImpl*>(&net)) {
    // Each member through the file's output calibration, as the ensemble's own output goes.
    const torch::Tensor members = ensemble->member_probabilities(features);  // [M, N, K]
    std::vector<torch::Tensor> member_p;
    for (int64_t m = 0; m < members.size(0); ++m) {
      const torch::Tensor calibrated = class_probabilities(
          apply_output_calibration(members[m].clamp_min(1e-12).log(), net.temperature(), net.class_bias()));
      member_p.push_back(pneumonia_column(calibrated.to(torch::kCPU, torch::kFloat32)).unsqueeze(1));
    }
    parts.push_back(torch::cat(member_p, 1));
  }
  // Averaged in float32: embeddings of a bfloat16 network keep their digits for the distances.
  const torch::Tensor pooled = features.to(torch::kFloat32).mean({2, 3}).to(torch::kCPU);
  parts.push_back(
      torch::nn::functional::normalize(pooled, torch::nn::functional::NormalizeFuncOptions().dim(1)));
  return torch::cat(parts, 1).contiguous();
}

int64_t CaseAnalyzer::embedding_offset() const {
  const ModelMetadata& m = predictor_->metadata();
  const int64_t classes = m.class_names.size() == 2 ? 2 : static_cast<int64_t>(m.class_names.size());
  return classes + (m.ensemble_size > 1 ? m.ensemble_size : 0);
}

DecodeOptions CaseAnalyzer::decode_options() const {
  DecodeOptions options;
  options.at_least = 2 * predictor_->metadata().preprocess.input_size;
  return options;
}

torch::Tensor CaseAnalyzer::embeddings_of(const torch::Tensor& outputs) const {
  return outputs.slice(1, embedding_offset());
}

torch::Tensor CaseAnalyzer::input_rows(const Image& image, bool with_variants) const {
  const PreprocessConfig& config = predictor_->metadata().preprocess;
  const cv::Mat resized = resize_for_model(image, config);
  std::vector<cv::Mat> looks = {resized};
  if (with_variants)
    for (cv::Mat& variant : tta_variants(resized)) looks.push_back(std::move(variant));
  const int64_t side = config.input_size;
  torch::Tensor rows =
      torch::empty({static_cast<int64_t>(looks.size()), config.channels, side, side}, torch::kFloat32);
  const int64_t per_row = config.channels * side * side;
  for (size_t i = 0; i < looks.size(); ++i)
    normalize_into(looks[i], config, rows.data_ptr<float>() + i * per_row);
  return rows.contiguous(torch::MemoryFormat::ChannelsLast);
}

CaseResult CaseAnalyzer::analyse(const Image& image, const CaseRequest& request, const RowRunner& run_rows) {
  const Stopwatch stopwatch;
  const ModelMetadata& metadata = predictor_->metadata();
  const LoadedModel& model = predictor_->model();
  const RowRunner run = run_rows ? run_rows : [this](const torch::Tensor& rows, CaseTiming& timing) {
    const Stopwatch forward;
    torch::Tensor out = forward_rows(rows);
    timing.inference_ms += forward.milliseconds();
    timing.batch_size = static_cast<int>(rows.size(0));
    return out;
  };

  CaseResult result;
  result.name = request.name;
  result.format = image.format;
  result.width = image.original_width();
  result.height = image.original_height();
  result.warnings = image.warnings;
  result.provenance = provenance_;
  result.similar_requested = request.similar_k > 0;
  check_dicom_attributes(image, metadata.intended_use.population, result.gate);
  check_pixels(image, result.gate);
  if (result.gate.has("blank") || result.gate.has("too_small")) {  // nothing a network could read
    result.timing.analysis_ms = stopwatch.milliseconds();
    return result;
  }

  const int64_t members = metadata.ensemble_size > 1 ? metadata.ensemble_size : 0;
  const int64_t classes = embedding_offset() - members;
  const bool tta = members == 0 && options_.test_time_augmentation;
  const torch::Tensor outputs = run(input_rows(image, tta), result.timing);
  if (outputs.dim() != 2 || outputs.size(1) <= classes + members)
    throw std::runtime_error("case analysis: unexpected network output " + std::to_string(outputs.dim()));

  // The out-of-distribution score of the image as given; when it fails, the
  // inverted image tells a negative (inverted polarity) from a stranger.
  const OodReference& ood = metadata.intended_use.ood;
  if (ood.present()) {
    const torch::Tensor embedding = embeddings_of(outputs.slice(0, 0, 1));
    result.gate.ood_score = ood_scores(embedding, model.ood_reference, ood.k)[0].item<double>();
    result.gate.ood_limit = ood.limit;
    const std::string stranger = format_string(
        "the image does not look like the chest X-rays the model was trained on (out-of-distribution score "
        "%.3f, "
        "limit %.3f)",
        *result.gate.ood_score, ood.limit);
    if (*result.gate.ood_score > ood.limit && result.gate.has("inverted")) {
      result.gate.add("out_of_distribution", GateStatus::kRefuse, stranger);
    } else if (*result.gate.ood_score > ood.limit) {
      Image inverted = image;
      inverted.pixels = 1.0 - image.pixels;
      const torch::Tensor inverted_out = run(input_rows(inverted, false), result.timing);
      const double inverted_score =
          ood_scores(embeddings_of(inverted_out), model.ood_reference, ood.k)[0].item<double>();
      if (inverted_score <= ood.limit)
        result.gate.add("inverted", GateStatus::kRefuse,
                        "the image looks inverted (a negative: bones dark, air bright); the model reads "
                        "radiographs with bones bright");
      else
        result.gate.add("out_of_distribution", GateStatus::kRefuse, stranger);
    }
  }
  if (result.gate.refused()) {
    result.timing.analysis_ms = stopwatch.milliseconds();
    return result;
  }

  Prediction prediction;
  prediction.path = request.name;
  predictor_->fill_prediction(outputs[0].data_ptr<float>(), prediction);
  const auto probabilities_of_looks = [&]() {
    std::vector<double> looks;
    if (members > 0) {
      for (int64_t m = 0; m < members; ++m) looks.push_back(outputs[0][classes + m].item<double>());
    } else {
      const torch::Tensor p = pneumonia_column(outputs.slice(1, 0, classes));
      for (int64_t r = 0; r < p.size(0); ++r) looks.push_back(p[r].item<double>());
    }
    return looks;
  };
  if (members > 0 || tta)
    result.uncertainty =
        uncertainty_interval(probabilities_of_looks(), metadata.threshold, members > 0 ? "ensemble" : "tta");

  if (request.explain) {
    const int target = prediction.probability >= prediction.threshold ? kTargetPneumonia : kTargetNormal;
    std::lock_guard<std::mutex> lock(network_mutex_);
    result.heatmap = explain(predictor_->net(), predictor_->input_tensor(image), *request.explain, target);
  }
  if (request.similar_k > 0) {
    if (!finder_) throw UsageError("no case index for similar cases (give one with --index or --similar)");
    std::lock_guard<std::mutex> lock(network_mutex_);
    result.similar = finder_->find(image, request.name, request.similar_k);
  }
  result.timing.analysis_ms = stopwatch.milliseconds();
  prediction.milliseconds = result.timing.analysis_ms;
  result.prediction = std::move(prediction);
  return result;
}

nlohmann::json to_json(const CaseResult& r) {
  nlohmann::json json = {{"file", r.name}};
  if (r.prediction) {
    const Prediction& p = *r.prediction;
    json["probability"] = p.probability;
    json["label"] = p.label;
    json["threshold"] = p.threshold;
    if (!p.type_probabilities.empty()) {
      json["type"] = p.pneumonia_type;
      json["type_probabilities"] = nlohmann::json::object();
      for (const auto& [name, probability] : p.type_probabilities)
        json["type_probabilities"][name] = probability;
    }
    if (r.uncertainty)
      json["uncertainty"] = {{"low", r.uncertainty->low},
                             {"high", r.uncertainty->high},
                             {"uncertain", r.uncertainty->uncertain},
                             {"method", r.uncertainty->method},
                             {"samples", r.uncertainty->samples}};
  } else {
    json["refused"] = r.gate.summary();
  }
  json["gate"] = to_json(r.gate);
  json["image"] = {{"format", r.format}, {"width", r.width}, {"height", r.height}};
  if (!r.warnings.empty()) json["warnings"] = r.warnings;
  json["timing_ms"] = {
      {"analysis", r.timing.analysis_ms}, {"queue", r.timing.queue_ms}, {"inference", r.timing.inference_ms}};
  json["batch_size"] = r.timing.batch_size;
  json["provenance"] = to_json(r.provenance);
  return json;
}

std::string to_text(const CaseResult& r) {
  if (!r.prediction) return r.name + "\tREFUSED\t" + r.gate.summary();
  const Prediction& p = *r.prediction;
  std::string line = format_string("%s\t%s\tp(pneumonia)=%.4f\tthreshold=%.4f", p.path.c_str(),
                                   p.label.c_str(), p.probability, p.threshold);
  if (!p.type_probabilities.empty()) {
    line += "\ttype=" + p.pneumonia_type;
    for (const auto& [name, probability] : p.type_probabilities)
      line += format_string("\tp(%s)=%.4f", name.c_str(), probability);
  }
  if (r.uncertainty)
    line += format_string("\tinterval=%.4f-%.4f%s", r.uncertainty->low, r.uncertainty->high,
                          r.uncertainty->uncertain ? "\tUNCERTAIN" : "");
  if (r.gate.status == GateStatus::kWarn) line += "\twarning: " + r.gate.summary();
  return line;
}

}  // namespace pneumoscan
