// Per-image quality measures and the threaded decode-and-measure scan.
#include "image/quality.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"
#include "core/hash.h"
#include "core/parallel.h"

namespace pneumoscan {

ImageQuality measure_quality(const Image& image) {
  ImageQuality q;
  q.width = image.width();
  q.height = image.height();
  if (image.pixels.empty()) return q;

  cv::Scalar mean, stddev;
  cv::meanStdDev(image.pixels, mean, stddev);
  q.mean = mean[0];
  q.stddev = stddev[0];
  cv::minMaxLoc(image.pixels, &q.min, &q.max);

  const cv::Mat u8 = to_u8(image);  // continuous (freshly allocated)
  uint64_t hash = fnv1a64(u8.data, u8.total() * u8.elemSize());
  const int32_t dims[2] = {q.width, q.height};
  hash = fnv1a64(dims, sizeof dims, hash);
  q.pixel_hash = hash;

  const int work_h = std::max(
      1, static_cast<int>(std::lround(static_cast<double>(q.height) * kQualityWorkingWidth / q.width)));
  cv::Mat work;
  cv::resize(u8, work, cv::Size(kQualityWorkingWidth, work_h), 0, 0, cv::INTER_AREA);
  cv::Mat laplacian;
  cv::Laplacian(work, laplacian, CV_64F);
  cv::Scalar lap_mean, lap_std;
  cv::meanStdDev(laplacian, lap_mean, lap_std);
  q.laplacian_variance = lap_std[0] * lap_std[0];
  return q;
}

std::vector<ImageScan> scan_images(const std::vector<std::string>& paths, int threads,
                                   const std::function<void(size_t, size_t)>& progress) {
  std::vector<ImageScan> results(paths.size());
  parallel_for(
      paths.size(), threads,
      [&](size_t i) {
        ImageScan& r = results[i];
        r.path = paths[i];
        try {
          const Image image = decode_image(paths[i]);
          r.quality = measure_quality(image);
          r.format = image.format;
          r.bits_stored = image.bits_stored;
          r.dicom = image.dicom;
          r.ok = true;
        } catch (const Error& e) {
          r.error = e.what();
        } catch (const cv::Exception& e) {
          r.error = paths[i] + ": OpenCV error while decoding (" + e.err + ")";
        } catch (const std::bad_alloc&) {
          r.error = paths[i] + ": out of memory while decoding";
        } catch (const std::exception& e) {  // one file's failure is that file's result
          r.error = paths[i] + ": " + e.what();
        }
      },
      progress);
  return results;
}

}  // namespace pneumoscan
