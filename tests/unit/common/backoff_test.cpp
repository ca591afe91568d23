#include "common/backoff.h"

#include <gtest/gtest.h>

namespace okami::common {
namespace {

using std::chrono::milliseconds;

class FixedRandom : public Random {
 public:
  explicit FixedRandom(double v) : v_(v) {}
  double uniform() override { return v_; }

 private:
  double v_;
};

TEST(ExponentialBackoff, DoublesFromBaseUntilTheCap) {
  ExponentialBackoff b(milliseconds(5), milliseconds(1000 * 1000));
  EXPECT_EQ(b.delay(0), milliseconds(5));
  EXPECT_EQ(b.delay(1), milliseconds(10));
  EXPECT_EQ(b.delay(10), milliseconds(5120));
  EXPECT_EQ(b.delay(30), milliseconds(1000 * 1000));
  EXPECT_EQ(b.delay(4000), milliseconds(1000 * 1000));
}

TEST(ExponentialBackoff, JitterStretchesTheDelayWithinItsFraction) {
  ExponentialBackoff b(milliseconds(100), milliseconds(10000), 0.5);
  FixedRandom half(0.5);
  EXPECT_EQ(b.delay(0, &half), milliseconds(125));
  FixedRandom none(0.0);
  EXPECT_EQ(b.delay(0, &none), milliseconds(100));
}

}  // namespace
}  // namespace okami::common
