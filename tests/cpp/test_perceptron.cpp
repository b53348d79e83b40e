// perceptron.hpp: the note's y = sgn(wᵀx + b) as a 0/1 step unit, and Rosenblatt's rule
// w ← w + lr·(t − y)·x, b ← b + lr·(t − y): a hand-worked run, a plain-loop reference update
// by update, Novikoff's mistake bound, non-separable data, several units at once, and every
// input check.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <new>
#include <numeric>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "blasnet/activations.hpp"
#include "blasnet/graph.hpp"  // NonFiniteError
#include "blasnet/perceptron.hpp"
#include "blasnet/random.hpp"
#include "reference.hpp"

namespace {

using blasnet::Perceptron;
using blasnet_test::Matrix;

template <typename T>
class PerceptronTyped : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(PerceptronTyped, Scalars);

// The four corners of the unit square, one per column (features × samples).
template <typename T>
Matrix<T> corners() {
  Matrix<T> X(2, 4);
  X.data = {0, 0, 0, 1, 1, 0, 1, 1};
  return X;
}

// Targets (n_out × n) from rows of 0/1 values.
template <typename T>
Matrix<T> targets(const std::vector<std::vector<int>>& rows) {
  Matrix<T> t(rows.size(), rows[0].size());
  for (std::size_t i = 0; i < t.rows; ++i) {
    for (std::size_t j = 0; j < t.cols; ++j) t(i, j) = T(rows[i][j]);
  }
  return t;
}

// A copy of W or b, const or not.
template <typename T>
std::vector<std::remove_const_t<T>> values(blasnet::Span<T> s) {
  return {s.begin(), s.end()};
}

// The rule as plain loops, written from the note and nothing else: visit the samples (in the
// order Rng(seed) shuffles them to, or as given), y = 1 if wᵀx + b ≥ 0, and move each unit
// that erred. Returns the mistakes per epoch; W (row-major) and b are updated in place.
template <typename T>
std::vector<std::size_t> reference_fit(const Matrix<T>& X, const Matrix<T>& t, T lr,
                                       std::size_t epochs, bool shuffle, std::uint64_t seed,
                                       std::vector<T>& W, std::vector<T>& b) {
  const std::size_t d = X.rows, n = X.cols, m = t.rows;
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t(0));
  blasnet::Rng rng(seed);
  std::vector<std::size_t> mistakes;
  for (std::size_t epoch = 0; epoch < epochs; ++epoch) {
    if (shuffle) rng.shuffle(order);
    std::size_t wrong = 0;
    for (std::size_t j : order) {
      std::vector<T> y(m);
      for (std::size_t i = 0; i < m; ++i) {
        T z = 0;
        for (std::size_t k = 0; k < d; ++k) z += W[i * d + k] * X(k, j);
        y[i] = z + b[i] >= 0 ? T(1) : T(0);
      }
      for (std::size_t i = 0; i < m; ++i) {
        const T e = t(i, j) - y[i];
        if (e == 0) continue;
        ++wrong;
        for (std::size_t k = 0; k < d; ++k) W[i * d + k] += lr * e * X(k, j);
        b[i] += lr * e;
      }
    }
    mistakes.push_back(wrong);
    if (wrong == 0) break;
  }
  return mistakes;
}

// Points of the plane on either side of the line w*ᵀx + b* = 0, none closer to it than
// `gap`: linearly separable with a known margin.
struct MarginData {
  Matrix<double> X{2, 0};
  Matrix<double> t{1, 0};
};

MarginData margin_data(std::size_t n, double gap, std::uint64_t seed) {
  const double w_star[2] = {0.6, -0.8}, b_star = 0.2;
  blasnet::Rng rng(seed);
  std::vector<double> xs, ts;
  while (ts.size() < n) {
    const double x0 = rng.uniform(-2, 2), x1 = rng.uniform(-2, 2);
    const double z = w_star[0] * x0 + w_star[1] * x1 + b_star;
    if (std::abs(z) < gap) continue;
    xs.push_back(x0);
    xs.push_back(x1);
    ts.push_back(z > 0 ? 1.0 : 0.0);
  }
  MarginData data;
  data.X = Matrix<double>(2, n);
  data.X.data = xs;
  data.t = Matrix<double>(1, n);
  data.t.data = ts;
  return data;
}

