#include "data/sample.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>

#include "core/atomic_file.h"
#include "core/csv.h"
#include "core/errors.h"
#include "core/text.h"

namespace pneumoscan {
namespace fs = std::filesystem;

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Consumes one or more digits at `pos`; returns the position after them or npos.
size_t skip_digits(const std::string& text, size_t pos) {
  const size_t start = pos;
  while (pos < text.size() && is_digit(text[pos])) ++pos;
  return pos == start ? std::string::npos : pos;
}

bool starts_with(const std::string& text, size_t pos, const std::string& prefix) {
  return text.compare(pos, prefix.size(), prefix) == 0;
}

// "person<digits>_(bacteria|virus)_..." -> "person<digits>".
std::optional<std::string> person_patient(const std::string& stem) {
  if (!starts_with(stem, 0, "person")) return std::nullopt;
  const size_t end = skip_digits(stem, 6);
  if (end == std::string::npos) return std::nullopt;
  if (!starts_with(stem, end, "_bacteria_") && !starts_with(stem, end, "_virus_")) return std::nullopt;
  return stem.substr(0, end);
}

// "[NORMAL<digits>-]IM-<digits>-<digits>[-<digits>...]" -> "[NORMAL<digits>-]IM-<digits>".
std::optional<std::string> im_patient(const std::string& stem) {
  size_t pos = 0;
  if (starts_with(stem, 0, "NORMAL")) {
    pos = skip_digits(stem, 6);
    if (pos == std::string::npos || !starts_with(stem, pos, "-")) return std::nullopt;
    ++pos;
  }
  if (!starts_with(stem, pos, "IM-")) return std::nullopt;
  const size_t patient_end = skip_digits(stem, pos + 3);
  if (patient_end == std::string::npos) return std::nullopt;
  // At least one image number must follow, and only "-<digits>" groups.
  size_t cursor = patient_end;
  int groups = 0;
  while (cursor < stem.size()) {
    if (stem[cursor] != '-') return std::nullopt;
    cursor = skip_digits(stem, cursor + 1);
    if (cursor == std::string::npos) return std::nullopt;
    ++groups;
  }
  if (groups == 0) return std::nullopt;
  return stem.substr(0, patient_end);
}

const char* const kSplitNames[] = {"train", "val", "test"};

bool is_split_name(const std::string& name) {
  for (const char* split : kSplitNames)
    if (name == split) return true;
  return false;
}

bool is_image_file(const fs::path& path) {
  static const char* const kExtensions[] = {".jpeg", ".jpg", ".png", ".bmp", ".tif", ".tiff", ".dcm"};
  const std::string extension = lowercase(path.extension().string());
  for (const char* known : kExtensions)
    if (extension == known) return true;
  return false;
}

bool is_hidden(const fs::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name[0] == '.';
}

// Sub-folders of `folder` sorted by name, hidden ones skipped.
std::vector<fs::path> sorted_subfolders(const fs::path& folder) {
  std::vector<fs::path> result;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    if (is_hidden(it->path())) continue;
    std::error_code type_ec;
    if (it->is_directory(type_ec)) result.push_back(it->path());
  }
  if (ec) throw InputError(folder.string(), "cannot list folder: " + ec.message());
  std::sort(result.begin(), result.end());
  return result;
}

// Class folders (NORMAL/PNEUMONIA, any case) directly inside `folder`, in class order then name.
std::vector<std::pair<int, fs::path>> class_folders(const fs::path& folder) {
  std::vector<std::pair<int, fs::path>> result;
  for (const fs::path& sub : sorted_subfolders(folder)) {
    const std::string name = lowercase(sub.filename().string());
    if (name == "normal") result.emplace_back(kNormal, sub);
    if (name == "pneumonia") result.emplace_back(kPneumonia, sub);
  }
  std::stable_sort(result.begin(), result.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  return result;
}

void append_class_folder(const fs::path& folder, int label, const std::string& split,
                         std::vector<Sample>& out) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& path = it->path();
    if (is_hidden(path) || !is_image_file(path)) continue;
    std::error_code type_ec;
    if (it->is_regular_file(type_ec)) files.push_back(path);
  }
  if (ec) throw InputError(folder.string(), "cannot list folder: " + ec.message());
  std::sort(files.begin(), files.end());
  for (const fs::path& path : files) {
    Sample sample;
    sample.path = path.string();
    sample.label = label;
    if (label == kPneumonia) sample.pneumonia_type = pneumonia_type_from_filename(sample.path);
    sample.patient = patient_from_filename(sample.path);
    sample.split = split;
    out.push_back(std::move(sample));
  }
}

}  // namespace

