#pragma once
// The live triage worklist: one entry per study the DICOM node analysed,
// kept in an SQLite database so it survives a restart (WAL journal: a crash
// loses at most the entry being written, never the file). Entries carry UIDs,
// never patient names or IDs. Thread-safe: the DICOM node appends while HTTP
// threads read.
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace pneumoscan {

struct WorklistEntry {
  int64_t id = 0;           // assigned by add()
  std::string received_at;  // ISO 8601 UTC
  std::string study_instance_uid, series_instance_uid, sop_instance_uid;
  std::string status;  // "diagnosed", "refused" (by the input gate) or "failed" (could not be read)
  std::optional<double> probability;
  std::string label;  // PNEUMONIA / NORMAL / "" when not diagnosed
  std::string pneumonia_type;
  std::string gate_status;  // ok / warn / refuse / "" when failed
  std::vector<std::string> gate_reasons;
  bool uncertain = false;
  std::optional<double> low, high;                   // the uncertainty interval
  std::string xray_image, overlay_image;             // paths of the case view's JPEGs ("" = none)
  nlohmann::json result = nlohmann::json::object();  // the node's whole results.jsonl record

  // Higher first: 3 refused or failed (someone must look), 2 positive, 1 uncertain, 0 the rest.
  int priority() const;
};

// {"id", "received_at", "study_instance_uid", ..., "priority", "has_xray", "has_overlay"}
// (no file paths; with `with_result`, also "result").
nlohmann::json to_json(const WorklistEntry& entry, bool with_result = false);

class Worklist {
 public:
  // Opens or creates the database. Throws IoError naming `path`.
  explicit Worklist(const std::string& path);
  ~Worklist();
  Worklist(const Worklist&) = delete;
  Worklist& operator=(const Worklist&) = delete;

  // Appends; returns the new id. Throws IoError.
  int64_t add(const WorklistEntry& entry);
  // Every entry, highest priority first, then newest first; at most `limit`.
  std::vector<WorklistEntry> list(size_t limit = 1000) const;
  std::optional<WorklistEntry> get(int64_t id) const;
  size_t size() const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
  mutable std::mutex mutex_;
};

}  // namespace pneumoscan
