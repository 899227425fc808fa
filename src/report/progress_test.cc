#include "src/report/progress.h"

#include <gtest/gtest.h>

namespace edgeopt {
namespace report {
namespace {

TEST(ProgressTest, RenderShowsBarCounterMetricsRateAndEta) {
  EXPECT_EQ(ProgressBar::Render("epoch 1/3", 5, 10, "loss 0.5000", 1234.4, 65, 10),
            "epoch 1/3 [=====>    ] 5/10 loss 0.5000 | 1234 img/s ETA 1m05s");
  EXPECT_EQ(ProgressBar::Render("eval", 10, 10, "", 10, 0, 4),
            "eval [====] 10/10  | 10 img/s ETA 0s");
  EXPECT_EQ(FormatDuration(3725), "1h02m");
}

TEST(ProgressTest, DisabledOrNonTerminalWritesNothing) {
  FILE* f = tmpfile();
  ASSERT_NE(f, nullptr);
  {
    ProgressBar quiet("x", 3, /*enabled=*/false, f, /*force=*/true);
    quiet.Update(1, 1, "a");
    ProgressBar not_tty("x", 3, true, f, false);
    not_tty.Update(2, 2, "b");
  }
  EXPECT_EQ(ftell(f), 0);
  {
    ProgressBar forced("x", 3, true, f, true);
    forced.Update(3, 3, "c");
  }
  EXPECT_GT(ftell(f), 0);
  fclose(f);
}

}  // namespace
}  // namespace report
}  // namespace edgeopt
