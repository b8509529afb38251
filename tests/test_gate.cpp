// The intended-use gate's checks (case/gate.h), the out-of-distribution score
// (case/ood.h), the uncertainty interval (case/uncertainty.h) and the
// intended use stored in model files (model_file/intended_use.h).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "case/gate.h"
#include "case/ood.h"
#include "case/uncertainty.h"
#include "core/errors.h"
#include "model_file/model_file.h"
#include "test_support.h"

using namespace pneumoscan;

namespace {

// A gray image with an X-ray-like spread of values.
Image textured(int width = 256, int height = 256) {
  Image image;
  image.format = "png";
  cv::Mat u8(height, width, CV_8UC1);
  cv::randn(u8, 120, 50);
  cv::GaussianBlur(u8, u8, cv::Size(0, 0), 3);
  cv::normalize(u8, u8, 0, 200, cv::NORM_MINMAX);
  // A bright central strip, as the mediastinum in a chest X-ray.
  cv::rectangle(u8, cv::Rect(width * 42 / 100, 0, width * 16 / 100, height), cv::Scalar(235), cv::FILLED);
  u8.convertTo(image.pixels, CV_32F, 1.0 / 255.0);
  return image;
}

Image dicom(const std::string& modality, const std::string& view, std::optional<int> age,
            const std::string& body_part = "CHEST") {
  Image image = textured();
  image.format = "dicom";
  DicomInfo info;
  info.modality = modality;
  info.view_position = view;
  info.age_years = age;
  info.body_part = body_part;
  info.photometric = "MONOCHROME2";
  image.dicom = info;
  return image;
}

Population paediatric() {
  Population p;
  p.description = "children aged 1-5";
  p.age_years = std::make_pair(1, 5);
  p.modalities = {"CR", "DX"};
  p.views = {"AP", "PA"};
  p.body_parts = {"CHEST"};
  return p;
}

std::vector<std::string> codes(const GateResult& gate) {
  std::vector<std::string> out;
  for (const GateReason& r : gate.reasons) out.push_back(r.code);
  return out;
}

}  // namespace

TEST(Gate, DicomAttributesOutsideThePopulationAreRefusedWithReasons) {
  const Population population = paediatric();
  struct Case {
    Image image;
    std::string code;  // "" = passes
  };
  const std::vector<Case> cases = {
      {dicom("CR", "AP", 3), ""},
      {dicom("DX", "PA", 5), ""},
      {dicom("CR", "PA", 58), "age"},
      {dicom("CR", "LL", 3), "view"},
      {dicom("CR", "LATERAL", 3), "view"},
      {dicom("MR", "AP", 3), "modality"},
      {dicom("CT", "", std::nullopt), "modality"},
      {dicom("CR", "AP", 3, "KNEE"), "body_part"},
  };
  for (const Case& c : cases) {
    GateResult gate;
    check_dicom_attributes(c.image, population, gate);
    if (c.code.empty()) {
      EXPECT_EQ(gate.status, GateStatus::kOk) << gate.summary();
    } else {
      EXPECT_EQ(gate.status, GateStatus::kRefuse) << c.code;
      EXPECT_TRUE(gate.has(c.code)) << c.code << ": " << gate.summary();
      EXPECT_FALSE(gate.reasons.front().message.empty());
    }
  }
  GateResult adult;
  check_dicom_attributes(dicom("CR", "PA", 58), population, adult);
  EXPECT_NE(adult.summary().find("58 years"), std::string::npos) << adult.summary();
  EXPECT_NE(adult.summary().find("1-5"), std::string::npos) << adult.summary();
}

TEST(Gate, MissingAgeWarnsAndNonDicomInputHasNoAttributeFindings) {
  GateResult no_age;
  check_dicom_attributes(dicom("CR", "AP", std::nullopt), paediatric(), no_age);
  EXPECT_EQ(no_age.status, GateStatus::kWarn);
  EXPECT_EQ(codes(no_age), std::vector<std::string>{"age_unknown"});
  GateResult png;
  check_dicom_attributes(textured(), paediatric(), png);
  EXPECT_EQ(png.status, GateStatus::kOk);
  // A model that states no population still refuses what is not a radiograph.
  GateResult mr;
  check_dicom_attributes(dicom("MR", "", std::nullopt), Population{}, mr);
  EXPECT_TRUE(mr.has("modality"));
}

