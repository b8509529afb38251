#include "eval/shift.h"

#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"
#include "core/named.h"
#include "image/encode.h"
#include "image/preprocess.h"

namespace pneumoscan {
namespace {

cv::Mat contrast(const cv::Mat& image, double factor) {
  const double mean = cv::mean(image)[0];
  cv::Mat out;
  image.convertTo(out, CV_8U, factor, mean * (1 - factor));
  return out;
}

cv::Mat blur(const cv::Mat& image, double sigma) {
  cv::Mat out;
  cv::GaussianBlur(image, out, cv::Size(0, 0), sigma);
  return out;
}

cv::Mat noise(const cv::Mat& image, double sigma) {
  cv::RNG rng(20261202);  // the same noise for every call: deterministic evaluation
  cv::Mat n(image.size(), CV_32F), f;
  rng.fill(n, cv::RNG::NORMAL, 0.0, sigma * 255.0);
  image.convertTo(f, CV_32F);
  cv::Mat out;
  cv::Mat(f + n).convertTo(out, CV_8U);
  return out;
}

// Scale about the centre (zoom < 1 shows a wider field with a black border) and rotate.
cv::Mat geometry(const cv::Mat& image, double zoom, double degrees) {
  const cv::Point2f centre(image.cols / 2.0f, image.rows / 2.0f);
  const cv::Mat m = cv::getRotationMatrix2D(centre, degrees, zoom);
  cv::Mat out;
  cv::warpAffine(image, out, m, image.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0));
  return out;
}

cv::Mat jpeg(const cv::Mat& image, int quality) {
  const std::vector<uint8_t> bytes =
      encode_image(image, ".jpg", "JPEG shift", {cv::IMWRITE_JPEG_QUALITY, quality});
  return cv::imdecode(bytes, cv::IMREAD_GRAYSCALE);
}

cv::Mat clahe(const cv::Mat& image) {
  cv::Mat out;
  cv::createCLAHE(2.0, cv::Size(8, 8))->apply(image, out);
  return out;
}

cv::Mat equalize(const cv::Mat& image) {
  cv::Mat out;
  cv::equalizeHist(image, out);
  return out;
}

}  // namespace

const std::vector<AcquisitionShift>& acquisition_shifts() {
  static const std::vector<AcquisitionShift> shifts = {
      {"gamma-0.6", "brighter tone curve (over-exposure, another look-up table)",
       [](const cv::Mat& m) { return apply_gamma_u8(m, 0.6); }},
      {"gamma-1.6", "darker tone curve (under-exposure)",
       [](const cv::Mat& m) { return apply_gamma_u8(m, 1.6); }},
      {"contrast-0.6", "flat, low-contrast image (scatter, older detector)",
       [](const cv::Mat& m) { return contrast(m, 0.6); }},
      {"blur-1.5", "lower spatial resolution (Gaussian sigma 1.5 px at model size)",
       [](const cv::Mat& m) { return blur(m, 1.5); }},
      {"noise-0.04", "quantum noise of a low dose (sigma 4% of full scale)",
       [](const cv::Mat& m) { return noise(m, 0.04); }},
      {"zoom-0.8", "wider collimation: the chest fills 80% of the field",
       [](const cv::Mat& m) { return geometry(m, 0.8, 0.0); }},
      {"zoom-1.2", "tighter collimation: the central 83% of the field",
       [](const cv::Mat& m) { return geometry(m, 1.2, 0.0); }},
      {"rotate-10", "patient rotated by 10 degrees", [](const cv::Mat& m) { return geometry(m, 1.0, 10.0); }},
      {"jpeg-15", "heavy JPEG compression (quality 15)", [](const cv::Mat& m) { return jpeg(m, 15); }},
      {"clahe", "vendor local contrast enhancement (CLAHE, clip 2, 8x8 tiles)",
       [](const cv::Mat& m) { return clahe(m); }},
      {"equalize", "vendor global histogram equalisation", [](const cv::Mat& m) { return equalize(m); }},
  };
  return shifts;
}

const AcquisitionShift& find_shift(const std::string& name) {
  return find_named(acquisition_shifts(), name, "shift");
}

}  // namespace pneumoscan
