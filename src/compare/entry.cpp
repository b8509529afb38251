#include "compare/entry.h"

#include <cctype>
#include <filesystem>
#include <set>
#include <sstream>

#include "core/errors.h"

namespace pneumoscan {
namespace {

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, separator)) parts.push_back(part);
  if (!text.empty() && text.back() == separator) parts.emplace_back();
  return parts;
}

// Parses all of `value` as a number; throws UsageError naming the entry otherwise.
template <typename Number>
Number parse_number(const std::string& entry, const std::string& key, const std::string& value) {
  std::istringstream stream(value);
  Number number{};
  stream >> number;
  if (value.empty() || stream.fail() || !stream.eof())
    throw UsageError("compare entry '" + entry + "': " + key + " needs a number, not '" + value + "'");
  return number;
}

bool parse_bool(const std::string& entry, const std::string& key, const std::string& value) {
  if (value == "true" || value == "1" || value == "yes") return true;
  if (value == "false" || value == "0" || value == "no") return false;
  throw UsageError("compare entry '" + entry + "': " + key + " is true or false, not '" + value + "'");
}

bool valid_label(const std::string& label) {
  if (label.empty() || label[0] == '.') return false;
  for (char c : label)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

}  // namespace

CompareEntry parse_compare_entry(const std::string& text, const TrainConfig& base, int64_t base_limit) {
  const std::vector<std::string> parts = split(text, ':');
  CompareEntry entry;
  entry.text = text;
  entry.config = base;
  const std::string architecture = parts.empty() ? std::string() : parts[0];
  try {
    find_architecture(architecture);
  } catch (const UsageError& e) {
    throw UsageError("compare entry '" + text + "': " + e.what());
  }
  entry.label = architecture;
  TrainConfig& c = entry.config;
  c.spec.architecture = architecture;
  bool norm_numbers_given = false;
  int64_t channels = 0;  // given: applied after a per-channel norm preset, which sets 3
  for (size_t i = 1; i < parts.size(); ++i) {
    const size_t eq = parts[i].find('=');
    if (eq == std::string::npos)
      throw UsageError("compare entry '" + text + "': '" + parts[i] + "' is not key=value");
    const std::string key = parts[i].substr(0, eq), value = parts[i].substr(eq + 1);
    if (key == "name") {
      entry.label = value;
    } else if (key == "size") {
      c.spec.input_size = parse_number<int64_t>(text, key, value);
      if (c.spec.input_size < 16) throw UsageError("compare entry '" + text + "': size must be at least 16");
    } else if (key == "epochs") {
      c.epochs = parse_number<int>(text, key, value);
    } else if (key == "batch") {
      c.batch_size = parse_number<int>(text, key, value);
    } else if (key == "lr") {
      c.learning_rate = parse_number<double>(text, key, value);
    } else if (key == "limit") {
      entry.limit = parse_number<int64_t>(text, key, value);
      if (entry.limit < 1) throw UsageError("compare entry '" + text + "': limit must be positive");
    } else if (key == "pretrained") {
      if (!std::filesystem::is_regular_file(value))
        throw UsageError("compare entry '" + text + "': pretrained file '" + value + "' does not exist");
      c.pretrained_path = value;
    } else if (key == "freeze") {
      c.freeze = value;
    } else if (key == "unfreeze-after") {
      c.unfreeze_after = parse_number<int>(text, key, value);
    } else if (key == "freeze-bn-stats") {
      c.freeze_batchnorm_stats = parse_bool(text, key, value);
    } else if (key == "norm") {
      try {
        use_normalization(c, value);
      } catch (const UsageError& e) {
        throw UsageError("compare entry '" + text + "': " + e.what());
      }
    } else if (key == "norm-mean" || key == "norm-std") {
      (key == "norm-mean" ? c.preprocess.mean : c.preprocess.std) = {parse_number<float>(text, key, value)};
      norm_numbers_given = true;
    } else if (key == "codes") {
      if (!std::filesystem::is_regular_file(value))
        throw UsageError("compare entry '" + text + "': code file '" + value + "' does not exist");
      entry.codes_path = value;
    } else if (key == "channels") {
      channels = parse_number<int64_t>(text, key, value);
      if (channels != 1 && channels != 3)
        throw UsageError("compare entry '" + text + "': channels is 1 or 3");
    } else {
      throw UsageError("compare entry '" + text + "': unknown key '" + key +
                       "' (name, size, epochs, batch, lr, limit, pretrained, freeze, unfreeze-after, "
                       "freeze-bn-stats, norm, norm-mean, norm-std, channels, codes)");
    }
    if (key == "size" || key == "epochs" || key == "limit" || key == "name") continue;
    entry.settings.push_back(parts[i]);
  }
  if ((architecture == "latent-cnn") != !entry.codes_path.empty())
    throw UsageError("compare entry '" + text + "': " +
                     (entry.codes_path.empty()
                          ? std::string("latent-cnn trains on autoencoder codes: add codes=FILE (`pneumoscan "
                                        "autoencoder encode`)")
                          : std::string("codes=FILE is for latent-cnn entries only")));
  if (!valid_label(entry.label))
    throw UsageError("compare entry '" + text + "': name '" + entry.label +
                     "' may hold only letters, digits, '-', '_' and '.' (it names the model file)");
  if (channels > 0) c.spec.in_channels = channels;
  // Which keys were given is the grammar's business; what the values must be is validate()'s.
  if (norm_numbers_given && c.preprocess.normalization != Normalization::kFixed)
    throw UsageError("compare entry '" + text + "': norm-mean/norm-std apply to norm=fixed only");
  try {
    validate(c);
  } catch (const UsageError& e) {
    throw UsageError("compare entry '" + text + "': " + e.what());
  }

  const int64_t size = complete_spec(c.spec).input_size;
  const int64_t base_size = complete_spec(ModelSpec{architecture, base.spec.input_size}).input_size;
  if (size != base_size) entry.budget.push_back("size " + std::to_string(size));
  if (c.epochs != base.epochs) entry.budget.push_back("epochs " + std::to_string(c.epochs));
  if (entry.limit > 0 && entry.limit != base_limit)
    entry.budget.push_back("limit " + std::to_string(entry.limit));
  return entry;
}

std::vector<CompareEntry> parse_compare_entries(const std::string& list, const TrainConfig& base,
                                                int64_t base_limit) {
  std::vector<CompareEntry> entries;
  std::set<std::string> labels;
  for (const std::string& text : split(list, ',')) {
    if (text.empty()) throw UsageError("--archs: empty entry in '" + list + "'");
    entries.push_back(parse_compare_entry(text, base, base_limit));
    if (!labels.insert(entries.back().label).second)
      throw UsageError("compare entry '" + text + "': the name '" + entries.back().label +
                       "' is taken by another entry; give one of them name=...");
  }
  if (entries.empty()) throw UsageError("--archs: no architectures given");
  return entries;
}

}  // namespace pneumoscan
