// One case analysis (case/case_analyzer.h): refused input never gets a
// diagnosis, diagnosed input gets the predictor's probability, an uncertainty
// interval and provenance; the out-of-distribution reference is fitted and
// applied (case/gate_fit.h); the gate evaluation counts what it sees
// (case/gate_evaluation.h). Random networks suffice: these are contracts,
// not accuracy; the bundled model's gate is checked on real data at the end.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "case/case_analyzer.h"
#include "case/gate_evaluation.h"
#include "case/gate_fit.h"
#include "core/errors.h"
#include "image/test_time_augmentation.h"
#include "models/ensemble.h"
#include "test_support.h"

using namespace pneumoscan;

namespace {

cv::Mat textured_u8(uint64_t seed, int side = 160) {
  cv::RNG rng(seed);
  cv::Mat u8(side, side, CV_8UC1);
  rng.fill(u8, cv::RNG::NORMAL, 120, 50);
  cv::GaussianBlur(u8, u8, cv::Size(0, 0), 2);
  cv::normalize(u8, u8, 0, 200, cv::NORM_MINMAX);
  cv::rectangle(u8, cv::Rect(side * 42 / 100, 0, side * 16 / 100, side), cv::Scalar(235),
                cv::FILLED);  // mediastinum
  return u8;
}

Image textured(uint64_t seed) {
  Image image;
  image.format = "png";
  textured_u8(seed).convertTo(image.pixels, CV_32F, 1.0 / 255.0);
  return image;
}

std::string random_model(const test::TempDir& dir, const std::string& name, int ensemble = 1) {
  ModelMetadata m;
  m.name = name;
  m.spec = {"small-cnn", 64, 1, 1};
  m.preprocess.input_size = 64;
  m.ensemble_size = ensemble;
  m.intended_use.population.description = "children aged 1-5";
  m.intended_use.population.age_years = std::make_pair(1, 5);
  torch::manual_seed(7);
  Classifier net = create_network(m);
  const std::string path = dir / (name + ".psmodel");
  save_model(path, m, *net);
  return path;
}

CaseAnalyzer analyzer_for(const std::string& model) {
  CaseAnalyzerOptions options;
  options.model_path = model;
  return CaseAnalyzer(options);
}

void expect_refused(const CaseResult& result, const std::string& code) {
  EXPECT_TRUE(result.refused()) << code;
  EXPECT_TRUE(result.gate.has(code)) << code << ": " << result.gate.summary();
  EXPECT_FALSE(result.prediction.has_value()) << code;
  EXPECT_FALSE(result.uncertainty.has_value()) << code;
  const nlohmann::json json = to_json(result);
  EXPECT_FALSE(json.contains("probability")) << json.dump();
  EXPECT_FALSE(json.contains("label")) << json.dump();
  EXPECT_EQ(json.at("gate").at("status"), "refuse");
  EXPECT_EQ(json.at("refused"), result.gate.summary());
  EXPECT_FALSE(json.contains("error"));
  EXPECT_NE(to_text(result).find("REFUSED"), std::string::npos);
}

}  // namespace

TEST(CaseAnalyzer, RefusedInputNeverGetsADiagnosis) {
  test::TempDir dir;
  CaseAnalyzer analyzer = analyzer_for(random_model(dir, "random"));
  CaseRequest request;
  request.name = "case";
  request.explain = ExplainMethod::kGradCam;  // asked for, but never computed for a refusal

  Image blank = textured(1);
  blank.pixels.setTo(0.0);
  expect_refused(analyzer.analyse(blank, request), "blank");
  Image tiny = textured(2);
  tiny.pixels = tiny.pixels(cv::Rect(0, 0, 30, 30)).clone();
  expect_refused(analyzer.analyse(tiny, request), "too_small");
  Image photo = textured(3);
  photo.colourfulness = 40;
  expect_refused(analyzer.analyse(photo, request), "colour");

  Image adult = textured(4);
  adult.format = "dicom";
  adult.dicom = DicomInfo{};
  adult.dicom->modality = "CR";
  adult.dicom->view_position = "PA";
  adult.dicom->age_years = 58;
  const CaseResult refused = analyzer.analyse(adult, request);
  expect_refused(refused, "age");
  EXPECT_FALSE(refused.heatmap.has_value());
  adult.dicom->view_position = "LL";
  adult.dicom->age_years = 3;
  expect_refused(analyzer.analyse(adult, request), "view");
  adult.dicom->view_position = "AP";
  adult.dicom->modality = "MR";
  expect_refused(analyzer.analyse(adult, request), "modality");
}

