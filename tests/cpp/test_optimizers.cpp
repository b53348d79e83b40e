// optimizers.hpp: SGD (with momentum, Nesterov, weight decay), Adam and AdamW follow PyTorch's
// update rules over a flat buffer, keep their state between calls, and guard it: a step count
// that Adam's bias correction cannot take is refused, and the hold keeps another thread's calls
// waiting.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "blasnet/checked_size.hpp"
#include "blasnet/graph.hpp"  // NonFiniteError
#include "blasnet/optimizers.hpp"

namespace {

using blasnet::Adam;
using blasnet::AdamW;
using blasnet::NonFiniteError;
using blasnet::Optimizer;
using blasnet::SGD;
using blasnet::Span;

template <typename T>
Span<T> span(std::vector<T>& v) {
  return {v.data(), v.size()};
}
template <typename T>
Span<const T> cspan(const std::vector<T>& v) {
  return {v.data(), v.size()};
}

// The message of the std::invalid_argument f throws ("" if it throws none).
template <typename F>
std::string invalid_argument_message(F f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

template <typename T>
class SGDStep : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(SGDStep, Scalars);

// lr 0.5 and dyadic values: every product and difference is exact in both precisions.
TYPED_TEST(SGDStep, ExactUpdateThroughTheBaseClass) {
  using T = TypeParam;
  std::vector<T> params{1, 2, -3, 0.25};
  const std::vector<T> grads{0.5, -1, 2, 0};
  SGD sgd(0.5);
  Optimizer& optimizer = sgd;
  optimizer.step(span(params), cspan(grads));
  EXPECT_EQ(params, (std::vector<T>{0.75, 2.5, -4, 0.25}));
  // A second step applies the same rule again: no hidden state in plain SGD.
  optimizer.step(span(params), cspan(grads));
  EXPECT_EQ(params, (std::vector<T>{0.5, 3, -5, 0.25}));
  EXPECT_FALSE(optimizer.has_state());
  EXPECT_EQ(optimizer.steps(), 2u);
}

// μ = 0.5, lr = 0.5: v₁ = g, v₂ = 0.5·g + g = 1.5·g; Θ moves by 0.5·g, then by 0.75·g.
TYPED_TEST(SGDStep, MomentumExact) {
  using T = TypeParam;
  std::vector<T> params{1, -2};
  const std::vector<T> grads{1, 0.5};
  SGD sgd(0.5, 0.5);
  sgd.step(span(params), cspan(grads));
  EXPECT_EQ(params, (std::vector<T>{0.5, -2.25}));
  sgd.step(span(params), cspan(grads));
  EXPECT_EQ(params, (std::vector<T>{-0.25, -2.625}));
  EXPECT_EQ(sgd.state_names(), std::vector<std::string>{"momentum"});
  const Span<const T> v = std::as_const(sgd).template state<T>("momentum");
  EXPECT_EQ(std::vector<T>(v.begin(), v.end()), (std::vector<T>{1.5, 0.75}));
}

// Nesterov steps along g + μ·v: 1.5·g at the first step (v₁ = g), 1.75·g at the second
// (v₂ = 1.5·g).
TYPED_TEST(SGDStep, NesterovExact) {
  using T = TypeParam;
  std::vector<T> params{1};
  const std::vector<T> grads{1};
  SGD sgd(0.5, 0.5, true);
  sgd.step(span(params), cspan(grads));
  EXPECT_EQ(params[0], T(0.25));
  sgd.step(span(params), cspan(grads));
  EXPECT_EQ(params[0], T(-0.625));
}

// Weight decay λ = 0.5 adds λ·Θ to the gradient: g = 1 + 0.5·2 = 2, Θ = 2 − 0.25·2.
TYPED_TEST(SGDStep, WeightDecayExact) {
  using T = TypeParam;
  std::vector<T> params{2, -4};
  const std::vector<T> grads{1, 0};
  SGD sgd(0.25, 0, false, 0.5);
  sgd.step(span(params), cspan(grads));
  EXPECT_EQ(params, (std::vector<T>{1.5, -3.5}));
  EXPECT_FALSE(sgd.plain_sgd_rate()) << "weight decay is not plain SGD";
}

TYPED_TEST(SGDStep, SizeMismatchThrowsAndLeavesParameters) {
  using T = TypeParam;
  std::vector<T> params{1, 2, 3};
  const std::vector<T> grads{1, 1};
  for (SGD sgd : {SGD(0.1), SGD(0.1, 0.9)}) {
    const std::string message =
        invalid_argument_message([&] { sgd.step(span(params), cspan(grads)); });
    EXPECT_TRUE(contains(message, "3 parameters but 2 gradients")) << message;
    EXPECT_EQ(params, (std::vector<T>{1, 2, 3}));
    EXPECT_EQ(sgd.steps(), 0u);
    EXPECT_FALSE(sgd.has_state());
  }
}

TEST(SGD, InvalidLearningRatesThrow) {
  for (double lr : {0.0, -0.1, std::numeric_limits<double>::quiet_NaN(),
                    std::numeric_limits<double>::infinity()}) {
    const std::string message = invalid_argument_message([&] { SGD{lr}; });
    EXPECT_TRUE(contains(message, "SGD: learning rate must be positive and finite")) << message;
    EXPECT_TRUE(contains(message, "lr=")) << message;
  }
}

TEST(SGD, InvalidHyperparametersThrowNamingThem) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<std::pair<std::string, std::function<void()>>> cases{
      {"momentum=-0.1", [] { SGD(0.1, -0.1); }},
      {"momentum=1.0", [] { SGD(0.1, 1.0); }},
      {"momentum=nan", [nan] { SGD(0.1, nan); }},
      {"weight_decay=-1.0", [] { SGD(0.1, 0.0, false, -1.0); }},
      {"weight_decay=inf", [inf] { SGD(0.1, 0.0, false, inf); }},
      {"nesterov=True needs momentum > 0", [] { SGD(0.1, 0.0, true); }},
  };
  for (const auto& [expected, construct] : cases) {
    const std::string message = invalid_argument_message(construct);
    EXPECT_TRUE(contains(message, expected)) << expected << " | " << message;
    EXPECT_TRUE(contains(message, "SGD: ")) << message;
  }
}

TEST(SGD, SetLearningRate) {
  SGD sgd(0.1);
  EXPECT_EQ(sgd.lr(), 0.1);
  sgd.set_lr(0.25);
  EXPECT_EQ(sgd.lr(), 0.25);
  EXPECT_THROW(sgd.set_lr(0.0), std::invalid_argument);
  EXPECT_THROW(sgd.set_lr(std::nan("")), std::invalid_argument);
  EXPECT_EQ(sgd.lr(), 0.25) << "a rejected rate leaves the old one";

  std::vector<double> params{1};
  const std::vector<double> grads{1};
  sgd.step(span(params), cspan(grads));
  EXPECT_EQ(params[0], 0.75) << "step uses the new rate";
  EXPECT_EQ(sgd.plain_sgd_rate(), 0.25) << "and so does the folded update";
}

TEST(SGD, PlainRateOnlyWithoutMomentumOrDecay) {
  EXPECT_EQ(SGD(0.5).plain_sgd_rate(), 0.5);
  EXPECT_FALSE(SGD(0.5, 0.9).plain_sgd_rate());
  EXPECT_FALSE(SGD(0.5, 0.9, true).plain_sgd_rate());
  EXPECT_FALSE(SGD(0.5, 0.0, false, 1e-4).plain_sgd_rate());
  EXPECT_FALSE(Adam().plain_sgd_rate());
  EXPECT_FALSE(AdamW().plain_sgd_rate());
}

TEST(Optimizers, DescribeShowsEveryHyperparameterAsPythonSpellsIt) {
  EXPECT_EQ(SGD(0.5).describe(), "SGD(lr=0.5, momentum=0.0, nesterov=False, weight_decay=0.0)");
  EXPECT_EQ(SGD(0.1, 0.9, true, 1e-4).describe(),
            "SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.0001)");
  EXPECT_EQ(Adam().describe(),
            "Adam(lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-08, weight_decay=0.0)");
  EXPECT_EQ(AdamW(0.01, 0.8, 0.99, 1e-6, 0.05).describe(),
            "AdamW(lr=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-06, weight_decay=0.05)");
}

// --- Adam and AdamW ----------------------------------------------------------------------

// Adam written with the bias-corrected moments of the paper, m̂ = m/(1 − β₁ᵗ) and
// v̂ = v/(1 − β₂ᵗ): Θ ← Θ − α·m̂/(√v̂ + ε), PyTorch's rule rearranged. decoupled selects AdamW.
struct ReferenceAdam {
  ReferenceAdam(double lr_, double b1_, double b2_, double eps_, double wd_, bool decoupled_)
      : lr(lr_), b1(b1_), b2(b2_), eps(eps_), wd(wd_), decoupled(decoupled_) {}