// --- predict -----------------------------------------------------------------------------

// Rosenblatt's start, w = 0 and b = 0, puts every sample on the boundary z = 0, which the step
// unit reads as 1: the same convention as Activation::step.
TYPED_TEST(PerceptronTyped, StartsAtZeroAndReadsTheBoundaryAsOne) {
  using T = TypeParam;
  const Perceptron<T> p(2, 3);
  EXPECT_EQ(values(p.weights()), std::vector<T>(6, T(0)));
  EXPECT_EQ(values(p.bias()), std::vector<T>(3, T(0)));
  const Matrix<T> X = corners<T>();
  Matrix<T> Y(3, 4);
  p.predict(X.view(), Y.view());
  EXPECT_EQ(Y.data, std::vector<T>(12, T(1)));
}

// out(i, j) = [W(i,:)·x_j + b_i ≥ 0] worked by hand, with X and out inside taller buffers (a
// leading dimension larger than the rows) whose padding must survive.
TYPED_TEST(PerceptronTyped, PredictIsStepOfWxPlusB) {
  using T = TypeParam;
  Perceptron<T> p(3, 2);
  const T W[6] = {1, -2, 0.5,  // unit 0
                  0, 1, 1};    // unit 1
  std::copy(W, W + 6, p.weights().begin());
  p.bias()[0] = T(-1);
  p.bias()[1] = T(0.25);
  Matrix<T> X(3, 4, /*ld=*/5, T(99));
  const T columns[4][3] = {{2, 0, 0}, {0, 1, 0}, {1, 0, 0}, {0, -1, 0.75}};
  for (std::size_t j = 0; j < 4; ++j) {
    for (std::size_t k = 0; k < 3; ++k) X(k, j) = columns[j][k];
  }
  Matrix<T> Y(2, 4, /*ld=*/3, T(7));
  p.predict(X.cview(), Y.view());
  // z (unit 0): 2−1 = 1, −2−1 = −3, 1−1 = 0 (boundary: 1), 2+0.375−1 = 1.375
  // z (unit 1): 0.25, 1.25, 0.25, −1+0.75+0.25 = 0 (boundary: 1)
  const T expected[2][4] = {{1, 0, 1, 1}, {1, 1, 1, 1}};
  for (std::size_t j = 0; j < 4; ++j) {
    for (std::size_t i = 0; i < 2; ++i) EXPECT_EQ(Y(i, j), expected[i][j]) << i << ", " << j;
    EXPECT_EQ(Y.data[2 + j * 3], T(7)) << "padding of column " << j;
  }
  // A tiny negative z is off: unit 1 on x = (0, −1, 0.75 − ε).
  X(2, 3) = T(0.75) - std::numeric_limits<T>::epsilon();
  p.predict(X.cview(), Y.view());
  EXPECT_EQ(Y(1, 3), T(0));
}

// predict is eq. (1) then Activation::step on random data: the two never disagree.
TYPED_TEST(PerceptronTyped, PredictAgreesWithAStepLayer) {
  using T = TypeParam;
  Perceptron<T> p(5, 4);
  blasnet::Rng rng(3);
  for (T& w : p.weights()) w = T(rng.uniform(-1, 1));
  for (T& v : p.bias()) v = T(rng.uniform(-1, 1));
  const Matrix<T> X = blasnet_test::random_matrix<T>(5, 37, 11);
  Matrix<T> Y(4, 37);
  p.predict(X.view(), Y.view());
  // Z = W·X in plain loops, then the step layer's own code.
  Matrix<T> Z(4, 37);
  for (std::size_t j = 0; j < 37; ++j) {
    for (std::size_t i = 0; i < 4; ++i) {
      double z = 0;
      for (std::size_t k = 0; k < 5; ++k) z += double(p.weights()[i * 5 + k]) * double(X(k, j));
      Z(i, j) = T(z);
    }
  }
  Matrix<T> expected(4, 37);
  blasnet::activation_forward<T>(blasnet::Activation::step, p.bias().data, Z.view(),
                                 expected.view());
  EXPECT_EQ(Y.data, expected.data);
  const auto ones = std::count(Y.data.begin(), Y.data.end(), T(1));
  EXPECT_GT(ones, 0);
  EXPECT_LT(ones, 4 * 37);
}