TEST(CaseAnalyzer, DiagnosisMatchesThePredictorWithIntervalAndProvenance) {
  test::TempDir dir;
  const std::string model = random_model(dir, "random");
  CaseAnalyzer analyzer = analyzer_for(model);
  Predictor predictor(model);
  const Image image = textured(5);
  CaseRequest request;
  request.name = "x.png";
  request.explain = ExplainMethod::kGradCam;
  const CaseResult result = analyzer.analyse(image, request);
  ASSERT_TRUE(result.prediction.has_value()) << result.gate.summary();
  EXPECT_EQ(result.gate.status, GateStatus::kOk);
  EXPECT_NEAR(result.prediction->probability, predictor.predict_image(image, "x.png").probability, 1e-6);
  ASSERT_TRUE(result.uncertainty.has_value());
  EXPECT_EQ(result.uncertainty->method, "tta");
  EXPECT_EQ(result.uncertainty->samples, 1 + kTtaVariants);
  EXPECT_LE(result.uncertainty->low, result.prediction->probability);
  EXPECT_GE(result.uncertainty->high, result.prediction->probability);
  ASSERT_TRUE(result.heatmap.has_value());
  EXPECT_FALSE(result.heatmap->map.empty());
  EXPECT_EQ(result.provenance.model_name, "random");
  EXPECT_EQ(result.provenance.checksum, predictor.model().checksum);
  EXPECT_EQ(result.provenance.population, "children aged 1-5");
  const nlohmann::json json = to_json(result);
  for (const char* key : {"file", "probability", "label", "threshold", "uncertainty", "gate", "image",
                          "timing_ms", "provenance"})
    EXPECT_TRUE(json.contains(key)) << key;
  EXPECT_FALSE(json.contains("refused"));
  EXPECT_EQ(json.at("provenance").at("architecture"), "small-cnn");
  // Analysing again gives the same figures (no state kept between cases).
  const CaseResult again = analyzer.analyse(image, request);
  EXPECT_EQ(again.prediction->probability, result.prediction->probability);
  EXPECT_EQ(again.uncertainty->low, result.uncertainty->low);
}

TEST(CaseAnalyzer, EnsembleIntervalComesFromItsMembers) {
  test::TempDir dir;
  CaseAnalyzer analyzer = analyzer_for(random_model(dir, "pair", /*ensemble=*/2));
  CaseRequest request;
  request.name = "x.png";
  const CaseResult result = analyzer.analyse(textured(6), request);
  ASSERT_TRUE(result.prediction.has_value());
  ASSERT_TRUE(result.uncertainty.has_value());
  EXPECT_EQ(result.uncertainty->method, "ensemble");
  EXPECT_EQ(result.uncertainty->samples, 2);
  // The ensemble's probability is the mean of its members': inside their range.
  EXPECT_GE(result.prediction->probability, result.uncertainty->low - 1e-6);
  EXPECT_LE(result.prediction->probability, result.uncertainty->high + 1e-6);
  EXPECT_NEAR(result.prediction->probability, (result.uncertainty->low + result.uncertainty->high) / 2, 1e-5);
}

