#include "serve/worklist.h"

#include <sqlite3.h>

#include "core/errors.h"
#include "core/json_text.h"

namespace pneumoscan {
namespace {

// The entry's fields live in the JSON column; the columns the list sorts by are real columns.
constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS worklist ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " received_at TEXT NOT NULL,"
    " priority INTEGER NOT NULL,"
    " entry TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS worklist_order ON worklist (priority DESC, received_at DESC);";

class Statement {
 public:
  Statement(sqlite3* db, const char* sql, const std::string& path) : path_(path) {
    if (sqlite3_prepare_v2(db, sql, -1, &statement_, nullptr) != SQLITE_OK)
      throw IoError(path, std::string("worklist database: ") + sqlite3_errmsg(db));
  }
  ~Statement() { sqlite3_finalize(statement_); }
  sqlite3_stmt* get() const { return statement_; }

 private:
  std::string path_;
  sqlite3_stmt* statement_ = nullptr;
};

nlohmann::json stored(const WorklistEntry& e) {
  nlohmann::json json = to_json(e, /*with_result=*/true);
  json["xray_image"] = e.xray_image;
  json["overlay_image"] = e.overlay_image;
  return json;
}

WorklistEntry from_stored(int64_t id, const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text);
  WorklistEntry e;
  e.id = id;
  e.received_at = j.value("received_at", "");
  e.study_instance_uid = j.value("study_instance_uid", "");
  e.series_instance_uid = j.value("series_instance_uid", "");
  e.sop_instance_uid = j.value("sop_instance_uid", "");
  e.status = j.value("status", "");
  if (j.contains("probability") && j.at("probability").is_number())
    e.probability = j.at("probability").get<double>();
  e.label = j.value("label", "");
  e.pneumonia_type = j.value("type", "");
  e.gate_status = j.value("gate_status", "");
  e.gate_reasons = j.value("gate_reasons", std::vector<std::string>{});
  e.uncertain = j.value("uncertain", false);
  if (j.contains("low") && j.at("low").is_number()) e.low = j.at("low").get<double>();
  if (j.contains("high") && j.at("high").is_number()) e.high = j.at("high").get<double>();
  e.xray_image = j.value("xray_image", "");
  e.overlay_image = j.value("overlay_image", "");
  e.result = j.value("result", nlohmann::json::object());
  return e;
}

}  // namespace

int WorklistEntry::priority() const {
  if (status != "diagnosed") return 3;
  if (label == "PNEUMONIA") return 2;
  return uncertain ? 1 : 0;
}

nlohmann::json to_json(const WorklistEntry& e, bool with_result) {
  const auto optional = [](const std::optional<double>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  nlohmann::json json = {{"id", e.id},
                         {"received_at", e.received_at},
                         {"study_instance_uid", e.study_instance_uid},
                         {"series_instance_uid", e.series_instance_uid},
                         {"sop_instance_uid", e.sop_instance_uid},
                         {"status", e.status},
                         {"probability", optional(e.probability)},
                         {"label", e.label},
                         {"type", e.pneumonia_type},
                         {"gate_status", e.gate_status},
                         {"gate_reasons", e.gate_reasons},
                         {"uncertain", e.uncertain},
                         {"low", optional(e.low)},
                         {"high", optional(e.high)},
                         {"priority", e.priority()},
                         {"has_xray", !e.xray_image.empty()},
                         {"has_overlay", !e.overlay_image.empty()}};
  if (with_result) json["result"] = e.result;
  return json;
}

Worklist::Worklist(const std::string& path) : path_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string problem = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw IoError(path, "cannot open the worklist database: " + problem);
  }
  sqlite3_busy_timeout(db_, 5000);
  char* error = nullptr;
  const std::string setup = std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;") + kSchema;
  if (sqlite3_exec(db_, setup.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string problem = error != nullptr ? error : "unknown error";
    sqlite3_free(error);
    sqlite3_close(db_);
    throw IoError(path, "not a worklist database (" + problem + ")");
  }
}

Worklist::~Worklist() { sqlite3_close(db_); }

int64_t Worklist::add(const WorklistEntry& entry) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement insert(db_, "INSERT INTO worklist (received_at, priority, entry) VALUES (?, ?, ?)", path_);
  const std::string text = json_text(stored(entry));
  sqlite3_bind_text(insert.get(), 1, entry.received_at.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(insert.get(), 2, entry.priority());
  sqlite3_bind_text(insert.get(), 3, text.c_str(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(insert.get()) != SQLITE_DONE)
    throw IoError(path_, std::string("cannot add to the worklist: ") + sqlite3_errmsg(db_));
  return sqlite3_last_insert_rowid(db_);
}

std::vector<WorklistEntry> Worklist::list(size_t limit) const {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement select(
      db_, "SELECT id, entry FROM worklist ORDER BY priority DESC, received_at DESC, id DESC LIMIT ?", path_);
  sqlite3_bind_int64(select.get(), 1, static_cast<sqlite3_int64>(limit));
  std::vector<WorklistEntry> entries;
  while (sqlite3_step(select.get()) == SQLITE_ROW) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(select.get(), 1));
    try {
      entries.push_back(from_stored(sqlite3_column_int64(select.get(), 0), text != nullptr ? text : "{}"));
    } catch (const nlohmann::json::exception&) {  // a damaged row is skipped, the rest still listed
    }
  }
  return entries;
}

std::optional<WorklistEntry> Worklist::get(int64_t id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement select(db_, "SELECT entry FROM worklist WHERE id = ?", path_);
  sqlite3_bind_int64(select.get(), 1, id);
  if (sqlite3_step(select.get()) != SQLITE_ROW) return std::nullopt;
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(select.get(), 0));
  try {
    return from_stored(id, text != nullptr ? text : "{}");
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

size_t Worklist::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement count(db_, "SELECT COUNT(*) FROM worklist", path_);
  return sqlite3_step(count.get()) == SQLITE_ROW ? static_cast<size_t>(sqlite3_column_int64(count.get(), 0))
                                                 : 0;
}

}  // namespace pneumoscan
