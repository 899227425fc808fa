// Per-class metrics against hand-computed values (scikit-learn's classification_report
// definitions).
#include "src/report/class_report.h"

#include <gtest/gtest.h>

namespace edgeopt {
namespace report {
namespace {

TEST(ClassReport, PrecisionRecallF1AveragesAndConfusion) {
  const int32_t labels[10] = {0, 0, 0, 1, 1, 2, 2, 2, 2, 2};
  // The last prediction is outside the classes: wrong, in no column.
  const std::vector<int32_t> predicted = {0, 1, 0, 1, 1, 2, 2, 0, 2, 9};
  auto r = MakeClassReport(predicted, labels, 3);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_DOUBLE_EQ(r->accuracy, 0.7);
  EXPECT_EQ(r->classes[0].support, 3);
  EXPECT_EQ(r->classes[0].predicted, 3);
  EXPECT_NEAR(r->classes[0].precision, 2.0 / 3, 1e-12);
  EXPECT_NEAR(r->classes[0].recall, 2.0 / 3, 1e-12);
  EXPECT_NEAR(r->classes[1].precision, 2.0 / 3, 1e-12);
  EXPECT_NEAR(r->classes[1].recall, 1.0, 1e-12);
  EXPECT_NEAR(r->classes[1].f1, 0.8, 1e-12);
  EXPECT_NEAR(r->classes[2].precision, 1.0, 1e-12);
  EXPECT_NEAR(r->classes[2].recall, 0.6, 1e-12);
  EXPECT_NEAR(r->classes[2].f1, 0.75, 1e-12);
  EXPECT_NEAR(r->macro.precision, (2.0 / 3 + 2.0 / 3 + 1.0) / 3, 1e-12);
  EXPECT_NEAR(r->macro.recall, (2.0 / 3 + 1.0 + 0.6) / 3, 1e-12);
  EXPECT_NEAR(r->macro.f1, (2.0 / 3 + 0.8 + 0.75) / 3, 1e-12);
  EXPECT_NEAR(r->weighted.precision, (3 * 2.0 / 3 + 2 * 2.0 / 3 + 5 * 1.0) / 10, 1e-12);
  EXPECT_NEAR(r->weighted.recall, 0.7, 1e-12);  // weighted recall is the accuracy
  EXPECT_EQ(r->weighted.support, 10);
  EXPECT_EQ(r->confusion, std::vector<int64_t>({2, 1, 0, 0, 2, 0, 1, 0, 3}));

  const std::string text = FormatClassReport(*r, {"cat", "dog", "bird"});
  EXPECT_NE(text.find("1 dog"), std::string::npos) << text;
  EXPECT_NE(text.find("0.8000"), std::string::npos) << text;
  EXPECT_NE(text.find("confusion matrix"), std::string::npos) << text;
  EXPECT_NE(text.find("   2   1   0   3"), std::string::npos) << text;  // the last row
  // Names only when there is one per class; no matrix above the limit.
  const std::string bare = FormatClassReport(*r, {"cat"}, 2);
  EXPECT_EQ(bare.find("cat"), std::string::npos);
  EXPECT_EQ(bare.find("confusion"), std::string::npos);
  // A class nothing is predicted as has precision 0, not a division by zero.
  const std::vector<int32_t> all_zero(10, 0);
  auto z = MakeClassReport(all_zero, labels, 3);
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->classes[2].precision, 0.0);
  EXPECT_EQ(z->classes[2].f1, 0.0);
  // Changes between two models' predictions: agreement and the classes whose recall moved most.
  const std::vector<int32_t> other = {0, 0, 0, 1, 0, 2, 2, 2, 2, 2};  // 1 down, 2 and 0 up
  const std::string changes =
      FormatPredictionChanges(predicted, other, labels, 3, {"cat", "dog", "bird"}, 2);
  EXPECT_EQ(changes,
            "same prediction on 60.00% (6 of 10); recall changed most: 1 dog 1.0000 -> 0.5000 "
            "(-50.00), 2 bird 0.6000 -> 1.0000 (+40.00)");
  EXPECT_EQ(FormatPredictionChanges(predicted, {0}, labels, 3, {}), "");
  // A label outside the classes is an error.
  const int32_t bad[1] = {5};
  EXPECT_FALSE(MakeClassReport({0}, bad, 3).ok());
}

}  // namespace
}  // namespace report
}  // namespace edgeopt