int label_from_name(const std::string& name) {
  const std::string key = lowercase(trim(name));
  if (key == "normal" || key == "0") return kNormal;
  if (key == "pneumonia" || key == "1" || key == "bacterial" || key == "viral") return kPneumonia;
  return -1;
}

std::string pneumonia_type_from_filename(const std::string& path) {
  const std::string stem = lowercase(fs::path(path).stem().string());
  if (stem.find("_bacteria_") != std::string::npos) return "BACTERIAL";
  if (stem.find("_virus_") != std::string::npos) return "VIRAL";
  return "";
}

int class_index(const Sample& sample, const std::vector<std::string>& class_names) {
  if (sample.label == kNormal) return 0;
  if (sample.label != kPneumonia) return -1;
  if (class_names.size() == 2) return 1;
  for (size_t i = 1; i < class_names.size(); ++i)
    if (class_names[i] == sample.pneumonia_type) return static_cast<int>(i);
  return -1;
}

std::vector<std::string> validate_class_names(const std::vector<std::string>& names) {
  std::vector<std::string> upper;
  for (const auto& name : names) {
    const std::string u = uppercase(trim(name));
    if (u.empty()) throw UsageError("empty class name in the class list");
    if (std::find(upper.begin(), upper.end(), u) != upper.end())
      throw UsageError("class '" + u + "' named twice");
    upper.push_back(u);
  }
  if (upper.size() < 2 || upper.front() != "NORMAL")
    throw UsageError(
        "a class list starts with NORMAL and has at least two classes (normal,pneumonia or "
        "normal,bacterial,viral)");
  if (upper.size() == 2 && upper[1] != "PNEUMONIA")
    throw UsageError("a binary class list is normal,pneumonia");
  for (size_t i = 1; upper.size() > 2 && i < upper.size(); ++i)
    if (upper[i] != "BACTERIAL" && upper[i] != "VIRAL")
      throw UsageError("unknown pneumonia type '" + upper[i] + "' (bacterial, viral)");
  return upper;
}

std::string patient_from_filename(const std::string& path) {
  const std::string stem = fs::path(path).stem().string();
  if (auto patient = person_patient(stem)) return *patient;
  if (auto patient = im_patient(stem)) return *patient;
  return stem;
}

std::vector<Sample> read_folder(const std::string& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw InputError(root, "not a folder");
  std::vector<Sample> samples;
  bool split_layout = false;
  // Splits in the fixed order train, val, test; folder names case-insensitive.
  const std::vector<fs::path> subfolders = sorted_subfolders(root);
  for (const char* split : kSplitNames) {
    for (const fs::path& sub : subfolders) {
      if (lowercase(sub.filename().string()) != split) continue;
      const auto classes = class_folders(sub);
      if (!classes.empty()) split_layout = true;
      for (const auto& [label, folder] : classes) append_class_folder(folder, label, split, samples);
    }
  }
  if (split_layout) return samples;
  const auto classes = class_folders(root);
  if (classes.empty()) {
    // A plain folder of images (a DICOM export, say): unlabelled samples, fine for qc, eda and predict.
    append_class_folder(root, -1, "", samples);
    if (samples.empty())
      throw InputError(root, "expected train/val/test or NORMAL/PNEUMONIA folders, or image files");
    return samples;
  }
  for (const auto& [label, folder] : classes) append_class_folder(folder, label, "", samples);
  return samples;
}

