// Tests of src/train/schedule: reduce-on-plateau, early stopping and the best
// epoch, and their checkpoint form.
#include <cmath>

#include "test_support.h"
#include "train/schedule.h"

using namespace pneumoscan;

TEST(Schedule, ImprovementsPlateausCutsAndExhaustion) {
  PlateauSchedule s;
  s.learning_rate = 1e-3;
  using Outcome = PlateauSchedule::Outcome;
  EXPECT_EQ(s.update(1, 0.50, 2, 0.5, 1e-6), Outcome::kImproved);
  EXPECT_EQ(s.best_epoch, 1);
  EXPECT_EQ(s.update(2, 0.49995, 2, 0.5, 1e-6), Outcome::kNotImproved);  // within 1e-4: no improvement
  EXPECT_EQ(s.update(3, 0.60, 2, 0.5, 1e-6), Outcome::kLearningRateCut);
  EXPECT_DOUBLE_EQ(s.learning_rate, 5e-4);
  EXPECT_EQ(s.epochs_without_improvement, 2);
  EXPECT_EQ(s.epochs_since_lr_cut, 0);
  EXPECT_FALSE(s.exhausted(3));
  EXPECT_EQ(s.update(4, 0.55, 2, 0.5, 1e-6), Outcome::kNotImproved);
  EXPECT_TRUE(s.exhausted(3));
  EXPECT_EQ(s.update(5, 0.40, 2, 0.5, 1e-6), Outcome::kImproved);
  EXPECT_EQ(s.best_epoch, 5);
  EXPECT_FALSE(s.exhausted(3));
  // Never below the minimum, and no cut once there.
  s.learning_rate = 1.5e-6;
  s.epochs_since_lr_cut = 5;
  EXPECT_EQ(s.update(6, 0.9, 2, 0.5, 1e-6), Outcome::kLearningRateCut);
  EXPECT_DOUBLE_EQ(s.learning_rate, 1e-6);
  s.epochs_since_lr_cut = 5;
  EXPECT_EQ(s.update(7, 0.9, 2, 0.5, 1e-6), Outcome::kNotImproved);
}

TEST(Schedule, CheckpointFormRoundTrips) {
  PlateauSchedule fresh;
  fresh.learning_rate = 0.01;
  nlohmann::json json;
  add_to_json(fresh, json);
  EXPECT_EQ(nlohmann::json::parse(json.dump()).at("best_val_loss"), nullptr);  // infinity is written as null
  const PlateauSchedule back = plateau_schedule_from_json(nlohmann::json::parse(json.dump()));
  EXPECT_TRUE(std::isinf(back.best_val_loss));
  EXPECT_DOUBLE_EQ(back.learning_rate, 0.01);

  PlateauSchedule s;
  s.learning_rate = 2.5e-4;
  s.update(3, 0.25, 2, 0.5, 1e-6);
  s.update(4, 0.30, 2, 0.5, 1e-6);
  add_to_json(s, json);
  const PlateauSchedule again = plateau_schedule_from_json(json);
  EXPECT_DOUBLE_EQ(again.best_val_loss, 0.25);
  EXPECT_EQ(again.best_epoch, 3);
  EXPECT_EQ(again.epochs_without_improvement, 1);
  EXPECT_EQ(again.epochs_since_lr_cut, 1);
  EXPECT_THROW(plateau_schedule_from_json(nlohmann::json::object()), nlohmann::json::exception);
}
