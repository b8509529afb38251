// Tests of src/report/case_report: base64, and the HTML case report of
// `predict --report` (self-contained, every embedded image decodes, the
// decision, threshold marker and similar cases are on the page).
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/atomic_file.h"
#include "image/data_url.h"
#include "model_file/model_file.h"
#include "report/case_report.h"
#include "test_support.h"

using namespace pneumoscan;

namespace {

// The value of every src="..." attribute on the page (scanned by hand:
// std::regex recurses per character and overflows on long data URLs).
std::vector<std::string> sources(const std::string& html) {
  std::vector<std::string> values;
  const std::string key = "src=\"";
  for (size_t pos = html.find(key); pos != std::string::npos; pos = html.find(key, pos)) {
    pos += key.size();
    const size_t end = html.find('"', pos);
    if (end == std::string::npos) break;
    values.push_back(html.substr(pos, end - pos));
    pos = end;
  }
  return values;
}

// Every data URL image on the page, decoded.
std::vector<cv::Mat> embedded_images(const std::string& html) {
  std::vector<cv::Mat> images;
  for (const std::string& src : sources(html)) {
    const std::string prefix = "data:image/jpeg;base64,";
    if (src.rfind(prefix, 0) == 0)
      images.push_back(cv::imdecode(base64_decode(src.substr(prefix.size())), cv::IMREAD_UNCHANGED));
  }
  return images;
}

void expect_self_contained(const std::string& html) {
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);  // no CSS fetches either
  // Every src is an embedded JPEG.
  for (const std::string& src : sources(html))
    EXPECT_EQ(src.rfind("data:image/jpeg;base64,", 0), 0u) << src.substr(0, 60);
}

}  // namespace

TEST(CaseReport, Base64KnownVectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  const std::string binary("\x00\xff\x10\x80", 4);
  const std::vector<uint8_t> back = base64_decode(base64_encode(binary));
  EXPECT_EQ(std::string(back.begin(), back.end()), binary);
}

TEST(CaseReport, PageIsSelfContainedWithDecodableImages) {
  Image image;
  image.pixels = cv::Mat(1200, 900, CV_32FC1);
  cv::randu(image.pixels, 0.0, 1.0);
  cv::Mat heat = cv::Mat::zeros(64, 64, CV_32FC1);
  heat(cv::Rect(0, 0, 32, 32)).setTo(1.0);
  CaseReport report;
  report.source_path = "/data/<odd> & name.png";
  report.image = &image;
  report.prediction.probability = 0.73;
  report.prediction.threshold = 0.42;
  report.prediction.label = "PNEUMONIA";
  report.model_name = "test-model";
  report.architecture = "small-cnn";
  report.heatmap01 = heat;
  report.heatmap_method = "gradcam";
  report.similar_requested = true;
  report.similar.push_back({{"/nonexistent/case.png", kNormal, "p1"}, 3, 0.91, std::sqrt(2 - 2 * 0.91)});

  const std::string html = case_report_html(report);
  expect_self_contained(html);
  EXPECT_NE(html.find("&lt;odd&gt; &amp; name.png"), std::string::npos);  // escaped, not raw
  EXPECT_EQ(html.find("<odd>"), std::string::npos);
  EXPECT_NE(html.find("P(pneumonia) = <b>0.7300</b>"), std::string::npos);
  EXPECT_NE(html.find("class=\"marker\" style=\"left:42.00%\""), std::string::npos);
  EXPECT_NE(html.find("class=\"fill\" style=\"width:73.00%\""), std::string::npos);
  EXPECT_NE(html.find("test-model"), std::string::npos);
  EXPECT_NE(html.find("(image unavailable)"), std::string::npos);  // the similar case's file is missing
  EXPECT_NE(html.find("similarity 0.910"), std::string::npos);
  const std::vector<cv::Mat> images = embedded_images(html);
  ASSERT_EQ(images.size(), 2u);  // X-ray and overlay
  for (const cv::Mat& decoded : images) {
    ASSERT_FALSE(decoded.empty());
    EXPECT_EQ(decoded.rows, 800);  // shrunk to the longer side's limit, aspect kept
    EXPECT_EQ(decoded.cols, 600);
  }
  EXPECT_EQ(images[1].channels(), 3);  // colour overlay

  test::TempDir dir;
  report.source_path = dir / "in/chest.png";
  const std::string path = write_case_report(report, dir / "reports");
  EXPECT_EQ(path, dir / "reports/chest.report.html");
  EXPECT_EQ(read_file(path), case_report_html(report));
}

TEST(CaseReport, PredictWritesOneReportPerFileWithSimilarCases) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  test::TempDir dir;
  torch::manual_seed(3);
  ModelMetadata metadata;
  metadata.name = "report-test";
  metadata.spec = complete_spec({"small-cnn", 64, 1, 1});
  metadata.preprocess.input_size = 64;
  const std::string model = dir / "m.psmodel";
  save_model(model, metadata, *create_model(metadata.spec));

  const std::string normal = root + "/train/NORMAL/IM-0115-0001.jpeg";
  const std::string pneumonia = root + "/train/PNEUMONIA/person1000_bacteria_2931.jpeg";
  std::vector<Sample> samples;
  for (const std::string& name :
       {"NORMAL/IM-0117-0001.jpeg", "NORMAL/IM-0119-0001.jpeg", "PNEUMONIA/person1001_bacteria_2932.jpeg",
        "PNEUMONIA/person1000_virus_1681.jpeg"})
    samples.push_back({root + "/train/" + name, label_from_name(name.substr(0, name.find('/'))),
                       patient_from_filename(name), ""});
  write_manifest(dir / "cases.csv", samples);
  const std::string index = dir / "cases.psindex";
  ASSERT_EQ(
      test::run_cli("index build --model " + model + " --data " + (dir / "cases.csv") + " --out " + index)
          .exit_code,
      0);

  const std::string out = dir / "reports";
  const test::CommandResult result = test::run_cli("predict --json --model " + model + " --similar " + index +
                                                   " -k 3 --report " + out + " " + normal + " " + pneumonia);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto predictions = nlohmann::json::parse(result.output).at("predictions");
  ASSERT_EQ(predictions.size(), 2u);
  for (const auto& p : predictions) {
    const std::string path = p.at("report").get<std::string>();
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    const std::string html = read_file(path);
    expect_self_contained(html);
    EXPECT_NE(html.find("report-test"), std::string::npos);
    EXPECT_NE(html.find(p.at("label").get<std::string>()), std::string::npos);
    const std::vector<cv::Mat> images = embedded_images(html);
    // X-ray, overlay, and one thumbnail per similar case.
    ASSERT_EQ(images.size(), 2 + p.at("similar").size()) << path;
    for (const cv::Mat& image : images) EXPECT_FALSE(image.empty()) << path;
  }
  // person1000's other image is not among the pneumonia query's similar cases.
  for (const auto& c : predictions.at(1).at("similar")) EXPECT_NE(c.at("patient"), "person1000");
  EXPECT_EQ(predictions.at(1).at("similar").size(), 3u);
  EXPECT_TRUE(std::filesystem::exists(out + "/IM-0115-0001.report.html"));
  EXPECT_TRUE(std::filesystem::exists(out + "/person1000_bacteria_2931.report.html"));
}
