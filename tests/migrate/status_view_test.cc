// What `migrate status` shows of a state (migrate/status_view.h).
#include "migrate/status_view.h"

#include <gtest/gtest.h>

namespace pgm::migrate {
namespace {

TEST(StatusView, RunningWithoutItsRunnerIsInterrupted) {
  State st;
  st.state = "running";
  st.started = 1000;
  EXPECT_EQ(status_view(st, false, 1060).phase, "interrupted");
  EXPECT_EQ(status_view(st, true, 1060).phase, "running");
  EXPECT_DOUBLE_EQ(status_view(st, true, 1060).age_s, 60);
  st.state = "done";
  EXPECT_EQ(status_view(st, false, 1060).phase, "done");
}

TEST(StatusView, BulkHasATotalAndAnEtaOtherStepsNot) {
  State st;
  st.state = "running";
  st.current_step = "bulk";
  st.logical = 1000;
  st.referenced = 400;
  st.transfer = TransferProgress{"tank/db@x", 400, 100};
  auto v = status_view(st, true, 0);
  ASSERT_TRUE(v.bulk_total);
  EXPECT_EQ(*v.bulk_total, 1000u);  // logical, before ZFS compression
  ASSERT_TRUE(v.eta_s);
  EXPECT_DOUBLE_EQ(*v.eta_s, 6);
  st.transfer->rate = 0;
  EXPECT_FALSE(status_view(st, true, 0).eta_s);
  st.logical.reset();  // an older state: referenced
  EXPECT_EQ(*status_view(st, true, 0).bulk_total, 400u);
  st.current_step = "rounds";
  EXPECT_FALSE(status_view(st, true, 0).bulk_total);
}

}  // namespace
}  // namespace pgm::migrate
