#pragma once
// Does a heatmap point where a radiologist drew? Scores against boxes in the
// original image's pixels: the pointing game (the map's maximum lies inside a
// box) and the share of the map's mass inside the boxes, next to the boxes'
// share of the image (what a map spread evenly would score).
#include <opencv2/core.hpp>
#include <vector>

namespace pneumoscan {

struct BoxScore {
  bool hit = false;        // the maximum falls inside a box
  double mass_inside = 0;  // sum of the map inside the boxes / sum of the map (0 for an all-zero map)
  double area_share = 0;   // the boxes' share of the image (union)
};

// Scores over several images: the pointing game's hits, and the mean mass
// inside the boxes beside the mean share of the images they cover.
struct BoxScoreSummary {
  int cases = 0;
  int hits = 0;
  double mass_inside_sum = 0;
  double area_share_sum = 0;

  void add(const BoxScore& score) {
    ++cases;
    hits += score.hit ? 1 : 0;
    mass_inside_sum += score.mass_inside;
    area_share_sum += score.area_share;
  }
  double mean_mass_inside() const { return cases ? mass_inside_sum / cases : 0; }
  double mean_area_share() const { return cases ? area_share_sum / cases : 0; }
};

// `heatmap`: CV_32FC1 >= 0 at any size, stretched over the whole image of
// `image_size` (as the model's square input is). `boxes` in image pixels.
// Throws UsageError for an empty map or image size, or no boxes.
BoxScore score_heatmap(const cv::Mat& heatmap, cv::Size image_size, const std::vector<cv::Rect2d>& boxes);

}  // namespace pneumoscan
