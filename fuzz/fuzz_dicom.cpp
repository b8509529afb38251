// libFuzzer target: DICOM datasets. Inputs without the Part 10 preamble get
// one, so that mutations stay on the DCMTK path (the image target would sniff
// most of them as "not an image"). Covers what the DICOM node does with a
// received dataset: the same decode_dicom_dataset after DCMTK parsed it.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/errors.h"
#include "image/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes;
  if (size < 132 || std::memcmp(data + 128, "DICM", 4) != 0) {
    bytes.assign(128, 0);
    bytes.insert(bytes.end(), {'D', 'I', 'C', 'M'});
  }
  bytes.insert(bytes.end(), data, data + size);
  try {
    const pneumoscan::Image image = pneumoscan::decode_image_bytes(bytes, "fuzz.dcm");
    pneumoscan::check_diagnosable(image, "fuzz.dcm");
  } catch (const pneumoscan::Error&) {
  }
  return 0;
}