  double lr, b1, b2, eps, wd;
  bool decoupled;
  std::vector<double> m, v;
  int t = 0;

  void step(std::vector<double>& theta, const std::vector<double>& grad) {
    if (m.empty()) m.assign(theta.size(), 0.0), v.assign(theta.size(), 0.0);
    ++t;
    for (std::size_t i = 0; i < theta.size(); ++i) {
      double g = grad[i];
      if (decoupled) {
        theta[i] -= lr * wd * theta[i];
      } else {
        g += wd * theta[i];
      }
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      const double m_hat = m[i] / (1 - std::pow(b1, t));
      const double v_hat = v[i] / (1 - std::pow(b2, t));
      theta[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
    }
  }
};

// Gradients that change from step to step, positive, negative and zero.
std::vector<double> gradient_at(int step, std::size_t n) {
  std::vector<double> g(n);
  for (std::size_t i = 0; i < n; ++i) {
    g[i] = std::sin(0.7 * static_cast<double>(i + 1) + 1.3 * step) * (i % 5 == 4 ? 0.0 : 1.0);
  }
  return g;
}

template <typename Rule>
void expect_matches_reference(Rule rule, ReferenceAdam reference) {
  const std::size_t n = 23;
  std::vector<double> theta(n), expected(n);
  for (std::size_t i = 0; i < n; ++i) theta[i] = expected[i] = 0.1 * static_cast<double>(i) - 1.0;
  for (int step = 0; step < 12; ++step) {
    const std::vector<double> g = gradient_at(step, n);
    rule.step(span(theta), cspan(g));
    reference.step(expected, g);
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_NEAR(theta[i], expected[i], 1e-12 * std::abs(expected[i]) + 1e-15)
          << rule.describe() << " step " << step << " i " << i;
    }
  }
  EXPECT_EQ(rule.steps(), 12u);
  const Span<const double> m = std::as_const(rule).template state<double>("m");
  for (std::size_t i = 0; i < n; ++i) EXPECT_NEAR(m[i], reference.m[i], 1e-12) << i;
}

TEST(Adam, MatchesTheBiasCorrectedReference) {
  expect_matches_reference(Adam(0.05), {0.05, 0.9, 0.999, 1e-8, 0.0, false});
  expect_matches_reference(Adam(0.01, 0.8, 0.95, 1e-6, 0.1), {0.01, 0.8, 0.95, 1e-6, 0.1, false});
}

TEST(AdamW, MatchesTheDecoupledReference) {
  expect_matches_reference(AdamW(0.05), {0.05, 0.9, 0.999, 1e-8, 0.01, true});
  expect_matches_reference(AdamW(0.02, 0.5, 0.9, 1e-7, 0.3), {0.02, 0.5, 0.9, 1e-7, 0.3, true});
}

// Adam's first step moves every weight with a non-zero gradient by lr·|g|/(|g| + ε), about lr,
// whatever the gradient's scale.
TEST(Adam, FirstStepIsAboutTheLearningRate) {
  std::vector<double> theta{0, 0, 0, 5};
  const std::vector<double> grads{1e3, -1e-3, 0, 2};
  Adam adam(0.1, 0.9, 0.999, 1e-8);
  adam.step(span(theta), cspan(grads));
  EXPECT_NEAR(theta[0], -0.1, 1e-9);
  EXPECT_NEAR(theta[1], 0.1, 1e-5);
  EXPECT_LT(theta[1], 0.1) << "ε matters at this scale";
  EXPECT_EQ(theta[2], 0.0) << "a zero gradient leaves the weight";
  EXPECT_NEAR(theta[3], 4.9, 1e-8);
}

// With zero gradients Adam's moments stay 0, so AdamW only decays: Θ·(1 − α·λ) per step,
// where Adam with the same λ as L2 moves the weight by about α instead.
TEST(AdamW, DecayIsDecoupled) {
  std::vector<double> decoupled{2.0}, coupled{2.0};
  const std::vector<double> zero{0.0};
  AdamW adamw(0.1, 0.9, 0.999, 1e-8, 0.5);
  Adam adam(0.1, 0.9, 0.999, 1e-8, 0.5);
  for (int i = 0; i < 3; ++i) {
    adamw.step(span(decoupled), cspan(zero));
    adam.step(span(coupled), cspan(zero));
  }
  EXPECT_DOUBLE_EQ(decoupled[0], 2.0 * 0.95 * 0.95 * 0.95);
  EXPECT_EQ(adamw.state<double>("m")[0], 0.0);
  EXPECT_NEAR(coupled[0], 2.0 - 3 * 0.1, 1e-3) << "L2 decay goes through the moments";
}

TEST(Adam, FloatAgreesWithDouble) {
  const std::size_t n = 17;
  std::vector<float> theta32(n);
  std::vector<double> theta64(n);
  for (std::size_t i = 0; i < n; ++i) {
    theta64[i] = 0.05 * static_cast<double>(i);
    theta32[i] = static_cast<float>(theta64[i]);
  }
  Adam a32(0.01, 0.9, 0.999, 1e-8, 0.01), a64(0.01, 0.9, 0.999, 1e-8, 0.01);
  for (int step = 0; step < 20; ++step) {
    const std::vector<double> g64 = gradient_at(step, n);
    const std::vector<float> g32(g64.begin(), g64.end());
    a32.step(span(theta32), cspan(g32));
    a64.step(span(theta64), cspan(g64));
  }
  EXPECT_TRUE(a32.holds_state<float>());
  EXPECT_TRUE(a64.holds_state<double>());
  for (std::size_t i = 0; i < n; ++i) EXPECT_NEAR(theta32[i], theta64[i], 1e-5) << i;
}

TEST(Adam, InvalidHyperparametersThrowNamingThem) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<std::pair<std::string, std::function<void()>>> cases{
      {"Adam: learning rate must be positive and finite, got lr=0.0", [] { Adam(0.0); }},
      {"Adam: beta_1 must be in [0, 1), got beta_1=1.0", [] { Adam(1e-3, 1.0); }},
      {"Adam: beta_1 must be in [0, 1), got beta_1=-0.5", [] { Adam(1e-3, -0.5); }},
      {"Adam: beta_2 must be in [0, 1), got beta_2=nan", [nan] { Adam(1e-3, 0.9, nan); }},
      {"Adam: epsilon must be positive and finite, got epsilon=0.0",
       [] { Adam(1e-3, 0.9, 0.999, 0.0); }},
      {"Adam: weight_decay must be finite and non-negative, got weight_decay=-0.1",
       [] { Adam(1e-3, 0.9, 0.999, 1e-8, -0.1); }},
      {"AdamW: beta_2 must be in [0, 1), got beta_2=1.5", [] { AdamW(1e-3, 0.9, 1.5); }},
      {"AdamW: weight_decay must be finite and non-negative, got weight_decay=nan",
       [nan] { AdamW(1e-3, 0.9, 0.999, 1e-8, nan); }},
  };
  for (const auto& [expected, construct] : cases) {
    EXPECT_EQ(invalid_argument_message(construct), expected);
  }
}

