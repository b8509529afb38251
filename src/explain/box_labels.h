#pragma once
// Boxes a radiologist drew on X-rays, read from a CSV file, to score heatmaps
// against (box_scores.h): RSNA's layout, one row per box,
//   patientId,x,y,width,height,Target
// where rows with Target 0 (or empty box fields) name images without boxes.
// The image column may also be called "file", "image" or "path"; its value
// is matched to X-ray files by stem (folders and extension dropped). Boxes are
// in the original image's pixels.
#include <map>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace pneumoscan {

// Boxes by image stem; images listed without boxes map to an empty list.
using BoxLabels = std::map<std::string, std::vector<cv::Rect2d>>;

// Throws InputError(csv_path, "line N: ...") for a missing column, a value
// that is not a finite number, a negative x or y, or a width or height that
// is not positive; IoError when the file cannot be read.
BoxLabels read_box_labels(const std::string& csv_path);

// "IM-0001.dcm", "a/b/IM-0001" -> "IM-0001".
std::string image_stem(const std::string& path);

}  // namespace pneumoscan
