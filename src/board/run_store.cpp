#include "board/run_store.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

namespace pneumoscan {
namespace {
namespace fs = std::filesystem;

constexpr int kMaxDepth = 3;

nlohmann::json number(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json();
}

}  // namespace

bool lower_is_better(const std::string& tag) {
  std::string lower;
  for (char c : tag) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto ends_with = [&](const std::string& end) {
    return lower.size() >= end.size() && lower.compare(lower.size() - end.size(), end.size(), end) == 0;
  };
  return lower.find("loss") != std::string::npos || ends_with("ece") || ends_with("error");
}

RunStore::RunStore(std::string logdir, size_t max_points)
    : logdir_(std::move(logdir)), max_points_(max_points) {}

void RunStore::refresh() {
  std::lock_guard<std::mutex> lock(mutex_);
  refresh_locked();
}

void RunStore::refresh_locked() {
  const auto now = std::chrono::steady_clock::now();
  if (last_refresh_ != std::chrono::steady_clock::time_point{} && now - last_refresh_ < min_interval_) return;
  last_refresh_ = now;
  discover_locked();
  for (auto& [name, run] : runs_)
    for (auto& file : run.files)
      file->poll([&, r = &run](const Event& event) { add_event_locked(*r, event); });
}

void RunStore::discover_locked() {
  std::set<std::string> known;
  for (const auto& [name, run] : runs_)
    for (const auto& file : run.files) known.insert(file->path());
  std::map<std::string, std::vector<std::string>> found;  // run -> new files
  std::error_code ec;
  fs::recursive_directory_iterator it(logdir_, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (it.depth() >= kMaxDepth) it.disable_recursion_pending();
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec) || !is_event_file_name(it->path().filename().string())) continue;
    const std::string path = it->path().string();
    if (known.count(path) != 0) continue;
    std::string run = fs::path(it->path().parent_path()).lexically_relative(logdir_).generic_string();
    if (run.empty()) run = ".";
    found[run].push_back(path);
  }
  for (auto& [name, paths] : found) {
    std::sort(paths.begin(), paths.end());  // TensorBoard's order too: by name, i.e. by start time
    Run& run = runs_[name];
    for (const auto& path : paths) run.files.push_back(std::make_unique<EventFileReader>(path));
  }
}

void RunStore::add_event_locked(Run& run, const Event& event) {
  ++run.events;
  run.updated = std::max(run.updated, event.wall_time);
  for (const SummaryValue& value : event.values) {
    switch (value.kind) {
      case SummaryValue::Kind::kScalar:
        ++points_;
        if (points_ > max_points_) {
          ++dropped_;
          break;
        }
        run.scalars[value.tag].push_back({next_seq_++, event.step, value.scalar, event.wall_time});
        break;
      case SummaryValue::Kind::kImage:
        run.images[value.tag] = value.image;
        run.image_steps[value.tag] = event.step;
        break;
      case SummaryValue::Kind::kText:
        run.texts[value.tag] = {event.step, value.text};
        break;
      case SummaryValue::Kind::kHistogram:
        run.histograms[value.tag] = {event.step, value.histogram};
        break;
      case SummaryValue::Kind::kOther:
        break;
    }
  }
}

nlohmann::json RunStore::runs() {
  std::lock_guard<std::mutex> lock(mutex_);
  refresh_locked();
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [name, run] : runs_) {
    nlohmann::json errors = nlohmann::json::array(), scalars = nlohmann::json::object();
    for (const auto& file : run.files)
      if (!file->error().empty()) errors.push_back(file->error());
    for (const auto& [tag, points] : run.scalars) {
      if (points.empty()) continue;
      const bool lower = lower_is_better(tag);
      const Point* best = nullptr;
      for (const Point& p : points)
        if (std::isfinite(p.value) &&
            (best == nullptr || (lower ? p.value < best->value : p.value > best->value)))
          best = &p;
      scalars[tag] = {{"n", points.size()},
                      {"last", number(points.back().value)},
                      {"last_step", points.back().step},
                      {"best", best ? number(best->value) : nlohmann::json()},
                      {"best_step", best ? nlohmann::json(best->step) : nlohmann::json()},
                      {"lower_is_better", lower}};
    }
    nlohmann::json images = nlohmann::json::object(), texts = nlohmann::json::object(),
                   histograms = nlohmann::json::object();
    for (const auto& [tag, image] : run.images)
      images[tag] = {{"step", run.image_steps.at(tag)}, {"width", image.width}, {"height", image.height}};
    for (const auto& [tag, text] : run.texts) texts[tag] = {{"step", text.first}, {"text", text.second}};
    for (const auto& [tag, entry] : run.histograms) {
      const Histogram& h = entry.second;
      histograms[tag] = {
          {"step", entry.first}, {"min", number(h.min)}, {"max", number(h.max)}, {"num", number(h.num)}};
    }
    list.push_back({{"name", name},
                    {"files", run.files.size()},
                    {"events", run.events},
                    {"updated", run.updated},
                    {"errors", errors},
                    {"scalars", scalars},
                    {"images", images},
                    {"texts", texts},
                    {"histograms", histograms}});
  }
  return list;
}

nlohmann::json RunStore::scalars_since(uint64_t cursor) {
  std::lock_guard<std::mutex> lock(mutex_);
  refresh_locked();
  nlohmann::json series = nlohmann::json::object();
  for (const auto& [name, run] : runs_)
    for (const auto& [tag, points] : run.scalars) {
      auto first = std::upper_bound(points.begin(), points.end(), cursor,
                                    [](uint64_t c, const Point& p) { return c < p.seq; });
      if (first == points.end()) continue;
      nlohmann::json out = nlohmann::json::array();
      for (auto p = first; p != points.end(); ++p) out.push_back({p->step, number(p->value), p->wall_time});
      series[name][tag] = std::move(out);
    }
  return {{"cursor", next_seq_ - 1}, {"dropped", dropped_}, {"series", series}};
}

std::optional<RunStore::Image> RunStore::latest_image(const std::string& run, const std::string& tag) {
  std::lock_guard<std::mutex> lock(mutex_);
  refresh_locked();
  const auto r = runs_.find(run);
  if (r == runs_.end()) return std::nullopt;
  const auto image = r->second.images.find(tag);
  if (image == r->second.images.end()) return std::nullopt;
  return Image{r->second.image_steps.at(tag), image->second.encoded};
}

}  // namespace pneumoscan