// --- state -------------------------------------------------------------------------------

TEST(OptimizerState, SizedByTheFirstStepAndKeptAcrossSteps) {
  Adam adam(0.1);
  EXPECT_EQ(adam.state_names(), (std::vector<std::string>{"m", "v"}));
  EXPECT_FALSE(adam.has_state());
  EXPECT_EQ(adam.state_size(), 0u);
  EXPECT_THROW(adam.state<double>("m"), std::invalid_argument) << "no step yet";

  std::vector<double> theta{1, 2, 3};
  const std::vector<double> g{0.5, -0.5, 1};
  adam.step(span(theta), cspan(g));
  EXPECT_TRUE(adam.has_state());
  EXPECT_EQ(adam.state_size(), 3u);
  EXPECT_EQ(adam.steps(), 1u);
  // m₁ = 0.1·g; v₁ = 0.001·g².
  EXPECT_DOUBLE_EQ(adam.state<double>("m")[0], 0.05);
  EXPECT_DOUBLE_EQ(adam.state<double>("v")[2], 0.001);
  adam.step(span(theta), cspan(g));
  EXPECT_EQ(adam.steps(), 2u);
  EXPECT_DOUBLE_EQ(adam.state<double>("m")[0], 0.9 * 0.05 + 0.1 * 0.5);

  const std::string unknown = invalid_argument_message([&] { adam.state<double>("momentum"); });
  EXPECT_TRUE(contains(unknown, "no state buffer 'momentum'; its buffers are m, v")) << unknown;
  const std::string wrong_type = invalid_argument_message([&] { adam.state<float>("m"); });
  EXPECT_TRUE(contains(wrong_type, "not held as float32")) << wrong_type;
}

