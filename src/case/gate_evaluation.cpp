#include "case/gate_evaluation.h"

#include <algorithm>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <set>

#include "case/ood.h"
#include "core/errors.h"
#include "core/text.h"
#include "data/sample.h"

namespace pneumoscan {
namespace fs = std::filesystem;
namespace {

bool is_image_file(const fs::path& path) {
  std::string ext = path.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".dcm" || ext == ".bmp" ||
         ext == ".tif" || ext == ".tiff";
}

GateCase file_case(const std::string& path, int label) {
  return {path, label, [path] { return decode_image(path); }};
}

Image from_u8(const cv::Mat& pixels, const std::string& format = "generated") {
  Image image;
  image.format = format;
  if (pixels.channels() == 3) {
    // As a decoder would see a colour file: its colourfulness, then gray.
    std::vector<uint8_t> png;
    cv::imencode(".png", pixels, png);
    return decode_image_bytes(png, "generated");
  }
  pixels.convertTo(image.pixels, CV_32F, 1.0 / 255.0);
  return image;
}

cv::Mat noise_image(int kind, uint64_t seed) {
  cv::RNG rng(seed);
  cv::Mat m(512, 512, CV_8UC1);
  if (kind == 0) {
    rng.fill(m, cv::RNG::UNIFORM, 0, 256);
  } else {
    rng.fill(m, cv::RNG::NORMAL, 128, 40);
    if (kind == 2) cv::GaussianBlur(m, m, cv::Size(0, 0), 12);
    if (kind == 2) cv::normalize(m, m, 0, 255, cv::NORM_MINMAX);
  }
  return m;
}

cv::Mat document_image(uint64_t seed) {
  std::mt19937_64 random(seed);
  cv::Mat page(1100, 850, CV_8UC1, cv::Scalar(245));
  const char* words[] = {"patient",  "report",  "findings",   "the",   "of",   "and",
                         "chest",    "normal",  "impression", "study", "date", "results",
                         "clinical", "history", "no",         "acute"};
  for (int y = 80; y < 1040; y += 34) {
    std::string line;
    const int n = 4 + static_cast<int>(random() % 8);
    for (int w = 0; w < n; ++w) line += std::string(words[random() % 16]) + " ";
    cv::putText(page, line, cv::Point(60, y), cv::FONT_HERSHEY_SIMPLEX, 0.8, cv::Scalar(20), 2, cv::LINE_AA);
  }
  return page;
}

cv::Mat screenshot_image(uint64_t seed) {
  std::mt19937_64 random(seed);
  cv::Mat screen(768, 1024, CV_8UC3, cv::Scalar(60, 60, 60));
  cv::rectangle(screen, cv::Rect(0, 0, 1024, 40), cv::Scalar(200, 120, 40), cv::FILLED);  // title bar
  cv::rectangle(screen, cv::Rect(0, 40, 220, 728), cv::Scalar(90, 90, 90), cv::FILLED);   // side panel
  for (int y = 80; y < 740; y += 30)
    cv::putText(screen, "item " + std::to_string(random() % 1000), cv::Point(16, y), cv::FONT_HERSHEY_SIMPLEX,
                0.6, cv::Scalar(230, 230, 230), 1, cv::LINE_AA);
  cv::rectangle(screen, cv::Rect(260, 80, 720, 600), cv::Scalar(30, 30, 30), cv::FILLED);
  cv::circle(screen, cv::Point(620, 380), 150 + static_cast<int>(random() % 80), cv::Scalar(160, 160, 160),
             cv::FILLED);
  return screen;
}

Image altered(const Image& image, const std::string& how) {
  Image out = image;
  if (how == "rotated90") {
    cv::rotate(image.pixels, out.pixels, cv::ROTATE_90_CLOCKWISE);
  } else if (how == "upside-down") {
    cv::rotate(image.pixels, out.pixels, cv::ROTATE_180);
  } else if (how == "cropped") {
    const int w = std::max(1, image.width() * 3 / 10), h = std::max(1, image.height() * 3 / 10);
    out.pixels = image.pixels(cv::Rect((image.width() - w) / 2, (image.height() - h) / 2, w, h)).clone();
  } else {
    out.pixels = 1.0 - image.pixels;
  }
  return out;
}

}  // namespace

GateSet files_set(const std::string& name, const std::string& path, const std::string& split) {
  GateSet set{name, {}};
  std::error_code ec;
  if (fs::is_regular_file(path, ec) && fs::path(path).extension() != ".csv") {
    set.cases.push_back(file_case(path, -1));
    return set;
  }
  std::vector<Sample> samples;
  try {
    samples = read_dataset(path);
  } catch (const InputError&) {  // not a data set: every image file below it, unlabelled
    if (!fs::is_directory(path, ec)) throw InputError(path, "not a file, folder or manifest");
    std::vector<std::string> files;
    for (const auto& entry : fs::recursive_directory_iterator(path, ec))
      if (entry.is_regular_file() && is_image_file(entry.path())) files.push_back(entry.path().string());
    std::sort(files.begin(), files.end());
    for (const std::string& file : files) set.cases.push_back(file_case(file, -1));
    return set;
  }
  if (!split.empty()) samples = select_split(samples, split);
  for (const Sample& s : samples) set.cases.push_back(file_case(s.path, s.label));
  if (set.cases.empty()) throw InputError(path, "no images" + (split.empty() ? "" : " in split " + split));
  return set;
}

std::vector<GateSet> generated_non_xray_sets(int count, uint64_t seed) {
  GateSet noise{"noise", {}}, documents{"documents", {}}, screenshots{"screenshots", {}};
  for (int i = 0; i < count; ++i) {
    const uint64_t s = seed * 1000 + static_cast<uint64_t>(i);
    noise.cases.push_back(
        {"noise-" + std::to_string(i), -1, [i, s] { return from_u8(noise_image(i % 3, s)); }});
    documents.cases.push_back(
        {"document-" + std::to_string(i), -1, [s] { return from_u8(document_image(s)); }});
    screenshots.cases.push_back(
        {"screenshot-" + std::to_string(i), -1, [s] { return from_u8(screenshot_image(s)); }});
  }
  return {noise, documents, screenshots};
}

std::vector<GateSet> altered_xray_sets(const GateSet& xrays, int count) {
  std::vector<GateSet> sets;
  for (const std::string how : {"rotated90", "upside-down", "cropped", "inverted"}) {
    GateSet set{xrays.name + "-" + how, {}};
    for (size_t i = 0; i < xrays.cases.size() && static_cast<int>(i) < count; ++i) {
      const GateCase& original = xrays.cases[i];
      set.cases.push_back({original.name + " (" + how + ")", original.label,
                           [load = original.load, how] { return altered(load(), how); }});
    }
    sets.push_back(std::move(set));
  }
  return sets;
}

GateSetFigures evaluate_gate_set(CaseAnalyzer& analyzer, const GateSet& set,
                                 const std::function<void(const std::string&, size_t, size_t)>& progress) {
  GateSetFigures f;
  f.name = set.name;
  for (const GateCase& c : set.cases) {
    ++f.images;
    try {
      CaseRequest request;
      request.name = c.name;
      const CaseResult result = analyzer.analyse(c.load(), request);
      if (result.gate.ood_score) f.ood_scores.push_back(*result.gate.ood_score);
      (result.gate.status == GateStatus::kOk ? f.passed : result.refused() ? f.refused : f.warned)++;
      std::set<std::string> codes;  // a case counts once per reason
      for (const GateReason& r : result.gate.reasons) codes.insert(r.code);
      for (const std::string& code : codes) ++f.reasons[code];
      if (result.prediction && c.label >= 0) {
        const bool error =
            (result.prediction->probability >= result.prediction->threshold) != (c.label == kPneumonia);
        const bool uncertain = result.uncertainty && result.uncertainty->uncertain;
        (uncertain ? f.uncertain : f.certain)++;
        if (error) (uncertain ? f.uncertain_errors : f.certain_errors)++;
      }
    } catch (const Error&) {
      ++f.failed;
    }
    if (progress) progress(set.name, f.images, set.cases.size());
  }
  return f;
}

nlohmann::json to_json(const GateSetFigures& f) {
  const auto share = [&](size_t n) { return f.images == 0 ? 0.0 : static_cast<double>(n) / f.images; };
  nlohmann::json json = {{"set", f.name},
                         {"images", f.images},
                         {"failed", f.failed},
                         {"passed", share(f.passed)},
                         {"warned", share(f.warned)},
                         {"refused", share(f.refused)},
                         {"reasons", f.reasons},
                         {"certain", f.certain},
                         {"certain_errors", f.certain_errors},
                         {"uncertain", f.uncertain},
                         {"uncertain_errors", f.uncertain_errors}};
  if (!f.ood_scores.empty()) json["median_ood_score"] = quantile(f.ood_scores, 0.5);
  return json;
}

std::string to_text(const GateSetFigures& f) {
  const auto pct = [&](size_t n) { return f.images == 0 ? 0.0 : 100.0 * static_cast<double>(n) / f.images; };
  std::string reasons;
  for (const auto& [code, n] : f.reasons)
    reasons += (reasons.empty() ? "" : ", ") + code + " " + std::to_string(n);
  std::string line = format_string("%-28s n=%-5zu passed %5.1f%%  warned %5.1f%%  refused %5.1f%%",
                                   f.name.c_str(), f.images, pct(f.passed), pct(f.warned), pct(f.refused));
  if (!f.ood_scores.empty()) line += format_string("  median OOD %.3f", quantile(f.ood_scores, 0.5));
  if (f.certain + f.uncertain > 0)
    line += format_string("  errors: certain %zu/%zu, uncertain %zu/%zu", f.certain_errors, f.certain,
                          f.uncertain_errors, f.uncertain);
  if (f.failed > 0) line += format_string("  failed %zu", f.failed);
  if (!reasons.empty()) line += "  [" + reasons + "]";
  return line;
}

}  // namespace pneumoscan