TEST(CaseAnalyzer, FittedReferenceScoresEveryCaseAndItsLimitRefuses) {
  test::TempDir dir;
  const std::string model = random_model(dir, "random");
  std::vector<Sample> train, validation;
  for (int i = 0; i < 24; ++i) {
    const std::string path = dir / ("img" + std::to_string(i) + ".png");
    ASSERT_TRUE(cv::imwrite(path, textured_u8(100 + i)));
    (i < 16 ? train : validation).push_back({path, 0, "p" + std::to_string(i), i < 16 ? "train" : "val", ""});
  }
  OodFit fit;
  {
    CaseAnalyzer analyzer = analyzer_for(model);
    OodFitOptions options;
    options.references = 10;
    options.k = 3;
    options.pass_rate = 0.75;
    fit = fit_ood_reference(analyzer, train, validation, options);
  }
  EXPECT_EQ(fit.reference.size(0), 10);
  EXPECT_EQ(fit.validation_scores.size(), 8u);
  EXPECT_EQ(fit.description.record.at("validation_passed"), 6);  // 75 % of 8
  LoadedModel loaded = load_model(model);
  loaded.metadata.intended_use.ood = fit.description;
  const std::string gated = dir / "gated.psmodel";
  save_model(gated, loaded.metadata, *loaded.net, fit.reference);
  CaseAnalyzer analyzer = analyzer_for(gated);
  CaseRequest request;
  request.name = "x.png";
  size_t refused = 0;
  for (const Sample& s : validation) {
    const CaseResult result = analyzer.analyse(decode_image(s.path), request);
    ASSERT_TRUE(result.gate.ood_score.has_value());
    EXPECT_DOUBLE_EQ(result.gate.ood_limit, fit.description.limit);
    // The score at run time is the fitted one: same decoding, same preprocessing.
    const bool over = *result.gate.ood_score > fit.description.limit;
    refused += result.refused() ? 1 : 0;
    EXPECT_EQ(result.refused(), over);
    if (over) EXPECT_TRUE(result.gate.has("out_of_distribution") || result.gate.has("inverted"));
  }
  EXPECT_EQ(refused, 2u);
}

TEST(CaseAnalyzer, GateEvaluationCountsPassesRefusalsAndReasons) {
  test::TempDir dir;
  CaseAnalyzer analyzer = analyzer_for(random_model(dir, "random"));
  GateSet set{"mixed", {}};
  for (int i = 0; i < 3; ++i)
    set.cases.push_back({"ok" + std::to_string(i), 0, [i] { return textured(50 + i); }});
  set.cases.push_back({"blank", -1, [] {
                         Image blank = textured(9);
                         blank.pixels.setTo(0.5);
                         return blank;
                       }});
  set.cases.push_back({"unreadable", -1, []() -> Image { throw InputError("unreadable", "not an image"); }});
  const GateSetFigures f = evaluate_gate_set(analyzer, set);
  EXPECT_EQ(f.images, 5u);
  EXPECT_EQ(f.passed, 3u);
  EXPECT_EQ(f.refused, 1u);
  EXPECT_EQ(f.failed, 1u);
  EXPECT_EQ(f.reasons.at("blank"), 1u);
  EXPECT_EQ(f.certain + f.uncertain, 3u);  // the labelled, diagnosed ones
  const std::vector<GateSet> generated = generated_non_xray_sets(2, 1);
  ASSERT_EQ(generated.size(), 3u);
  for (const GateSet& g : generated) {
    ASSERT_EQ(g.cases.size(), 2u);
    const Image image = g.cases[0].load();
    EXPECT_GE(std::min(image.width(), image.height()), kMinDiagnosticSide) << g.name;
  }
  EXPECT_GE(generated[2].cases[0].load().colourfulness, kRefuseColourfulness);  // screenshots are colourful
  const std::vector<GateSet> altered = altered_xray_sets(set, 2);
  ASSERT_EQ(altered.size(), 4u);
  EXPECT_EQ(altered[0].cases.size(), 2u);
  EXPECT_EQ(altered[0].cases[0].load().width(), textured(50).height());  // rotated
}

TEST(CaseAnalyzer, BundledModelRefusesPhotosAndAdultsAndPassesItsOwnValidation) {
  PNEUMOSCAN_REQUIRE_SHARED(cat, "pretrained/check/chelsea.png");
  PNEUMOSCAN_REQUIRE_SHARED(rsna, "data/dicom/rsna");
  PNEUMOSCAN_REQUIRE_SHARED(val, "data/chest_xray/val");
  CaseAnalyzer analyzer = analyzer_for("");
  ASSERT_TRUE(analyzer.metadata().intended_use.ood.present())
      << "the bundled model has no intended use fitted";
  CaseRequest request;
  request.name = "case";
  expect_refused(analyzer.analyse(decode_image(cat), request), "colour");
  size_t adults = 0;
  for (const GateCase& c : files_set("rsna", rsna).cases) {
    const CaseResult result = analyzer.analyse(c.load(), request);
    EXPECT_TRUE(result.refused()) << c.name;
    adults += result.gate.has("age") ? 1 : 0;
  }
  EXPECT_EQ(adults, 16u);
  const GateSetFigures official_val = evaluate_gate_set(analyzer, files_set("val", val));
  EXPECT_EQ(official_val.images, 16u);
  EXPECT_GE(official_val.passed + official_val.warned, 15u) << to_text(official_val);
}