TEST(OptimizerState, WritesThroughTheBufferAreUsed) {
  SGD sgd(1.0, 0.5);
  std::vector<double> theta{0.0};
  const std::vector<double> g{1.0};
  sgd.step(span(theta), cspan(g));  // v = 1, Θ = −1
  sgd.state<double>("momentum")[0] = 10.0;
  sgd.step(span(theta), cspan(g));  // v = 0.5·10 + 1 = 6, Θ = −7
  EXPECT_EQ(theta[0], -7.0);
}

TEST(OptimizerState, ABufferOfAnotherSizeOrTypeThrowsNamingBoth) {
  Adam adam(0.1);
  std::vector<double> theta(4, 1.0), g(4, 1.0);
  adam.step(span(theta), cspan(g));

  std::vector<double> longer(5, 1.0), longer_g(5, 1.0);
  const std::string size =
      invalid_argument_message([&] { adam.step(span(longer), cspan(longer_g)); });
  EXPECT_TRUE(contains(size, "Adam: its state belongs to a buffer of 4 float64 parameters, not to "
                             "these 5 float64 parameters")) << size;
  EXPECT_TRUE(contains(size, "reset()")) << size;
  EXPECT_EQ(longer, std::vector<double>(5, 1.0)) << "nothing changed";

  std::vector<float> narrow(4, 1.0f), narrow_g(4, 1.0f);
  const std::string type =
      invalid_argument_message([&] { adam.step(span(narrow), cspan(narrow_g)); });
  EXPECT_TRUE(contains(type, "4 float64 parameters, not to these 4 float32")) << type;
  EXPECT_EQ(narrow, std::vector<float>(4, 1.0f));
  EXPECT_EQ(adam.steps(), 1u) << "a rejected step is not counted";

  adam.reset();
  EXPECT_EQ(adam.steps(), 0u);
  EXPECT_FALSE(adam.has_state());
  adam.step(span(narrow), cspan(narrow_g));  // a fresh start on another buffer
  EXPECT_TRUE(adam.holds_state<float>());
  EXPECT_NEAR(narrow[0], 1.0f - 0.1f, 1e-6f) << "t restarted at 1: a full-size first step";
}

