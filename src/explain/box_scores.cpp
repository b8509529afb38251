#include "explain/box_scores.h"

#include <opencv2/imgproc.hpp>

#include "core/errors.h"

namespace pneumoscan {

BoxScore score_heatmap(const cv::Mat& heatmap, cv::Size image_size, const std::vector<cv::Rect2d>& boxes) {
  if (heatmap.empty() || heatmap.type() != CV_32FC1) throw UsageError("box scores: expected a float heatmap");
  if (image_size.width <= 0 || image_size.height <= 0) throw UsageError("box scores: empty image size");
  if (boxes.empty()) throw UsageError("box scores: no boxes");
  // The union of the boxes as a mask at the heatmap's size.
  cv::Mat mask = cv::Mat::zeros(heatmap.size(), CV_8U);
  const double sx = static_cast<double>(heatmap.cols) / image_size.width;
  const double sy = static_cast<double>(heatmap.rows) / image_size.height;
  for (const cv::Rect2d& box : boxes) {
    const cv::Point top_left(cvRound(box.x * sx), cvRound(box.y * sy));
    const cv::Point bottom_right(cvRound((box.x + box.width) * sx) - 1,
                                 cvRound((box.y + box.height) * sy) - 1);
    cv::rectangle(mask, top_left, bottom_right, cv::Scalar(255), cv::FILLED);
  }
  BoxScore score;
  score.area_share = static_cast<double>(cv::countNonZero(mask)) / static_cast<double>(mask.total());
  double max_value = 0;
  cv::Point max_at;
  cv::minMaxLoc(heatmap, nullptr, &max_value, nullptr, &max_at);
  score.hit = max_value > 0 && mask.at<uint8_t>(max_at) != 0;
  const double total = cv::sum(heatmap)[0];
  cv::Mat weight;
  mask.convertTo(weight, CV_32F, 1.0 / 255);
  score.mass_inside = total > 0 ? cv::sum(heatmap.mul(weight))[0] / total : 0.0;
  return score;
}

}  // namespace pneumoscan
