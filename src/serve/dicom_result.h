#pragma once
// The result object the DICOM node stores and forwards for each analysed
// X-ray: a Secondary Capture image (RGB) in the source's study, showing the
// X-ray (with the Grad-CAM overlay when there is one) and the model's verdict
// burnt into a banner. The patient and study modules are copied from the
// source so that a PACS files it with the original; that copy lives only in
// the DICOM object, never in logs or JSON.
#include <dcmtk/config/osconfig.h>  // must come first among DCMTK headers
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcfilefo.h>

#include <memory>
#include <opencv2/core.hpp>
#include <string>

#include "image/image.h"

namespace pneumoscan {

struct TriageVerdict {
  double probability = 0;  // P(pneumonia)
  std::string label;       // "PNEUMONIA" or "NORMAL"
  double threshold = 0.5;
  std::string model_name;
  std::string explanation;  // "gradcam" or "" (no overlay)
  // Set when the input gate refused the image: why, in words; the probability,
  // label and threshold are then meaningless and never shown.
  std::string refusal;
  // The gate's warnings and the uncertainty, shown beside a diagnosis ("" = none).
  std::string caveat;
};

// One line describing the verdict, e.g. "P(pneumonia)=0.8734 PNEUMONIA (threshold 0.5000; model
// small-cnn; Grad-CAM overlay). Not for diagnostic use." or, refused, "Not analysed: <why> (model
// small-cnn). Not for diagnostic use." Used for the banner and ImageComments.
std::string verdict_text(const TriageVerdict& verdict);

// The picture: the X-ray in gray at its original size, blended with
// `heatmap01` (any size, [0, 1]) when it is not empty, with a black banner
// on top carrying verdict_text. RGB (not BGR), CV_8UC3.
cv::Mat render_verdict_picture(const Image& xray, const cv::Mat& heatmap01, const TriageVerdict& verdict);

// A new Secondary Capture dataset for `rgb` (CV_8UC3, RGB): same Study
// Instance UID and patient/study attributes as `source`, a new Series and
// SOP Instance UID, a Source Image Sequence pointing at the source image.
// Throws InputError when `source` has no Study Instance UID.
std::unique_ptr<DcmFileFormat> make_secondary_capture(DcmDataset& source, const cv::Mat& rgb,
                                                      const TriageVerdict& verdict);

// Saves `file` as a Part 10 file (explicit VR little endian), atomically.
// Throws IoError naming `path`.
void save_dicom_file(DcmFileFormat& file, const std::string& path);

}  // namespace pneumoscan