TEST(OptimizerState, StatelessSGDStepsAnyBuffer) {
  SGD sgd(0.5, 0.0, false, 0.1);
  std::vector<double> a{1, 2}, ga{0, 0};
  std::vector<float> b{1, 2, 3}, gb{0, 0, 0};
  sgd.step(span(a), cspan(ga));
  sgd.step(span(b), cspan(gb));
  EXPECT_TRUE(sgd.state_names().empty());
  EXPECT_FALSE(sgd.has_state());
  EXPECT_DOUBLE_EQ(a[1], 2 - 0.5 * 0.1 * 2);
}

// A fresh optimizer loaded with another's state continues exactly as the other does.
template <typename Rule, typename T>
void expect_load_state_continues(Rule a, Rule b) {
  const std::size_t n = 9;
  std::vector<T> pa(n), pb;
  for (std::size_t i = 0; i < n; ++i) pa[i] = static_cast<T>(0.3 * static_cast<double>(i) - 1);
  for (int step = 0; step < 3; ++step) {
    const std::vector<double> g = gradient_at(step, n);
    a.step(span(pa), cspan(std::vector<T>(g.begin(), g.end())));
  }
  std::vector<std::pair<std::string, Span<const T>>> saved;
  for (const std::string& name : a.state_names()) {
    saved.emplace_back(name, std::as_const(a).template state<T>(name));
  }
  b.load_state(a.steps(), saved);
  EXPECT_EQ(b.steps(), 3u);
  pb = pa;
  for (int step = 3; step < 6; ++step) {
    const std::vector<double> g = gradient_at(step, n);
    const std::vector<T> gt(g.begin(), g.end());
    a.step(span(pa), cspan(gt));
    b.step(span(pb), cspan(gt));
  }
  EXPECT_EQ(pa, pb) << a.describe();
}

TEST(OptimizerState, LoadStateContinuesExactly) {
  expect_load_state_continues<Adam, double>(Adam(0.05), Adam(0.05));
  expect_load_state_continues<AdamW, float>(AdamW(0.05), AdamW(0.05));
  expect_load_state_continues<SGD, double>(SGD(0.1, 0.9, true), SGD(0.1, 0.9, true));
}