TEST(PerceptronPredict, NoSamplesGiveNoPredictions) {
  const Perceptron<double> p(2, 1);
  Matrix<double> X(2, 0), Y(1, 0);
  EXPECT_NO_THROW(p.predict(X.cview(), Y.view()));
}

// --- the rule ----------------------------------------------------------------------------

// AND on the corners, lr = 1, samples in order, every update worked out by hand:
//   epoch 1: (0,0) z=0 → 1, t=0: b=−1;  (1,1) z=−1 → 0, t=1: w=(1,1), b=0           2 mistakes
//   epoch 2: (0,0) b=−1; (0,1) w=(1,0), b=−2; (1,1) w=(2,1), b=−1                    3
//   epoch 3: (0,1) w=(2,0), b=−2; (1,0) w=(1,0), b=−3; (1,1) w=(2,1), b=−2           3
//   epoch 4: (1,0) z=0 → 1: w=(1,1), b=−3; (1,1) z=−1: w=(2,2), b=−2                 2
//   epoch 5: (0,1) z=0 → 1: w=(2,1), b=−3                                            1
//   epoch 6: z = −3, −2, −1, 0 → 0, 0, 0, 1: no mistake, converged.
TYPED_TEST(PerceptronTyped, HandWorkedAnd) {
  using T = TypeParam;
  Perceptron<T> p(2, 1);
  const Matrix<T> X = corners<T>();
  const Matrix<T> t = targets<T>({{0, 0, 0, 1}});
  const std::vector<std::size_t> mistakes =
      p.fit(X.view(), t.view(), T(1), 100, /*shuffle=*/false, 0);
  EXPECT_EQ(mistakes, (std::vector<std::size_t>{2, 3, 3, 2, 1, 0}));
  EXPECT_EQ(values(p.weights()), (std::vector<T>{2, 1}));
  EXPECT_EQ(values(p.bias()), (std::vector<T>{-3}));
  Matrix<T> Y(1, 4);
  p.predict(X.view(), Y.view());
  EXPECT_EQ(Y.data, t.data);
}

// Update by update the same as the plain-loop rule, in order and shuffled, on data that is not
// separable (random labels), so every epoch runs.
TYPED_TEST(PerceptronTyped, MatchesPlainLoopRuleUpdateByUpdate) {
  using T = TypeParam;
  const Matrix<T> X = blasnet_test::random_matrix<T>(4, 40, 21, -2.0, 2.0);
  Matrix<T> t(3, 40);
  blasnet::Rng rng(5);
  for (T& v : t.data) v = T(rng.below(2));
  for (const bool shuffle : {false, true}) {
    SCOPED_TRACE(shuffle ? "shuffled" : "in order");
    Perceptron<T> p(4, 3);
    std::vector<T> W(12, T(0)), b(3, T(0));
    const auto mistakes = p.fit(X.view(), t.view(), T(0.25), 7, shuffle, 99);
    const auto expected = reference_fit<T>(X, t, T(0.25), 7, shuffle, 99, W, b);
    EXPECT_EQ(mistakes, expected);
    EXPECT_EQ(mistakes.size(), 7u);
    EXPECT_EQ(values(p.weights()), W);
    EXPECT_EQ(values(p.bias()), b);
  }
}

