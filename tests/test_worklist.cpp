// The triage worklist (serve/worklist.h): order by priority, survival across
// reopening, no patient identifiers, and a damaged database refused by name.
#include <gtest/gtest.h>

#include <fstream>

#include "core/errors.h"
#include "serve/worklist.h"
#include "test_support.h"

using namespace pneumoscan;

namespace {

WorklistEntry entry(const std::string& uid, const std::string& status, const std::string& label,
                    bool uncertain, const std::string& received_at) {
  WorklistEntry e;
  e.received_at = received_at;
  e.study_instance_uid = "1.2.3." + uid;
  e.series_instance_uid = "1.2.3." + uid + ".1";
  e.sop_instance_uid = "1.2.3." + uid + ".1.1";
  e.status = status;
  if (status == "diagnosed") e.probability = label == "PNEUMONIA" ? 0.97 : 0.12;
  e.label = status == "diagnosed" ? label : "";
  e.gate_status = status == "refused" ? "refuse" : "ok";
  if (status == "refused")
    e.gate_reasons = {"patient age 58 years is outside the model's population (ages 1-5)"};
  e.uncertain = uncertain;
  e.result = {{"sop_instance_uid", e.sop_instance_uid}};
  return e;
}

}  // namespace

TEST(Worklist, ListsRefusedAndPositiveFirstAndSurvivesReopening) {
  test::TempDir dir;
  const std::string path = dir / "worklist.db";
  {
    Worklist worklist(path);
    EXPECT_EQ(worklist.size(), 0u);
    worklist.add(entry("1", "diagnosed", "NORMAL", false, "2026-12-02T10:00:00.000Z"));
    worklist.add(entry("2", "diagnosed", "PNEUMONIA", false, "2026-12-02T10:01:00.000Z"));
    worklist.add(entry("3", "refused", "", false, "2026-12-02T10:02:00.000Z"));
    worklist.add(entry("4", "diagnosed", "NORMAL", true, "2026-12-02T10:03:00.000Z"));
    worklist.add(entry("5", "diagnosed", "PNEUMONIA", false, "2026-12-02T10:04:00.000Z"));
    worklist.add(entry("6", "failed", "", false, "2026-12-02T10:05:00.000Z"));
  }
  Worklist reopened(path);  // as after a restart
  ASSERT_EQ(reopened.size(), 6u);
  std::vector<std::string> order;
  for (const WorklistEntry& e : reopened.list()) order.push_back(e.study_instance_uid.substr(6));
  // Failed and refused (newest first), positives (newest first), the uncertain, then the rest.
  EXPECT_EQ(order, (std::vector<std::string>{"6", "3", "5", "2", "4", "1"}));
  EXPECT_EQ(reopened.list(2).size(), 2u);

  const auto third = reopened.get(3);
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->status, "refused");
  EXPECT_FALSE(third->probability.has_value());
  ASSERT_EQ(third->gate_reasons.size(), 1u);
  EXPECT_EQ(third->result.at("sop_instance_uid"), "1.2.3.3.1.1");
  EXPECT_FALSE(reopened.get(99).has_value());

  const nlohmann::json json = to_json(*reopened.get(2));
  EXPECT_DOUBLE_EQ(json.at("probability"), 0.97);
  EXPECT_EQ(json.at("priority"), 2);
  EXPECT_FALSE(json.contains("result"));
  EXPECT_TRUE(to_json(*reopened.get(2), true).contains("result"));
}

TEST(Worklist, AFileThatIsNoDatabaseIsRefusedNamingIt) {
  test::TempDir dir;
  const std::string path = dir / "not-a-db.db";
  std::ofstream(path)
      << "this is not an SQLite database, just some text that is long enough to look like a header";
  try {
    Worklist worklist(path);
    FAIL() << "opened a text file as a worklist";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_THROW(Worklist(dir / "missing-folder/worklist.db"), IoError);
}