TEST(OptimizerState, LoadStateRejectsBadStatesChangingNothing) {
  Adam adam(0.1);
  std::vector<double> theta(3, 1.0), g(3, 0.5);
  adam.step(span(theta), cspan(g));
  const Span<double> m = adam.state<double>("m");
  const std::vector<double> m_before(m.begin(), m.end());

  const std::vector<double> three(3, 7.0), two(2, 7.0);
  using Buffers = std::vector<std::pair<std::string, Span<const double>>>;
  const std::vector<std::pair<std::string, Buffers>> cases{
      {"unknown buffer 'momentum'",
       {{"m", cspan(three)}, {"v", cspan(three)}, {"momentum", cspan(three)}}},
      {"missing buffer 'v'", {{"m", cspan(three)}}},
      {"buffer 'm' twice", {{"m", cspan(three)}, {"m", cspan(three)}}},
      {"buffer 'm' of 3 values but 'v' of 2", {{"m", cspan(three)}, {"v", cspan(two)}}},
      {"got 5 steps but none of the buffers m, v", {}},
  };
  // Not a structured binding: a lambda may capture one only from C++20 on (clang refuses).
  for (const auto& test_case : cases) {
    const std::string& expected = test_case.first;
    const Buffers& buffers = test_case.second;
    const std::string message =
        invalid_argument_message([&] { adam.load_state<double>(5, buffers); });
    EXPECT_TRUE(contains(message, expected)) << expected << " | " << message;
    EXPECT_EQ(adam.steps(), 1u);
    EXPECT_EQ(std::vector<double>(adam.state<double>("m").begin(), adam.state<double>("m").end()),
              m_before);
  }
  adam.load_state<double>(0, {});  // an empty state, as after reset()
  EXPECT_FALSE(adam.has_state());
  EXPECT_EQ(adam.steps(), 0u);
}

// --- the step count ------------------------------------------------------------------------

// A saved count above max_steps (2⁶⁴ − 1 wraps to t = 0 at the next step, where 1 − β⁰ = 0
// divides) is refused, changing nothing.
TEST(OptimizerSteps, LoadStateRefusesMoreThanMaxSteps) {
  Adam adam(0.1);
  std::vector<double> theta(2, 1.0);
  const std::vector<double> g{0.5, -0.5};
  adam.step(span(theta), cspan(g));
  const std::vector<double> m(2, 0.1), v(2, 0.01);
  for (const std::size_t steps :
       {Optimizer::max_steps + 1, std::numeric_limits<std::size_t>::max()}) {
    const std::string message = invalid_argument_message([&] {
      adam.load_state<double>(steps, {{"m", cspan(m)}, {"v", cspan(v)}});
    });
    EXPECT_TRUE(contains(message, "load_state got " + std::to_string(steps) +
                                      " steps, more than the 9007199254740992"))
        << message;
    EXPECT_EQ(adam.steps(), 1u);
  }
  SGD sgd(0.1, 0.9);
  EXPECT_TRUE(contains(invalid_argument_message([&] {
                         sgd.load_state<double>(Optimizer::max_steps + 1, {{"momentum", cspan(m)}});
                       }),
                       "more than the"));
}

// At t = max_steps the corrections are 1 (β₁ᵗ and β₂ᵗ underflow): the step is Adam's without
// them. The step after that would count past the limit: it throws, changing nothing.
TEST(OptimizerSteps, LastCountStepsWithoutCorrectionThenThrows) {
  Adam adam(0.1);
  const std::vector<double> m0{0.2, -0.1}, v0{0.04, 0.09}, g{1.0, 3.0};
  adam.load_state<double>(Optimizer::max_steps - 1, {{"m", cspan(m0)}, {"v", cspan(v0)}});
  std::vector<double> theta{1.0, 2.0};
  adam.step(span(theta), cspan(g));
  EXPECT_EQ(adam.steps(), Optimizer::max_steps);
  for (std::size_t i = 0; i < 2; ++i) {
    const double m = 0.9 * m0[i] + (1 - 0.9) * g[i];
    const double v = 0.999 * v0[i] + (1 - 0.999) * g[i] * g[i];
    EXPECT_NEAR(theta[i], (i == 0 ? 1.0 : 2.0) - 0.1 * m / (std::sqrt(v) + 1e-8), 1e-15);
  }
  const std::vector<double> before = theta;
  EXPECT_THROW(adam.step(span(theta), cspan(g)), std::overflow_error);
  EXPECT_EQ(theta, before);
  EXPECT_EQ(adam.steps(), Optimizer::max_steps);
}