// Novikoff: on data separated with margin γ by a unit-norm (w*, b*), the rule started at zero
// makes at most (R/γ)² mistakes in all, R = max ‖(x, 1)‖, in any order, and then stops.
TEST(PerceptronRule, ConvergesWithinNovikoffsBound) {
  const MarginData data = margin_data(300, 0.25, 8);
  const double w_star[3] = {0.6, -0.8, 0.2};
  const double norm = std::sqrt(0.36 + 0.64 + 0.04);
  double R = 0, gamma = std::numeric_limits<double>::infinity();
  for (std::size_t j = 0; j < data.X.cols; ++j) {
    const double x0 = data.X(0, j), x1 = data.X(1, j);
    R = std::max(R, std::sqrt(x0 * x0 + x1 * x1 + 1));
    const double signed_margin = (w_star[0] * x0 + w_star[1] * x1 + w_star[2]) / norm;
    gamma = std::min(gamma, data.t(0, j) == 1 ? signed_margin : -signed_margin);
  }
  ASSERT_GT(gamma, 0.2);
  const double bound = (R / gamma) * (R / gamma);
  for (const std::uint64_t seed : {0u, 1u, 2u, 3u}) {
    Perceptron<double> p(2, 1);
    const auto mistakes = p.fit(data.X.view(), data.t.view(), 1.0, 1000, seed != 0, seed);
    ASSERT_EQ(mistakes.back(), 0u) << "seed " << seed;
    const std::size_t total = std::accumulate(mistakes.begin(), mistakes.end(), std::size_t(0));
    EXPECT_GT(total, 0u);
    EXPECT_LE(double(total), bound) << "seed " << seed;
    Matrix<double> Y(1, data.X.cols);
    p.predict(data.X.view(), Y.view());
    EXPECT_EQ(Y.data, data.t.data) << "converged means every training sample is right";
  }
}

// XOR has no separating line (the note's Figure 4): the rule errs in every epoch and runs them
// all.
TEST(PerceptronRule, XorNeverConverges) {
  Perceptron<double> p(2, 1);
  const Matrix<double> X = corners<double>();
  const Matrix<double> t = targets<double>({{0, 1, 1, 0}});
  const auto mistakes = p.fit(X.view(), t.view(), 1.0, 50, true, 4);
  ASSERT_EQ(mistakes.size(), 50u);
  for (std::size_t m : mistakes) EXPECT_GT(m, 0u);
  Matrix<double> Y(1, 4);
  p.predict(X.view(), Y.view());
  EXPECT_NE(Y.data, t.data);
}

// Units learn independently: AND, OR and NAND at once end where each alone ends, and the
// epochs' mistakes are the sums of theirs.
TYPED_TEST(PerceptronTyped, SeveralUnitsLearnAsIfAlone) {
  using T = TypeParam;
  const Matrix<T> X = corners<T>();
  const std::vector<std::vector<int>> rows = {{0, 0, 0, 1}, {0, 1, 1, 1}, {1, 1, 1, 0}};
  Perceptron<T> all(2, 3);
  const auto together = all.fit(X.view(), targets<T>(rows).view(), T(1), 100, true, 7);
  ASSERT_EQ(together.back(), 0u);
  std::vector<std::size_t> summed(together.size(), 0);
  for (std::size_t i = 0; i < 3; ++i) {
    Perceptron<T> one(2, 1);
    const auto alone = one.fit(X.view(), targets<T>({rows[i]}).view(), T(1), 100, true, 7);
    ASSERT_LE(alone.size(), together.size());
    for (std::size_t e = 0; e < alone.size(); ++e) summed[e] += alone[e];
    EXPECT_EQ(one.weights()[0], all.weights()[2 * i]) << "unit " << i;
    EXPECT_EQ(one.weights()[1], all.weights()[2 * i + 1]) << "unit " << i;
    EXPECT_EQ(one.bias()[0], all.bias()[i]) << "unit " << i;
  }
  EXPECT_EQ(together, summed);
}

// From zero weights, lr only scales w and b: the same mistakes, and (a power of two being
// exact) exactly lr times the weights of lr = 1.
TEST(PerceptronRule, LearningRateOnlyScalesFromZero) {
  const MarginData data = margin_data(100, 0.1, 2);
  Perceptron<double> unit(2, 1), scaled(2, 1);
  const auto a = unit.fit(data.X.view(), data.t.view(), 1.0, 200, true, 1);
  const auto b = scaled.fit(data.X.view(), data.t.view(), 0.125, 200, true, 1);
  EXPECT_EQ(a, b);
  for (std::size_t k = 0; k < 2; ++k) EXPECT_EQ(scaled.weights()[k], 0.125 * unit.weights()[k]);
  EXPECT_EQ(scaled.bias()[0], 0.125 * unit.bias()[0]);
}

