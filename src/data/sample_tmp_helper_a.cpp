// TEMPORARY (helper-a only): minimal stand-ins for the sample.h readers so this
// worktree builds and tests before src/data/sample.cpp is merged. Deleted
// before the final commit.
#include <algorithm>
#include <cctype>
#include <filesystem>

#include "core/errors.h"
#include "data/sample.h"

namespace pneumoscan {
namespace fs = std::filesystem;

int label_from_name(const std::string& name) {
  std::string n = name;
  for (auto& c : n) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (n == "NORMAL" || n == "0") return kNormal;
  if (n == "PNEUMONIA" || n == "1") return kPneumonia;
  return -1;
}

std::string patient_from_filename(const std::string& path) {
  const std::string stem = fs::path(path).stem().string();
  if (stem.rfind("person", 0) == 0) return stem.substr(0, stem.find('_'));
  const auto last = stem.rfind('-');
  if (stem.find("IM-") != std::string::npos && last != std::string::npos) return stem.substr(0, last);
  return stem;
}

static void add_class_dirs(const fs::path& dir, const std::string& split, std::vector<Sample>& out) {
  for (const std::string& cls : kClassNames) {
    const fs::path class_dir = dir / cls;
    if (!fs::is_directory(class_dir)) continue;
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(class_dir))
      if (entry.is_regular_file() && entry.path().filename().string()[0] != '.')
        files.push_back(entry.path().string());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) out.push_back({f, label_from_name(cls), patient_from_filename(f), split});
  }
}

std::vector<Sample> read_folder(const std::string& root) {
  if (!fs::is_directory(root)) throw InputError(root, "not a folder");
  std::vector<Sample> out;
  for (const char* split : {"train", "val", "test"})
    if (fs::is_directory(fs::path(root) / split)) add_class_dirs(fs::path(root) / split, split, out);
  if (out.empty()) add_class_dirs(root, "", out);
  if (out.empty()) throw InputError(root, "no images in the standard layout");
  return out;
}

std::vector<Sample> read_dataset(const std::string& folder_or_manifest) {
  return read_folder(folder_or_manifest);
}

}  // namespace pneumoscan
