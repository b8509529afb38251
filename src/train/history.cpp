#include "train/history.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/atomic_file.h"
#include "core/errors.h"

namespace pneumoscan {
namespace {

double number_or_nan(const nlohmann::json& value) { return value.is_null() ? NAN : value.get<double>(); }

}  // namespace

std::string log_csv_path(const std::string& model_path) { return model_path + ".log.csv"; }
std::string log_jsonl_path(const std::string& model_path) { return model_path + ".log.jsonl"; }

nlohmann::json to_json(const EpochRecord& r) {
  auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return {{"epoch", r.epoch},
          {"learning_rate", r.learning_rate},
          {"train_loss", number(r.train_loss)},
          {"train_accuracy", r.train_accuracy},
          {"val_loss", number(r.val_loss)},
          {"val_accuracy", r.val_accuracy},
          {"val_roc_auc", number(r.val_roc_auc)},
          {"val_recall", r.val_recall},
          {"val_specificity", r.val_specificity},
          {"seconds", r.seconds},
          {"images_per_second", r.images_per_second},
          {"best", r.best}};
}

EpochRecord epoch_record_from_json(const nlohmann::json& j) {
  EpochRecord r;
  r.epoch = j.at("epoch");
  r.learning_rate = j.at("learning_rate");
  r.train_loss = number_or_nan(j.at("train_loss"));
  r.train_accuracy = j.at("train_accuracy");
  r.val_loss = number_or_nan(j.at("val_loss"));
  r.val_accuracy = j.at("val_accuracy");
  r.val_roc_auc = number_or_nan(j.at("val_roc_auc"));
  r.val_recall = j.at("val_recall");
  r.val_specificity = j.at("val_specificity");
  r.seconds = j.at("seconds");
  r.images_per_second = j.at("images_per_second");
  r.best = j.at("best");
  return r;
}

void write_epoch_logs(const std::string& model_path, const std::vector<EpochRecord>& history) {
  std::ostringstream csv, jsonl;
  csv << "epoch,learning_rate,train_loss,train_accuracy,val_loss,val_accuracy,val_roc_auc,val_recall,"
         "val_specificity,seconds,images_per_second,best\n";
  for (const auto& r : history) {
    char line[512];
    std::snprintf(line, sizeof line, "%d,%.6g,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.2f,%.1f,%d\n", r.epoch,
                  r.learning_rate, r.train_loss, r.train_accuracy, r.val_loss, r.val_accuracy, r.val_roc_auc,
                  r.val_recall, r.val_specificity, r.seconds, r.images_per_second, r.best ? 1 : 0);
    csv << line;
    jsonl << to_json(r).dump() << "\n";
  }
  write_file_atomically(log_csv_path(model_path), csv.str());
  write_file_atomically(log_jsonl_path(model_path), jsonl.str());
}

std::vector<EpochRecord> read_epoch_log(const std::string& model_path) {
  const std::string path = log_jsonl_path(model_path);
  std::istringstream lines(read_file(path));
  std::vector<EpochRecord> history;
  std::string line;
  try {
    while (std::getline(lines, line))
      if (!line.empty()) history.push_back(epoch_record_from_json(nlohmann::json::parse(line)));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path, std::string("not a training log: ") + e.what());
  }
  return history;
}

}  // namespace pneumoscan