TEST(Gate, PixelChecksRefuseBlankFlatTinyAndColourPictures) {
  GateResult ok;
  check_pixels(textured(), ok);
  EXPECT_EQ(ok.status, GateStatus::kOk) << ok.summary();

  Image blank = textured();
  blank.pixels.setTo(0.2);
  GateResult blank_gate;
  check_pixels(blank, blank_gate);
  EXPECT_EQ(codes(blank_gate), std::vector<std::string>{"blank"});

  Image flat = textured();
  flat.pixels = 0.5 + 0.01 * (flat.pixels - 0.5);
  GateResult flat_gate;
  check_pixels(flat, flat_gate);
  EXPECT_EQ(codes(flat_gate), std::vector<std::string>{"low_contrast"});

  GateResult tiny_gate;
  check_pixels(textured(40, 300), tiny_gate);
  EXPECT_TRUE(tiny_gate.has("too_small"));

  // A colour picture, through the decoder (which measures colourfulness before making it gray).
  cv::Mat photo(200, 200, CV_8UC3);
  cv::randu(photo, 0, 256);
  cv::rectangle(photo, cv::Rect(20, 20, 100, 100), cv::Scalar(0, 40, 230), cv::FILLED);
  std::vector<uint8_t> png;
  cv::imencode(".png", photo, png);
  const Image decoded = decode_image_bytes(png, "photo.png");
  EXPECT_GT(decoded.colourfulness, kRefuseColourfulness);
  GateResult colour_gate;
  check_pixels(decoded, colour_gate);
  EXPECT_TRUE(colour_gate.has("colour")) << colour_gate.summary();

  // A gray picture saved as a colour file is not colourful.
  cv::Mat gray_as_colour;
  cv::Mat u8;
  textured().pixels.convertTo(u8, CV_8U, 255);
  cv::cvtColor(u8, gray_as_colour, cv::COLOR_GRAY2BGR);
  cv::imencode(".jpg", gray_as_colour, png);
  EXPECT_LT(decode_image_bytes(png, "gray.jpg").colourfulness, 2.0);
}

TEST(Gate, NoiseAndInvertedLayoutsAreRefused) {
  const PixelLayout xray = measure_pixel_layout(textured());
  EXPECT_GT(xray.structure, kMinStructure);
  EXPECT_GT(xray.mediastinum_contrast, 0.2);

  Image noise = textured();
  cv::randu(noise.pixels, 0.0, 1.0);
  GateResult noise_gate;
  check_pixels(noise, noise_gate);
  EXPECT_EQ(codes(noise_gate), std::vector<std::string>{"noise"}) << noise_gate.summary();
  EXPECT_LT(measure_pixel_layout(noise).structure, 0.05);

  Image negative = textured();
  negative.pixels = 1.0 - negative.pixels;
  GateResult negative_gate;
  check_pixels(negative, negative_gate);
  EXPECT_EQ(codes(negative_gate), std::vector<std::string>{"inverted"}) << negative_gate.summary();
}

TEST(Gate, JsonCarriesStatusReasonsAndTheScore) {
  GateResult gate;
  gate.add("age", GateStatus::kRefuse, "patient age 58 years is outside the model's population (ages 1-5)");
  gate.add("age_unknown", GateStatus::kWarn, "x");
  gate.ood_score = 0.25;
  gate.ood_limit = 0.2;
  const nlohmann::json json = to_json(gate);
  EXPECT_EQ(json.at("status"), "refuse");  // the worst severity wins
  ASSERT_EQ(json.at("reasons").size(), 2u);
  EXPECT_EQ(json.at("reasons")[0].at("code"), "age");
  EXPECT_EQ(json.at("reasons")[1].at("severity"), "warn");
  EXPECT_DOUBLE_EQ(json.at("ood_score"), 0.25);
}