// β next to 1 (1 − β = 2⁻⁵³), first step: m̂ = g and v̂ = g², so Θ moves by lr·g/(|g| + ε),
// with no 0/0 from the correction.
TEST(OptimizerSteps, BiasCorrectionWithBetaNextToOne) {
  const double beta = std::nextafter(1.0, 0.0);
  Adam adam(0.1, beta, beta, 1e-8);
  std::vector<double> theta{0.0, 0.0};
  const std::vector<double> g{2.0, -0.5};
  adam.step(span(theta), cspan(g));
  EXPECT_NEAR(theta[0], -0.1 * 2.0 / (2.0 + 1e-8), 1e-15);
  EXPECT_NEAR(theta[1], 0.1 * 0.5 / (0.5 + 1e-8), 1e-15);
}

// --- the hold ------------------------------------------------------------------------------

// A copy takes the rule and the state (here while the source is held by this thread) and has
// a hold of its own: stepping one leaves the other as it was.
TEST(OptimizerHold, ACopyHasTheStateAndAHoldOfItsOwn) {
  Adam adam(0.1);
  std::vector<double> theta(3, 1.0);
  const std::vector<double> g{0.5, -1.0, 2.0};
  adam.step(span(theta), cspan(g));
  const auto held = adam.hold();
  Adam copy = adam;
  EXPECT_EQ(copy.steps(), 1u);
  EXPECT_EQ(copy.describe(), adam.describe());
  std::thread other([&] {  // the copy is free while the original is held
    std::vector<double> p(3, 1.0);
    copy.step(span(p), cspan(g));
  });
  other.join();
  EXPECT_EQ(copy.steps(), 2u);
  EXPECT_EQ(adam.steps(), 1u);
  EXPECT_NE(copy.state<double>("m")[0], adam.state<double>("m")[0]);
}

// While this thread holds the optimizer, every call from another thread that reads or writes
// its rate or state waits; released, they all go ahead.
TEST(OptimizerHold, OtherThreadsWaitUntilItIsReleased) {
  Adam adam(0.1);
  std::vector<double> theta(4, 1.0);
  const std::vector<double> g(4, 0.5);
  adam.step(span(theta), cspan(g));
  const std::vector<std::function<void(Adam&)>> calls{
      [](Adam& a) { a.reset(); },
      [](Adam& a) { a.load_state<double>(0, {}); },
      [](Adam& a) { a.set_lr(0.2); },
      [](Adam& a) { (void)a.steps(); },
      [](Adam& a) { (void)a.lr(); },
      [](Adam& a) { (void)a.has_state(); },
      [&](Adam& a) {
        std::vector<double> p(4, 1.0);
        a.step(span(p), cspan(g));
      },
  };
  for (std::size_t c = 0; c < calls.size(); ++c) {
    std::atomic<bool> done{false};
    std::thread other;
    {
      const auto held = adam.hold();
      adam.step(span(theta), cspan(g));  // recursive: the holder itself goes on
      other = std::thread([&] {
        calls[c](adam);
        done = true;
      });
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      EXPECT_FALSE(done.load()) << "call " << c << " did not wait";
    }
    other.join();
    EXPECT_TRUE(done.load());
  }
}

