#include "explain/box_labels.h"

#include <cmath>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/csv.h"
#include "core/errors.h"
#include "core/text.h"

namespace pneumoscan {
namespace {

// The field at `column` as a finite number; `where` is "line N: ".
double number_field(const std::string& file, const std::string& where, const std::string& name,
                    const std::string& text) {
  const std::string value = trim(text);
  size_t used = 0;
  double number = NAN;
  try {
    number = std::stod(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size() || !std::isfinite(number))
    throw InputError(file, where + name + " " + quoted_excerpt(value) + " is not a number");
  return number;
}

}  // namespace

std::string image_stem(const std::string& path) { return std::filesystem::path(path).stem().string(); }

BoxLabels read_box_labels(const std::string& csv_path) {
  const std::vector<CsvRecord> records = parse_csv(csv_path, read_file(csv_path, kTextReadLimit));
  if (records.empty())
    throw InputError(csv_path, "empty box file (expected a header with patientId,x,y,width,height)");
  const std::map<std::string, size_t> columns = csv_columns(csv_path, records.front());
  size_t image_col = std::string::npos;
  for (const char* name : {"patientid", "file", "image", "path"})
    if (columns.count(name)) {
      image_col = columns.at(name);
      break;
    }
  if (image_col == std::string::npos)
    throw InputError(csv_path, "missing image column in the header (patientId, file, image or path)");
  std::vector<size_t> box_cols;
  for (const char* name : {"x", "y", "width", "height"}) {
    if (!columns.count(name))
      throw InputError(csv_path, std::string("missing column '") + name + "' in the header");
    box_cols.push_back(columns.at(name));
  }
  const size_t target_col = columns.count("target") ? columns.at("target") : std::string::npos;

  BoxLabels labels;
  const size_t width = records.front().fields.size();
  for (size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& record = records[r];
    const std::string where = "line " + std::to_string(record.line) + ": ";
    if (record.fields.size() != width)
      throw InputError(csv_path, where + "expected " + std::to_string(width) + " fields, found " +
                                     std::to_string(record.fields.size()));
    const std::string stem = image_stem(trim(record.fields[image_col]));
    if (stem.empty()) throw InputError(csv_path, where + "empty image name");
    std::vector<cv::Rect2d>& boxes = labels[stem];
    bool no_box = target_col != std::string::npos && trim(record.fields[target_col]) == "0";
    bool all_empty = true;
    for (size_t c : box_cols) all_empty = all_empty && trim(record.fields[c]).empty();
    if (no_box || all_empty) continue;
    double v[4];
    const char* names[4] = {"x", "y", "width", "height"};
    for (int i = 0; i < 4; ++i) v[i] = number_field(csv_path, where, names[i], record.fields[box_cols[i]]);
    if (v[0] < 0 || v[1] < 0) throw InputError(csv_path, where + "the box starts left of or above the image");
    if (v[2] <= 0 || v[3] <= 0)
      throw InputError(csv_path, where + "the box's width and height must be positive");
    boxes.emplace_back(v[0], v[1], v[2], v[3]);
  }
  return labels;
}

}  // namespace pneumoscan