// An update that overflows is refused before it is written: sample 0 (x = 1, t = 0) moves the
// unit to w = b = −10¹⁰; sample 1 (x = 10³⁰⁰, t = 1) would add 10¹⁰·10³⁰⁰ to w. fit throws
// NonFiniteError naming the epoch, the sample and the unit, and keeps the weights of sample 0.
TEST(PerceptronRule, AnOverflowingUpdateChangesNothing) {
  Matrix<double> X(1, 2), t(1, 2);
  X(0, 0) = 1;
  X(0, 1) = 1e300;
  t(0, 0) = 0;
  t(0, 1) = 1;
  Perceptron<double> unit(1, 1);
  try {
    unit.fit(X.view(), t.view(), 1e10, 3, false, 0);
    FAIL() << "no NonFiniteError";
  } catch (const blasnet::NonFiniteError& e) {
    EXPECT_EQ(std::string(e.what()),
              "Perceptron::fit: at epoch 0, sample 1, the update of unit 0 overflows (lr times "
              "the sample); the weights are those before it");
  }
  EXPECT_EQ(unit.weights()[0], -1e10);
  EXPECT_EQ(unit.bias()[0], -1e10);
}

TEST(PerceptronRule, SameSeedSameRunOtherSeedOtherOrder) {
  const MarginData data = margin_data(200, 0.02, 6);
  auto run = [&](std::uint64_t seed) {
    Perceptron<double> p(2, 1);
    auto mistakes = p.fit(data.X.view(), data.t.view(), 1.0, 500, true, seed);
    return std::make_pair(mistakes, values(p.weights()));
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

// fit continues from the weights it finds (a warm start): from a separating w it makes no
// mistake and changes nothing.
TEST(PerceptronRule, StartsFromTheCurrentWeights) {
  Perceptron<double> p(2, 1);
  p.weights()[0] = 2;
  p.weights()[1] = 1;
  p.bias()[0] = -3;
  const auto mistakes =
      p.fit(corners<double>().view(), targets<double>({{0, 0, 0, 1}}).view(), 1.0, 10, true, 0);
  EXPECT_EQ(mistakes, (std::vector<std::size_t>{0}));
  EXPECT_EQ(values(p.weights()), (std::vector<double>{2, 1}));
  EXPECT_EQ(p.bias()[0], -3);
}

TEST(PerceptronRule, CallbackSeesEachEpochAndCanStop) {
  Perceptron<double> p(2, 1);
  std::vector<std::size_t> seen;
  const auto mistakes = p.fit(corners<double>().view(), targets<double>({{0, 1, 1, 0}}).view(),
                              1.0, 50, false, 0, [&](std::size_t epoch, std::size_t wrong) {
                                EXPECT_EQ(epoch, seen.size());
                                seen.push_back(wrong);
                                return epoch < 2;
                              });
  EXPECT_EQ(mistakes.size(), 3u);
  EXPECT_EQ(seen, mistakes);
}

// --- input checks ------------------------------------------------------------------------

// Runs f, expects std::invalid_argument, and that its message contains every fragment.
template <typename F>
void expect_invalid(F f, std::initializer_list<const char*> fragments) {
  try {
    f();
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    for (const char* fragment : fragments) {
      EXPECT_NE(what.find(fragment), std::string::npos) << "'" << fragment << "' in: " << what;
    }
  }
}

TEST(PerceptronErrors, Construction) {
  expect_invalid([] { Perceptron<double>(0, 1); }, {"n_features", "positive"});
  expect_invalid([] { Perceptron<float>(2, 0); }, {"n_outputs", "positive"});
}

TEST(PerceptronErrors, PredictShapesAndValues) {
  Perceptron<double> p(2, 3);
  Matrix<double> X3(3, 4), Y(3, 4), Y_rows(2, 4), Y_cols(3, 5);
  expect_invalid([&] { p.predict(X3.cview(), Y.view()); },
                 {"Perceptron::predict", "3 features", "reads 2 features"});
  Matrix<double> X(2, 4);
  expect_invalid([&] { p.predict(X.cview(), Y_rows.view()); },
                 {"out holds 2 outputs", "3 outputs"});
  expect_invalid([&] { p.predict(X.cview(), Y_cols.view()); }, {"5 samples", "4 samples"});
  X(1, 2) = std::numeric_limits<double>::quiet_NaN();
  expect_invalid([&] { p.predict(X.cview(), Y.view()); }, {"NaN or Inf", "sample 2, feature 1"});
  X(1, 2) = 0;
  p.weights()[5] = std::numeric_limits<double>::infinity();
  expect_invalid([&] { p.predict(X.cview(), Y.view()); }, {"W(2, 1)", "NaN or Inf"});
  p.weights()[5] = 0;
  p.bias()[1] = std::numeric_limits<double>::quiet_NaN();
  expect_invalid([&] { p.predict(X.cview(), Y.view()); }, {"b(1)", "NaN or Inf"});
}

TEST(PerceptronErrors, FitChecksEverythingAndChangesNothing) {
  Perceptron<double> p(2, 1);
  Matrix<double> X = corners<double>();
  Matrix<double> t = targets<double>({{0, 0, 0, 1}});
  const auto fit = [&](const Matrix<double>& x, const Matrix<double>& y, double lr,
                       std::size_t epochs) {
    return [&, lr, epochs] { p.fit(x.view(), y.view(), lr, epochs, false, 0); };
  };
  const Matrix<double> X3(3, 4), empty_X(2, 0), empty_t(1, 0), t2(2, 4), t5(1, 5);
  expect_invalid(fit(X3, t, 1, 10), {"Perceptron::fit", "3 features", "reads 2"});
  expect_invalid(fit(empty_X, empty_t, 1, 10), {"no samples"});
  expect_invalid(fit(X, t2, 1, 10), {"targets hold 2 outputs", "expected 1 output"});
  expect_invalid(fit(X, t5, 1, 10), {"5 samples", "4 samples"});
  expect_invalid(fit(X, t, 0, 10), {"lr must be positive"});
  expect_invalid(fit(X, t, -1, 10), {"lr must be positive"});
  expect_invalid(fit(X, t, std::nan(""), 10), {"lr must be positive and finite"});
  expect_invalid(fit(X, t, std::numeric_limits<double>::infinity(), 10), {"finite"});
  expect_invalid(fit(X, t, 1, 0), {"epochs must be at least 1"});
  for (const double bad : {0.5, 2.0, -1.0, std::nan("")}) {
    t(0, 3) = bad;
    expect_invalid(fit(X, t, 1, 10), {"target", "sample 3, output 0", "not 0 or 1"});
  }
  t(0, 3) = 1;
  X(0, 1) = -std::numeric_limits<double>::infinity();
  expect_invalid(fit(X, t, 1, 10), {"NaN or Inf", "sample 1, feature 0"});
  EXPECT_EQ(values(p.weights()), (std::vector<double>{0, 0})) << "no partial training";
  EXPECT_EQ(values(p.bias()), (std::vector<double>{0}));
}

// 2^33 units over 2^33 features: the weight count wraps; 2^31 over 2^30 fits but is past what
// a vector of doubles can address, refused before the allocator is asked.
TEST(PerceptronSizes, WeightsThatWrapOrCannotBeAllocatedAreRefused) {
  const std::size_t big = std::size_t(1) << 33;
  EXPECT_THROW(Perceptron<double>(big, big), std::overflow_error);
  try {
    Perceptron<double>(std::size_t(1) << 31, std::size_t(1) << 30);
    FAIL() << "no exception";
  } catch (const std::bad_alloc& e) {
    EXPECT_EQ(std::string(e.what()),
              "Perceptron: 1073741824 units over 2147483648 features need 1.8e19 bytes of "
              "weights, more memory than could be allocated");
  }
}

}  // namespace
