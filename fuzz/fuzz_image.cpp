// libFuzzer target: any bytes as an uploaded or opened X-ray file (PNG, JPEG,
// BMP, TIFF, DICOM, OpenCV's other formats), through the same decode and
// refusal path as predict and the HTTP service. Only pneumoscan::Error may
// escape the library; anything else (std::bad_alloc, cv::Exception, a crash,
// a sanitizer report) is a finding.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/errors.h"
#include "image/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  try {
    const pneumoscan::Image image = pneumoscan::decode_image_bytes(bytes, "fuzz");
    pneumoscan::check_diagnosable(image, "fuzz");
    (void)pneumoscan::to_u8(image);
  } catch (const pneumoscan::Error&) {
  }
  return 0;
}