TEST(Ood, ScoreIsTheMeanCosineDistanceToTheNearestReferences) {
  const torch::Tensor reference = torch::eye(4);  // four orthogonal unit vectors
  const torch::Tensor query = torch::tensor({{1.0f, 0.0f, 0.0f, 0.0f}, {0.6f, 0.8f, 0.0f, 0.0f}});
  const torch::Tensor k1 = ood_scores(query, reference, 1);
  EXPECT_NEAR(k1[0].item<double>(), 0.0, 1e-6);
  EXPECT_NEAR(k1[1].item<double>(), 1.0 - 0.8, 1e-6);
  const torch::Tensor k2 = ood_scores(query, reference, 2);
  EXPECT_NEAR(k2[0].item<double>(), 1.0 - 0.5, 1e-6);  // 1 and 0
  EXPECT_NEAR(k2[1].item<double>(), 1.0 - (0.8 + 0.6) / 2, 1e-6);
  EXPECT_THROW(ood_scores(query, reference, 5), UsageError);
  EXPECT_THROW(ood_scores(torch::ones({1, 3}), reference, 1), UsageError);
  EXPECT_NEAR(quantile({1, 2, 3, 4, 5}, 0.5), 3.0, 1e-12);
  EXPECT_NEAR(quantile({1, 2, 3, 4, 5}, 0.9), 4.6, 1e-12);
  EXPECT_EQ(sample_indices(10, 20, 1).size(), 10u);
  EXPECT_EQ(sample_indices(100, 7, 3), sample_indices(100, 7, 3));
  EXPECT_NE(sample_indices(100, 7, 3), sample_indices(100, 7, 4));
}

TEST(Uncertainty, IntervalStraddlingTheThresholdIsUncertain) {
  const Uncertainty certain = uncertainty_interval({0.91, 0.95, 0.97}, 0.5, "ensemble");
  EXPECT_FALSE(certain.uncertain);
  EXPECT_DOUBLE_EQ(certain.low, 0.91);
  EXPECT_DOUBLE_EQ(certain.high, 0.97);
  EXPECT_EQ(certain.samples, 3);
  EXPECT_TRUE(uncertainty_interval({0.45, 0.55}, 0.5, "tta").uncertain);
  EXPECT_FALSE(uncertainty_interval({0.1, 0.49}, 0.5, "tta").uncertain);
  EXPECT_THROW(uncertainty_interval({}, 0.5, "tta"), UsageError);
}

TEST(IntendedUse, ModelFileKeepsPopulationAndReferenceAndRefusesAMismatch) {
  test::TempDir dir;
  ModelMetadata m;
  m.spec = {"small-cnn", 64, 1, 1};
  m.preprocess.input_size = 64;
  m.intended_use.population = paediatric();
  m.intended_use.ood.k = 3;
  m.intended_use.ood.limit = 0.125;
  m.intended_use.ood.references = 6;
  m.intended_use.ood.dimension = 8;
  const torch::Tensor reference = torch::nn::functional::normalize(
      torch::randn({6, 8}), torch::nn::functional::NormalizeFuncOptions().dim(1));
  Classifier net = create_model(m.spec);
  const std::string path = dir / "gated.psmodel";
  save_model(path, m, *net, reference);
  const LoadedModel loaded = load_model(path);
  EXPECT_EQ(loaded.metadata.format_version, 3);
  EXPECT_EQ(loaded.metadata.intended_use.population.age_years, std::make_pair(1, 5));
  EXPECT_EQ(loaded.metadata.intended_use.population.views, (std::vector<std::string>{"AP", "PA"}));
  EXPECT_EQ(loaded.metadata.intended_use.ood.k, 3);
  EXPECT_DOUBLE_EQ(loaded.metadata.intended_use.ood.limit, 0.125);
  ASSERT_TRUE(loaded.ood_reference.defined());
  EXPECT_TRUE(torch::equal(loaded.ood_reference, reference));
  EXPECT_FALSE(loaded.checksum.empty());

  // A reference whose size disagrees with its description is never written.
  EXPECT_THROW(save_model(dir / "bad.psmodel", m, *net, torch::zeros({5, 8})), UsageError);
  EXPECT_THROW(save_model(dir / "bad.psmodel", m, *net), UsageError);
  // Metadata that is nonsense is refused naming the file.
  nlohmann::json bad = to_json(m);
  bad["intended_use"]["population"]["age_years"] = {9, 2};
  EXPECT_THROW(metadata_from_json(bad, "x.psmodel"), ModelFileError);
  EXPECT_EQ(parse_age_range("1-5"), std::make_pair(1, 5));
  EXPECT_EQ(parse_age_range("18"), std::make_pair(18, 18));
  EXPECT_THROW(parse_age_range("5-1"), UsageError);
  EXPECT_THROW(parse_age_range("adult"), UsageError);
}