std::vector<Sample> read_manifest(const std::string& csv_path) {
  const std::vector<CsvRecord> records = parse_csv(csv_path, read_file(csv_path, kTextReadLimit));
  if (records.empty()) throw InputError(csv_path, "empty manifest (expected a header with path,label)");

  const CsvRecord& header = records.front();
  const std::map<std::string, size_t> columns = csv_columns(csv_path, header);
  for (const char* required : {"path", "label"})
    if (!columns.count(required))
      throw InputError(csv_path, std::string("missing column '") + required + "' in the header");
  const size_t path_col = columns.at("path");
  const size_t label_col = columns.at("label");
  // npos when the optional column is absent.
  const size_t patient_col = columns.count("patient") ? columns.at("patient") : std::string::npos;
  const size_t split_col = columns.count("split") ? columns.at("split") : std::string::npos;

  const fs::path base = fs::path(csv_path).parent_path();
  std::vector<Sample> samples;
  samples.reserve(records.size() - 1);
  for (size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& record = records[r];
    const std::string where = "line " + std::to_string(record.line) + ": ";
    if (record.fields.size() != header.fields.size())
      throw InputError(csv_path, where + "expected " + std::to_string(header.fields.size()) +
                                     " fields, found " + std::to_string(record.fields.size()));
    Sample sample;
    const std::string path = record.fields[path_col];
    if (path.empty()) throw InputError(csv_path, where + "empty path");
    // A NUL would silently cut the path short at the file system, and another file be read.
    if (path.find('\0') != std::string::npos)
      throw InputError(csv_path, where + "path contains a NUL byte: " + quoted_excerpt(path));
    const fs::path file(path);
    sample.path = (file.is_relative() && !base.empty()) ? (base / file).string() : path;

    const std::string label = trim(record.fields[label_col]);
    if (!label.empty()) {
      sample.label = label_from_name(label);
      if (sample.label < 0) throw InputError(csv_path, where + "unknown label " + quoted_excerpt(label));
      const std::string key = lowercase(label);
      if (key == "bacterial" || key == "viral")
        sample.pneumonia_type = key == "bacterial" ? "BACTERIAL" : "VIRAL";
      else if (sample.label == kPneumonia)
        sample.pneumonia_type = pneumonia_type_from_filename(path);
    }
    if (patient_col != std::string::npos) sample.patient = trim(record.fields[patient_col]);
    if (sample.patient.empty()) sample.patient = patient_from_filename(path);
    if (split_col != std::string::npos) {
      sample.split = lowercase(trim(record.fields[split_col]));
      if (!sample.split.empty() && !is_split_name(sample.split))
        throw InputError(csv_path, where + "unknown split " + quoted_excerpt(record.fields[split_col]));
    }
    samples.push_back(std::move(sample));
  }
  return samples;
}

void write_manifest(const std::string& csv_path, const std::vector<Sample>& samples) {
  std::ostringstream out;
  out << "path,label,patient,split\n";
  for (const Sample& sample : samples) {
    if (sample.label != -1 && sample.label != kNormal && sample.label != kPneumonia)
      throw InputError(sample.path, "invalid label " + std::to_string(sample.label) + " for a manifest");
    // A type the file name does not carry is written as the label, so it survives the round trip.
    std::string label = sample.label < 0 ? std::string() : kClassNames[sample.label];
    if (sample.label == kPneumonia && !sample.pneumonia_type.empty() &&
        sample.pneumonia_type != pneumonia_type_from_filename(sample.path))
      label = sample.pneumonia_type;
    out << csv_field(sample.path) << ',' << label << ',' << csv_field(sample.patient) << ','
        << csv_field(sample.split) << '\n';
  }
  write_file_atomically(csv_path, out.str());
}

std::vector<Sample> read_dataset(const std::string& folder_or_manifest) {
  std::error_code ec;
  if (fs::is_directory(folder_or_manifest, ec)) return read_folder(folder_or_manifest);
  if (!fs::exists(folder_or_manifest, ec)) throw InputError(folder_or_manifest, "no such file or folder");
  if (lowercase(fs::path(folder_or_manifest).extension().string()) == ".csv")
    return read_manifest(folder_or_manifest);
  throw InputError(folder_or_manifest, "expected a data folder or a .csv manifest");
}

std::vector<Sample> select_split(const std::vector<Sample>& samples, const std::string& split) {
  std::vector<Sample> result;
  for (const Sample& sample : samples)
    if (sample.split == split) result.push_back(sample);
  return result;
}

}  // namespace pneumoscan
