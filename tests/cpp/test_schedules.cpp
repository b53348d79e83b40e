// schedules.hpp: each schedule sets the optimizer's rate of every epoch by its formula, counts
// epochs and samples across calls, and ReduceOnPlateau waits, reduces and cools down.

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "blasnet/optimizers.hpp"
#include "blasnet/schedules.hpp"

namespace {

using namespace blasnet;

constexpr double pi = 3.141592653589793;

// The rates a schedule gives over epochs, each seeing samples(e) samples and loss(e).
std::vector<double> rates(Schedule& schedule, Optimizer& optimizer, std::size_t epochs,
                          const std::function<std::size_t(std::size_t)>& samples,
                          const std::function<double(std::size_t)>& loss) {
  std::vector<double> out;
  for (std::size_t e = 0; e < epochs; ++e) {
    schedule.begin_epoch(optimizer);
    out.push_back(optimizer.lr());
    schedule.end_epoch(samples(e), loss(e));
  }
  return out;
}

std::vector<double> rates(Schedule& schedule, Optimizer& optimizer, std::size_t epochs) {
  return rates(schedule, optimizer, epochs, [](std::size_t) { return std::size_t{10}; },
               [](std::size_t) { return 1.0; });
}

std::string invalid_argument_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(Schedule, CountsEpochsAndSamples) {
  Constant schedule;
  SGD sgd(0.3);
  const auto r = rates(schedule, sgd, 4, [](std::size_t e) { return e + 1; },
                       [](std::size_t) { return 1.0; });
  EXPECT_EQ(r, std::vector<double>(4, 0.3));
  EXPECT_EQ(schedule.epochs(), 4u);
  EXPECT_EQ(schedule.samples(), 1u + 2 + 3 + 4);
  EXPECT_EQ(schedule.describe(), "Constant()");
}

// α₀ is the optimizer's rate at the first begin_epoch; later changes to it are the schedule's.
TEST(Schedule, TakesTheInitialRateOnce) {
  StepDecay schedule(1, 0.5);
  SGD sgd(0.8);
  schedule.begin_epoch(sgd);
  schedule.end_epoch(1, 0);
  sgd.set_lr(100);  // ignored: the schedule already knows α₀ = 0.8
  schedule.begin_epoch(sgd);
  EXPECT_EQ(sgd.lr(), 0.4);
  Adam other(0.1);
  schedule.begin_epoch(other);  // a second optimizer gets the same schedule's rate
  EXPECT_EQ(other.lr(), 0.4);
}

TEST(InverseScaling, FollowsScikitLearnsInvscaling) {
  for (const double power : {0.5, 0.25, 1.0}) {
    InverseScaling schedule(power);
    SGD sgd(0.2);
    const auto samples = [](std::size_t e) { return 7 * e + 3; };
    const auto r = rates(schedule, sgd, 60, samples, [](std::size_t) { return 1.0; });
    std::size_t seen = 0;
    for (std::size_t e = 0; e < r.size(); ++e) {
      EXPECT_DOUBLE_EQ(r[e], 0.2 / std::pow(1.0 + static_cast<double>(seen), power)) << e;
      seen += samples(e);
    }
  }
  EXPECT_EQ(InverseScaling().power(), 0.5);
  EXPECT_EQ(InverseScaling(0.25).describe(), "InverseScaling(power=0.25)");
}

TEST(StepDecay, FallsByGammaEveryStepSizeEpochs) {
  StepDecay schedule(3, 0.5);
  SGD sgd(1.0);
  const auto r = rates(schedule, sgd, 10);
  EXPECT_EQ(r, (std::vector<double>{1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125}));

  StepDecay tenth(4);
  SGD other(0.3);
  const auto s = rates(tenth, other, 40);
  for (std::size_t e = 0; e < s.size(); ++e) {
    EXPECT_DOUBLE_EQ(s[e], 0.3 * std::pow(0.1, static_cast<double>(e / 4))) << e;
  }
  EXPECT_EQ(tenth.describe(), "StepDecay(step_size=4, gamma=0.1)");
}

TEST(Cosine, AnnealsToMinLrAndStaysThere) {
  for (const double min_lr : {0.0, 0.01}) {
    Cosine schedule(8, min_lr);
    SGD sgd(0.1);
    const auto r = rates(schedule, sgd, 20);
    for (std::size_t e = 0; e < r.size(); ++e) {
      const double done = static_cast<double>(std::min<std::size_t>(e, 8));
      EXPECT_NEAR(r[e], min_lr + (0.1 - min_lr) * (1 + std::cos(pi * done / 8)) / 2, 1e-15) << e;
    }
    EXPECT_EQ(r[0], 0.1);
    EXPECT_NEAR(r[4], (0.1 + min_lr) / 2, 1e-15);
    EXPECT_EQ(r[19], min_lr) << "past the period: min_lr, 0 included";
  }
  EXPECT_EQ(Cosine(5, 0.001).describe(), "Cosine(period=5, min_lr=0.001)");
}

// A schedule may take the rate to 0; set_lr itself still refuses 0.
TEST(Cosine, ARateOfZeroFreezesTheParameters) {
  Cosine schedule(1);
  SGD sgd(0.5, 0.9);
  schedule.begin_epoch(sgd);
  schedule.end_epoch(1, 0);
  schedule.begin_epoch(sgd);
  EXPECT_EQ(sgd.lr(), 0.0);
  std::vector<double> theta{1.0};
  const std::vector<double> g{1.0};
  sgd.step({theta.data(), 1}, {g.data(), 1});
  EXPECT_EQ(theta[0], 1.0);
  EXPECT_THROW(sgd.set_lr(0.0), std::invalid_argument);
}

// Losses 1, 0.5 improve; then a plateau. patience 3: the third epoch without improvement
// halves the rate for the next epoch, and so on every third.
TEST(ReduceOnPlateau, ReducesAfterPatienceEpochsWithoutImprovement) {
  ReduceOnPlateau schedule(0.5, 3, 0.0);
  SGD sgd(1.0);
  const auto r = rates(schedule, sgd, 10, [](std::size_t) { return std::size_t{1}; },
                       [](std::size_t e) { return e == 0 ? 1.0 : 0.5; });
  // Epochs 2, 3, 4 are bad → epoch 5 at 0.5; 5, 6, 7 bad → epoch 8 at 0.25.
  EXPECT_EQ(r, (std::vector<double>{1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25}));
  EXPECT_EQ(schedule.best(), 0.5);
  EXPECT_EQ(schedule.bad_epochs(), 2u);
}

TEST(ReduceOnPlateau, AnImprovementRestartsTheCount) {
  ReduceOnPlateau schedule(0.5, 2, 0.0);
  SGD sgd(1.0);
  const std::vector<double> losses{5, 5, 4, 4, 3, 3, 2, 2, 2, 2};
  const auto r = rates(schedule, sgd, losses.size(), [](std::size_t) { return std::size_t{1}; },
                       [&](std::size_t e) { return losses[e]; });
  // Never two bad epochs in a row until 7, 8 → epoch 9 reduced.
  EXPECT_EQ(r, (std::vector<double>{1, 1, 1, 1, 1, 1, 1, 1, 1, 0.5}));
}

// min_delta is absolute: falling by 0.01 a time does not count as improving by more than 0.05,
// falling by 0.1 does, whatever the loss's scale.
TEST(ReduceOnPlateau, MinDeltaIsAbsolute) {
  const auto one = [](std::size_t) { return std::size_t{1}; };
  ReduceOnPlateau slow(0.1, 2, 0.05);
  SGD sgd(1.0);
  const auto r = rates(slow, sgd, 5, one,
                       [](std::size_t e) { return 1.0 - 0.01 * static_cast<double>(e); });
  EXPECT_EQ(r[2], 1.0);
  EXPECT_DOUBLE_EQ(r[3], 0.1) << "epochs 1 and 2 fell by 0.01 and 0.02: not improvements";
  EXPECT_EQ(slow.best(), 1.0);

  for (const double scale : {10.0, 1000.0}) {
    ReduceOnPlateau steady(0.1, 2, 0.05);
    SGD other(1.0);
    const auto s = rates(steady, other, 8, one,
                         [scale](std::size_t e) { return scale - 0.1 * static_cast<double>(e); });
    EXPECT_EQ(s, std::vector<double>(8, 1.0)) << scale;
  }
}

// cooldown 2: the two epochs after a reduction are not counted, then patience starts over.
TEST(ReduceOnPlateau, CooldownLeavesEpochsUncounted) {
  ReduceOnPlateau schedule(0.5, 1, 0.0, 2);
  SGD sgd(1.0);
  const auto r = rates(schedule, sgd, 9, [](std::size_t) { return std::size_t{1}; },
                       [](std::size_t) { return 1.0; });
  // Epoch 0 improves (from ∞). 1 bad → reduce; 2, 3 cooldown; 4 bad → reduce; 5, 6 cool; 7 bad.
  EXPECT_EQ(r, (std::vector<double>{1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125}));
  EXPECT_EQ(schedule.cooldown_left(), 1u) << "epoch 8 was the first of the third cooldown";
}

TEST(ReduceOnPlateau, NeverBelowMinLrNorRaisedToIt) {
  ReduceOnPlateau schedule(0.1, 0, 0.0, 0, 0.003);
  SGD sgd(1.0);
  const auto r = rates(schedule, sgd, 6);
  // patience 0: every epoch without improvement reduces. Epoch 0 improves from ∞.
  EXPECT_EQ(r[0], 1.0);
  EXPECT_EQ(r[1], 1.0);
  EXPECT_DOUBLE_EQ(r[2], 0.1);
  EXPECT_DOUBLE_EQ(r[3], 0.01);
  EXPECT_EQ(r[4], 0.003);
  EXPECT_EQ(r[5], 0.003);

  ReduceOnPlateau floor_above(0.5, 0, 0.0, 0, 0.5);
  SGD small(0.1);
  EXPECT_EQ(rates(floor_above, small, 4), std::vector<double>(4, 0.1))
      << "a rate already below min_lr is left alone";
  EXPECT_EQ(ReduceOnPlateau().describe(),
            "ReduceOnPlateau(factor=0.1, patience=10, min_delta=0.0001, cooldown=0, min_lr=0.0)");
}

TEST(Schedules, InvalidParametersThrowNamingThem) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<std::pair<std::string, std::function<void()>>> cases{
      {"InverseScaling: power must be finite and non-negative, got power=-0.5",
       [] { InverseScaling(-0.5); }},
      {"StepDecay: step_size must be at least 1, got step_size=0", [] { StepDecay(0); }},
      {"StepDecay: gamma must be in (0, 1], got gamma=0.0", [] { StepDecay(2, 0.0); }},
      {"StepDecay: gamma must be in (0, 1], got gamma=1.5", [] { StepDecay(2, 1.5); }},
      {"Cosine: period must be at least 1, got period=0", [] { Cosine(0); }},
      {"Cosine: min_lr must be finite and non-negative, got min_lr=-1.0", [] { Cosine(3, -1); }},
      {"ReduceOnPlateau: factor must be in (0, 1), got factor=1.0", [] { ReduceOnPlateau(1.0); }},
      {"ReduceOnPlateau: min_delta must be finite and non-negative, got min_delta=nan",
       [nan] { ReduceOnPlateau(0.5, 1, nan); }},
      {"ReduceOnPlateau: min_lr must be finite and non-negative, got min_lr=-0.1",
       [] { ReduceOnPlateau(0.5, 1, 0.0, 0, -0.1); }},
  };
  for (const auto& [expected, construct] : cases) {
    EXPECT_EQ(invalid_argument_message(construct), expected);
  }
}

}  // namespace
