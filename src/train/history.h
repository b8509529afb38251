#pragma once
// The record of a training run, epoch by epoch, and its log files next to
// the model (MODEL.log.csv, MODEL.log.jsonl). Light on purpose (no LibTorch):
// plots, reports and monitors read histories without compiling the trainer.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pneumoscan {

struct EpochRecord {
  int epoch = 0;
  double learning_rate = 0;
  double train_loss = 0, train_accuracy = 0;
  double val_loss = 0, val_accuracy = 0, val_roc_auc = 0, val_recall = 0, val_specificity = 0;
  double seconds = 0, images_per_second = 0;
  bool best = false;
};

// Non-finite numbers become null. epoch_record_from_json reads that back
// (null -> NaN); it throws nlohmann::json::exception on a missing field.
nlohmann::json to_json(const EpochRecord& record);
EpochRecord epoch_record_from_json(const nlohmann::json& json);

// Paths of the epoch logs next to a model path.
std::string log_csv_path(const std::string& model_path);    // MODEL.log.csv
std::string log_jsonl_path(const std::string& model_path);  // MODEL.log.jsonl

// Writes both logs for `history`, atomically; IoError naming the file.
void write_epoch_logs(const std::string& model_path, const std::vector<EpochRecord>& history);

// The epoch history train_model logged for `model_path` (MODEL.log.jsonl); IoError/InputError naming the log.
std::vector<EpochRecord> read_epoch_log(const std::string& model_path);

}  // namespace pneumoscan