// Adam's two moments for 2^60 parameters are past what a vector can address: refused, saying
// what was asked, before a parameter is read (so the spans need not be real here).
TEST(OptimizerSizes, StateThatCannotBeAllocatedSaysWhatWasAsked) {
  Adam adam;
  double p = 0, g = 0;
  const std::size_t n = std::size_t(1) << 60;
  try {
    adam.step(Span<double>{&p, n}, Span<const double>{&g, n});
    FAIL() << "no exception";
  } catch (const blasnet::AllocationError& e) {
    EXPECT_NE(std::string(e.what()).find("Adam: the state of 1152921504606846976 parameters needs "
                                         "1.8e19 bytes"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(adam.has_state());
}

}  // namespace

// --- a step whose result would not be finite ----------------------------------------------

// What an optimizer holds that a step may change: the parameters, the step count, the state.
template <typename T>
struct Held {
  std::vector<T> theta;
  std::size_t steps;
  bool has_state;
  std::vector<std::vector<T>> buffers;

  Held(const Optimizer& rule, const std::vector<T>& params)
      : theta(params), steps(rule.steps()), has_state(rule.has_state()) {
    if (!has_state) return;
    for (const std::string& name : rule.state_names()) {
      const Span<const T> b = rule.state<T>(name);
      buffers.emplace_back(b.begin(), b.end());
    }
  }
  bool operator==(const Held& other) const {
    // Bit for bit (NaN would differ from itself, and must not be there at all).
    return theta == other.theta && steps == other.steps && has_state == other.has_state &&
           buffers == other.buffers;
  }
};

// The message of the NonFiniteError f throws ("" if it throws none).
template <typename F>
std::string non_finite_message(F f) {
  try {
    f();
  } catch (const NonFiniteError& e) {
    return e.what();
  }
  return "";
}

// Each rule first takes a finite step, so that it holds a state, then one whose update
// overflows the type: that one throws NonFiniteError and leaves the parameters, the count and
// the state exactly as the finite step left them. Then a step on a small gradient still works.
template <typename T>
void refuses_an_overflowing_update(Optimizer& rule, T huge_gradient) {
  SCOPED_TRACE(rule.describe());
  std::vector<T> theta{T(1), T(-2), T(0.5)};
  rule.step(span(theta), cspan(std::vector<T>{T(0.1), T(0.2), T(-0.3)}));
  const Held<T> before(rule, theta);
  const std::vector<T> g{T(0.1), huge_gradient, T(-0.3)};
  const std::string message = non_finite_message([&] { rule.step(span(theta), cspan(g)); });
  EXPECT_TRUE(contains(message, "the update of step 2 makes value 1 of the 3 parameters")) << message;
  EXPECT_TRUE(contains(message, "no parameter and no optimizer state was changed")) << message;
  EXPECT_TRUE(Held<T>(rule, theta) == before);
  rule.step(span(theta), cspan(std::vector<T>{T(0.1), T(0.2), T(-0.3)}));
  EXPECT_EQ(rule.steps(), 2u);
  for (T v : theta) EXPECT_TRUE(std::isfinite(v)) << v;
}

TEST(Overflow, EveryRuleRefusesAnUpdateThatOverflows) {
  for (const bool is_double : {false, true}) {
    // SGD: lr·g past the largest value of the type, with and without momentum.
    const double lr = is_double ? 1e300 : 1e30;
    SGD plain(lr), momentum(lr, 0.9), nesterov(lr, 0.9, true);
    for (Optimizer* rule : std::vector<Optimizer*>{&plain, &momentum, &nesterov}) {
      if (is_double) {
        refuses_an_overflowing_update<double>(*rule, 1e10);
      } else {
        refuses_an_overflowing_update<float>(*rule, 1e10f);
      }
    }
    // Adam's steps stay near lr, but g² overflows v: an infinite v (and a step of 0) is no
    // finite state either. With each form of weight decay.
    Adam adam(0.1), adam_l2(0.1, 0.9, 0.999, 1e-8, 0.01);
    AdamW adamw(0.1);
    for (Optimizer* rule : std::vector<Optimizer*>{&adam, &adam_l2, &adamw}) {
      if (is_double) {
        refuses_an_overflowing_update<double>(*rule, 1e200);
      } else {
        refuses_an_overflowing_update<float>(*rule, 1e30f);
      }
    }
  }
}

// A first step that overflows leaves no state behind: the buffers it sized go again, so the
// optimizer is as new (and a state saved now says 0 steps and no buffers).
TEST(Overflow, ARefusedFirstStepLeavesNoState) {
  Adam adam(1e308);  // step size α/(1 − β₁) is infinite
  std::vector<double> theta{1, 2};
  const std::vector<double> before = theta;
  EXPECT_THROW(adam.step(span(theta), cspan(std::vector<double>{1, 1})), NonFiniteError);
  EXPECT_EQ(theta, before);
  EXPECT_EQ(adam.steps(), 0u);
  EXPECT_FALSE(adam.has_state());
  EXPECT_EQ(adam.state_size(), 0u);
  // A state loaded with 0 steps is the optimizer's own, not the step's: it stays.
  const std::vector<double> zeros{0, 0};
  adam.load_state<double>(0, {{"m", cspan(zeros)}, {"v", cspan(zeros)}});
  EXPECT_THROW(adam.step(span(theta), cspan(std::vector<double>{1, 1})), NonFiniteError);
  EXPECT_TRUE(adam.has_state());
  EXPECT_EQ(adam.state_size(), 2u);
}
