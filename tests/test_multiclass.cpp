// Tests of src/eval/multiclass: the K x K report against a hand-computed case.
#include "core/errors.h"
#include "eval/multiclass.h"
#include "test_support.h"

using namespace pneumoscan;

TEST(MulticlassMetrics, MatchHandComputedCase) {
  // Classes NORMAL, BACTERIAL, VIRAL; threshold 0.5 on P(pneumonia) = 1 - p0.
  const std::vector<std::string> names = {"NORMAL", "BACTERIAL", "VIRAL"};
  const std::vector<float> p = {
      0.8f, 0.1f, 0.1f,  // true N, predicted N
      0.6f, 0.3f, 0.1f,  // true B, predicted N (missed); best type B
      0.1f, 0.7f, 0.2f,  // true B, predicted B
      0.2f, 0.5f, 0.3f,  // true V, predicted B; best type B (type wrong)
      0.1f, 0.2f, 0.7f,  // true V, predicted V
      0.3f, 0.2f, 0.5f,  // true N, predicted V (false positive)
  };
  const std::vector<int> labels = {0, 1, 1, 2, 2, 0};
  const MulticlassMetrics m = compute_multiclass_metrics(p, labels, names, 0.5);
  EXPECT_EQ(m.confusion, (std::vector<std::vector<int64_t>>{{1, 0, 1}, {1, 1, 0}, {0, 1, 1}}));
  EXPECT_DOUBLE_EQ(m.accuracy, 3.0 / 6.0);
  EXPECT_DOUBLE_EQ(m.recall[0], 0.5);
  EXPECT_DOUBLE_EQ(m.recall[2], 0.5);
  EXPECT_DOUBLE_EQ(m.precision[1], 0.5);
  EXPECT_DOUBLE_EQ(m.macro_f1, 0.5);  // every class: precision 0.5, recall 0.5
  EXPECT_EQ(m.type_n, 4);
  EXPECT_DOUBLE_EQ(m.type_accuracy, 3.0 / 4.0);  // the missed bacterial still has type B
  EXPECT_THROW(compute_multiclass_metrics(p, {0, 1}, names, 0.5), UsageError);
  EXPECT_THROW(compute_multiclass_metrics(p, {0, 1, 1, 2, 3, 0}, names, 0.5), UsageError);
}
