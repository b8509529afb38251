#pragma once
// A labelled X-ray on disk, and the readers that list them.
#include <array>
#include <string>
#include <vector>

namespace pneumoscan {

// Class indices are fixed for the whole program: 0 = NORMAL, 1 = PNEUMONIA.
inline constexpr int kNormal = 0;
inline constexpr int kPneumonia = 1;
inline const std::array<std::string, 2> kClassNames = {"NORMAL", "PNEUMONIA"};

struct Sample {
  std::string path;     // absolute or relative to the working directory
  int label = -1;       // kNormal or kPneumonia; -1 when unknown
  std::string patient;  // patient key for grouping ("" when unknown)
  std::string split;    // "train", "val", "test" or "" when unassigned
  // Pneumonia type for finer class lists: "BACTERIAL", "VIRAL" or "" when
  // unknown (from a Kermany file name, or a manifest label of that name).
  std::string pneumonia_type;
};

// Pneumonia type named in a Kermany file name (person12_bacteria_48 ->
// "BACTERIAL", person1_virus_6 -> "VIRAL"); "" otherwise.
std::string pneumonia_type_from_filename(const std::string& path);

// The sample's index in a model's class list. Class 0 is always NORMAL; a
// binary list is {NORMAL, PNEUMONIA}; a finer list names pneumonia types
// ({NORMAL, BACTERIAL, VIRAL}). -1 when the sample has no class in the list
// (unlabelled, or a pneumonia of unknown type for a finer list).
int class_index(const Sample& sample, const std::vector<std::string>& class_names);

// Checks a class list: at least two names, NORMAL first, no repeats, binary
// lists exactly {NORMAL, PNEUMONIA}. Returns it upper-cased; throws UsageError.
std::vector<std::string> validate_class_names(const std::vector<std::string>& names);

// Label from a class name, case-insensitive ("normal", "PNEUMONIA", "0", "1",
// and the pneumonia types "bacterial", "viral" -> PNEUMONIA); -1 when not recognised.
int label_from_name(const std::string& name);

// Patient key from a Kermany file name: person100_bacteria_475 -> person100,
// IM-0001-0001 -> IM-0001, NORMAL2-IM-0012-0001 -> NORMAL2-IM-0012.
// Other names: the file stem (one image = one patient, the safe assumption).
std::string patient_from_filename(const std::string& path);

// Standard layout: ROOT/{train,val,test}/{NORMAL,PNEUMONIA}/*, or ROOT/{NORMAL,PNEUMONIA}/*
// (split left ""). Folder names are case-insensitive. Only image files are listed
// (.jpeg .jpg .png .bmp .tif .tiff .dcm, any case), not recursively; hidden files
// and folders skipped. Order: splits train, val, test; NORMAL before PNEUMONIA;
// files sorted by name. Throws InputError when ROOT has neither layout.
std::vector<Sample> read_folder(const std::string& root);

// CSV manifest with a header: path,label[,patient][,split] (columns in any
// order; RFC 4180 quoting). Relative paths are resolved against the manifest's
// folder. Missing patient -> from the file name. An empty label means unknown
// (-1); split must be empty, train, val or test. Files are not checked for
// existence. Throws InputError naming file and line.
std::vector<Sample> read_manifest(const std::string& csv_path);

// Writes a manifest (path,label,patient,split) atomically; labels as class names
// (empty for -1), paths exactly as given (relative ones will be read back
// relative to the manifest's folder), fields quoted when needed.
void write_manifest(const std::string& csv_path, const std::vector<Sample>& samples);

// A folder (standard layout) or a .csv manifest.
std::vector<Sample> read_dataset(const std::string& folder_or_manifest);

// Only the samples of one split.
std::vector<Sample> select_split(const std::vector<Sample>& samples, const std::string& split);

}  // namespace pneumoscan
