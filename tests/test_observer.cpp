// Tests of src/train/observer: the composite hands every event to each
// observer in the order they were added, and skips none.
#include <string>
#include <vector>

#include "test_support.h"
#include "train/observer.h"

using namespace pneumoscan;

namespace {
struct Recorder : TrainObserver {
  std::string name;
  std::vector<std::string>* log;
  Recorder(std::string n, std::vector<std::string>* l) : name(std::move(n)), log(l) {}
  void note(const std::string& event) { log->push_back(name + ":" + event); }
  void on_pretrained_imported(const std::string&, const std::string&) override { note("pretrained"); }
  void on_decode_progress(const std::string& what, size_t done, size_t) override {
    note("decode " + what + " " + std::to_string(done));
  }
  void on_decoded(const std::string& what, size_t, const std::vector<std::string>&, double) override {
    note("decoded " + what);
  }
  void on_train_start(const TrainStart& s) override { note("start " + s.architecture); }
  void on_resumed(const std::string&, int epochs) override { note("resumed " + std::to_string(epochs)); }
  void on_epoch_start(int epoch, int, size_t) override { note("epoch " + std::to_string(epoch)); }
  void on_features_unfrozen(int, int64_t, double) override { note("unfrozen"); }
  void on_step(const TrainStep& s) override { note("step " + std::to_string(s.step)); }
  void on_learning_rate_cut(int, double) override { note("cut"); }
  void on_epoch_end(const EpochRecord& r, int) override { note("end " + std::to_string(r.epoch)); }
  void on_early_stop(int, int) override { note("stop"); }
  void on_train_end(const TrainEnd& e) override { note("done " + e.model_path); }
};
}  // namespace

TEST(Observer, CompositeForwardsEveryEventInOrder) {
  std::vector<std::string> log;
  Recorder a("a", &log), b("b", &log);
  CompositeObserver both({&a, nullptr});
  both.add(&b);
  TrainObserver& observer = both;
  observer.on_pretrained_imported("w.pt", "report");
  observer.on_decode_progress("train", 0, 10);
  observer.on_decoded("train", 10, {}, 1.0);
  TrainStart start;
  start.architecture = "small-cnn";
  observer.on_train_start(start);
  observer.on_resumed("m.ckpt", 2);
  observer.on_epoch_start(3, 4, 1);
  observer.on_features_unfrozen(3, 100, 0.1);
  observer.on_step({3, 1, 1, 8, 0.5, 0.1});
  observer.on_learning_rate_cut(2, 0.05);
  EpochRecord record;
  record.epoch = 3;
  observer.on_epoch_end(record, 4);
  observer.on_early_stop(6, 1);
  TrainEnd end;
  end.model_path = "m";
  observer.on_train_end(end);
  const std::vector<std::string> events = {"pretrained", "decode train 0", "decoded train", "start small-cnn",
                                           "resumed 2",  "epoch 3",        "unfrozen",      "step 1",
                                           "cut",        "end 3",          "stop",          "done m"};
  ASSERT_EQ(log.size(), 2 * events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(log[2 * i], "a:" + events[i]);
    EXPECT_EQ(log[2 * i + 1], "b:" + events[i]);
  }
  // The base class ignores everything (an observer overrides only what it needs).
  TrainObserver quiet;
  quiet.on_step({});
}
