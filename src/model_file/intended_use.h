#pragma once
// What a model may be asked about, stored in its model file: the population
// it was trained on (the input gate refuses DICOM studies from outside it) and
// the reference it measures "looks like the training X-rays" against (an
// out-of-distribution score, case/ood.h). Both are optional: a model file
// without them gets the gate's pixel checks only.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pneumoscan {

struct Population {
  std::string description;  // for people: "children aged 1-5 years, one centre (Guangzhou), ..."
  // Inclusive age range in years of the training population; nullopt = not stated.
  std::optional<std::pair<int, int>> age_years;
  // Accepted DICOM values (upper case); empty = any. A study whose attribute is
  // absent is not refused for it.
  std::vector<std::string> modalities;  // e.g. CR, DX
  std::vector<std::string> views;       // ViewPosition, e.g. AP, PA
  std::vector<std::string> body_parts;  // BodyPartExamined, e.g. CHEST

  bool stated() const {
    return !description.empty() || age_years || !modalities.empty() || !views.empty() || !body_parts.empty();
  }
};

// How the out-of-distribution score was fitted (the reference embeddings
// themselves are a tensor in the model file, LoadedModel::ood_reference).
struct OodReference {
  int k = 5;                // neighbours averaged
  double limit = 0;         // score above which an image is out of distribution
  double pass_rate = 0.99;  // share of the fitting validation X-rays at or below `limit`
  int64_t references = 0;   // rows of the reference tensor
  int64_t dimension = 0;    // its columns (the embedding width)
  std::string fitted_on;    // the data it was fitted on, for people
  nlohmann::json record = nlohmann::json::object();  // validation figures of the fit

  bool present() const { return references > 0; }
};

struct IntendedUse {
  Population population;
  OodReference ood;
};

// {"population": {...}, "ood": {...}}; empty sections are left out.
nlohmann::json to_json(const IntendedUse& use);
// Validates; throws ModelFileError(source, ...) for a malformed section
// (age range reversed or outside 0-130, k outside 1-100, limit not finite, ...).
IntendedUse intended_use_from_json(const nlohmann::json& json, const std::string& source);

// Parses "1-5" (or "18") into an inclusive age range; throws UsageError.
std::pair<int, int> parse_age_range(const std::string& text);

}  // namespace pneumoscan
