// Tests of src/explain/box_scores, and the pointing game of the bundled
// model's Grad-CAM on the RSNA DICOMs with opacity boxes.
#include <cmath>
#include <iterator>

#include "core/errors.h"
#include "explain/box_labels.h"
#include "explain/box_scores.h"
#include "explain/heatmap.h"
#include "image/image.h"
#include "infer/predictor.h"
#include "test_support.h"

using namespace pneumoscan;

TEST(BoxScores, HandComputedMap) {
  // 10 x 10 map over a 100 x 200 image (W x H); box covers the top-left quarter.
  cv::Mat map = cv::Mat::zeros(10, 10, CV_32F);
  map.at<float>(2, 2) = 1.0f;  // inside
  map.at<float>(8, 8) = 0.5f;  // outside
  const BoxScore s = score_heatmap(map, cv::Size(100, 200), {cv::Rect2d(0, 0, 50, 100)});
  EXPECT_TRUE(s.hit);
  EXPECT_NEAR(s.mass_inside, 1.0 / 1.5, 1e-6);
  EXPECT_NEAR(s.area_share, 0.25, 1e-9);
  map.at<float>(8, 8) = 2.0f;  // the maximum moves outside
  EXPECT_FALSE(score_heatmap(map, cv::Size(100, 200), {cv::Rect2d(0, 0, 50, 100)}).hit);
  EXPECT_THROW(score_heatmap(map, cv::Size(100, 200), {}), UsageError);
  EXPECT_EQ(score_heatmap(cv::Mat::zeros(4, 4, CV_32F), cv::Size(8, 8), {cv::Rect2d(0, 0, 4, 4)}).mass_inside,
            0.0);
}

// Grad-CAM of the bundled model on adult X-rays with opacity boxes: prints
// the pointing game and the mass inside the boxes next to the boxes' share
// of the image (what a map that ignored the opacities would score) for the
// model card. The bundled ensemble points at the opacities on these adults
// only sometimes (session 19: 2 of 5 hits, mass 0.166 against a share of
// 0.111; the 4-epoch default of sessions 7-18: 0 of 5, 0.105; see
// models/MODEL_CARD.md), so the test asserts that every case gets a real,
// non-empty map and records the figures; the pointing target is an open item
// of issue 9.
TEST(BoxScores, DefaultModelGradCamPointsAtOpacities) {
  PNEUMOSCAN_REQUIRE_SHARED(folder, "data/dicom/rsna");
  BoxLabels boxes = read_box_labels(folder + "/labels.csv");
  for (auto it = boxes.begin(); it != boxes.end();) it = it->second.empty() ? boxes.erase(it) : std::next(it);
  ASSERT_EQ(boxes.size(), 5u);
  Predictor predictor(default_model_path());
  BoxScoreSummary summary;
  for (const auto& [id, rects] : boxes) {
    const Image image = decode_image(folder + "/" + id + ".dcm");
    const Heatmap h = explain(predictor.net(), predictor.input_tensor(image), ExplainMethod::kGradCam);
    const BoxScore s = score_heatmap(h.map, cv::Size(image.width(), image.height()), rects);
    std::printf("[ pointing ] %s hit %d mass inside %.3f box share %.3f p(pneumonia) %.3f\n", id.c_str(),
                s.hit ? 1 : 0, s.mass_inside, s.area_share, h.probability);
    EXPECT_GT(cv::norm(h.map, cv::NORM_INF), 0.0) << id << ": empty heatmap";
    EXPECT_GE(s.mass_inside, 0.0);
    EXPECT_LE(s.mass_inside, 1.0);
    EXPECT_TRUE(std::isfinite(h.probability));
    summary.add(s);
  }
  std::printf("[ pointing ] %d of %d hits; mean mass inside %.3f vs box share %.3f\n", summary.hits,
              summary.cases, summary.mean_mass_inside(), summary.mean_area_share());
  RecordProperty("pointing_hits", summary.hits);
  RecordProperty("mass_inside_permille", static_cast<int>(summary.mean_mass_inside() * 1000));
}
