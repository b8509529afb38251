#pragma once
// The intended-use gate: may this model judge this image? Every finding is a
// reason a person understands ("patient age 58 years is outside the model's
// population (ages 1-5)"), with a severity: `warn` still gives a diagnosis
// with the warning beside it, `refuse` gives none. The checks here need no
// network; the out-of-distribution score (case/ood.h) is added by the case
// analysis, which owns the network.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "image/image.h"
#include "model_file/intended_use.h"

namespace pneumoscan {

enum class GateStatus { kOk = 0, kWarn = 1, kRefuse = 2 };
std::string to_string(GateStatus status);  // "ok", "warn", "refuse"

struct GateReason {
  std::string code;  // stable identifier: modality, view, age, body_part, too_small, blank,
                     // low_contrast, colour, out_of_distribution, inverted
  GateStatus severity = GateStatus::kWarn;
  std::string message;  // one sentence, no file name, never a patient name or ID
};

struct GateResult {
  GateStatus status = GateStatus::kOk;  // the worst severity among the reasons
  std::vector<GateReason> reasons;
  // The out-of-distribution score and the model's limit, when the model has a reference.
  std::optional<double> ood_score;
  double ood_limit = 0;

  void add(std::string code, GateStatus severity, std::string message);
  bool refused() const { return status == GateStatus::kRefuse; }
  bool has(const std::string& code) const;
  // The reasons' messages joined with "; " (for one-line outputs).
  std::string summary() const;
};

// {"status", "reasons": [{"code", "severity", "message"}], "ood_score"?, "ood_limit"?}
nlohmann::json to_json(const GateResult& gate);

// At or above this colourfulness (image.h) a picture is a colour picture, not a
// radiograph: a gray picture saved as a colour JPEG stays under 2 (tested); the
// ImageNet check photos score 38 and more.
inline constexpr double kRefuseColourfulness = 12.0;
// Below this pixel standard deviation ([0, 1] scale) an image is too flat to
// read (a near-blank frame, a failed exposure).
inline constexpr double kMinPixelSpread = 0.03;

// Below this share of the pixel variance surviving a Gaussian blur (sigma 3 px
// at 256 x 256) an image is noise: white noise keeps about 1 %; radiographs,
// smooth anatomy, keep most of it (none of the README's validation or held-out
// X-rays fell under it).
inline constexpr double kMinStructure = 0.25;
// Above this (mean of the central strip minus the mean of the two lung fields,
// [0, 1] scale) a frontal chest X-ray has its usual polarity: bones and
// mediastinum bright, aerated lungs dark. A negative reads far below it.
inline constexpr double kMinMediastinumContrast = -0.03;

struct PixelLayout {
  double structure = 0;             // share of the variance left after blurring
  double mediastinum_contrast = 0;  // central strip minus lung fields
};
// Measured on the image resized to 256 x 256 (any non-empty image).
PixelLayout measure_pixel_layout(const Image& image);

// The X-ray modalities accepted when the model states none.
const std::vector<std::string>& default_xray_modalities();

// Findings from the DICOM header (nothing for non-DICOM input) against the
// model's population: modality not an X-ray (or not the population's), view
// not frontal (lateral, or not one of the population's views), body part not
// the chest, age outside the population's range. Absent attributes are not
// findings; the header is never quoted beyond these attributes.
void check_dicom_attributes(const Image& image, const Population& population, GateResult& gate);

// Findings from the pixels alone: smaller than kMinDiagnosticSide, blank,
// nearly flat (standard deviation under kMinPixelSpread), noise (structure
// under kMinStructure), inverted layout (mediastinum contrast under
// kMinMediastinumContrast), a colour picture.
void check_pixels(const Image& image, GateResult& gate);

}  // namespace pneumoscan
