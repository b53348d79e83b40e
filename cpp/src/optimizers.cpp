#include "blasnet/optimizers.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "blasnet/checked_size.hpp"
#include "blasnet/graph.hpp"
#include "finite.hpp"
#include "float_repr.hpp"
#include "two_passes.hpp"

namespace blasnet {
namespace {

template <typename T>
const char* scalar_name() {
  return sizeof(T) == sizeof(float) ? "float32" : "float64";
}

// Throws "<optimizer>: <parameter> must be <requirement>, got <parameter>=<value>" unless ok.
void require(bool ok, const std::string& optimizer, const char* parameter, double value,
             const char* requirement) {
  if (!ok) {
    throw std::invalid_argument(optimizer + ": " + parameter + " must be " + requirement +
                                ", got " + parameter + "=" + float_repr(value));
  }
}

double checked_lr(const std::string& optimizer, double lr) {
  if (!(std::isfinite(lr) && lr > 0)) {
    throw std::invalid_argument(optimizer + ": learning rate must be positive and finite, got lr=" +
                                float_repr(lr));
  }
  return lr;
}

void check_weight_decay(const std::string& optimizer, double weight_decay) {
  require(std::isfinite(weight_decay) && weight_decay >= 0, optimizer, "weight_decay",
          weight_decay, "finite and non-negative");
}

void check_adam(const std::string& optimizer, double beta_1, double beta_2, double epsilon,
                double weight_decay) {
  require(beta_1 >= 0 && beta_1 < 1, optimizer, "beta_1", beta_1, "in [0, 1)");
  require(beta_2 >= 0 && beta_2 < 1, optimizer, "beta_2", beta_2, "in [0, 1)");
  require(std::isfinite(epsilon) && epsilon > 0, optimizer, "epsilon", epsilon,
          "positive and finite");
  check_weight_decay(optimizer, weight_decay);
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

enum class Decay { none, l2, decoupled };

// Adam's step t over the flat buffers, with the weight decay λ added to the gradient (Adam)
// or applied to the weights (AdamW). m and v are the moment buffers, as long as params. Each
// weight-decay form is its own loop, free of branches, so that the compiler vectorizes it.
//
// The bias corrections of Kingma & Ba's Algorithm 1, m̂ = m/(1 − β₁ᵗ) and v̂ = v/(1 − β₂ᵗ), hold
// for every t that begin_step hands out, 1 ≤ t ≤ max_steps = 2⁵³: t is exact as a double, a
// large t makes βᵗ underflow to 0 and the correction exactly 1 (its limit), and since β < 1,
// 1 − βᵗ ≥ 1 − β > 0 for t ≥ 1. Taking that bound as a floor changes nothing when pow is
// accurate and keeps the divisor positive whatever the libm's last bit.
template <Decay form, typename T>
Overflow adam_update(Span<T> params, Span<const T> grads, T* m, T* v, std::size_t t, double lr,
                     double beta_1, double beta_2, double epsilon, double weight_decay) {
  const auto steps = static_cast<double>(t);
  const auto correction = [steps](double beta) {  // 1 − βᵗ
    return std::max(1 - std::pow(beta, steps), 1 - beta);
  };
  const T step_size = static_cast<T>(lr / correction(beta_1));
  const T root_correction_2 = static_cast<T>(std::sqrt(correction(beta_2)));
  const T decay = static_cast<T>(1 - lr * weight_decay);
  const T b1 = static_cast<T>(beta_1), b2 = static_cast<T>(beta_2);
  const T c1 = static_cast<T>(1 - beta_1), c2 = static_cast<T>(1 - beta_2);
  const T eps = static_cast<T>(epsilon), lambda = static_cast<T>(weight_decay);
  T* const theta = params.data;
  const T* const gradient = grads.data;
  // |Θ − Δ| ≤ |Θ| + (α/(1 − β₁ᵗ)/ε)·|m|, since the denominator is at least ε: below half the
  // largest T, with v finite, the update is finite. A bound without the root and the division,
  // which passes every step of ordinary training.
  const T reach = step_size / eps;
  const int half_max = std::numeric_limits<T>::max_exponent - 1;
  const auto bound = [&](std::size_t i) {
    T th = theta[i];
    T g = gradient[i];
    if constexpr (form == Decay::decoupled) th *= decay;
    if constexpr (form == Decay::l2) g += lambda * th;
    const T m_i = b1 * m[i] + c1 * g;
    const T v_i = b2 * v[i] + c2 * g * g;
    return at_least_power_of_two(std::fabs(th) + reach * std::fabs(m_i), half_max) |
           not_finite(v_i);
  };
  return two_passes(params.size, bound, [&](std::size_t i, auto mode) {
    T th = theta[i];
    T g = gradient[i];
    if constexpr (form == Decay::decoupled) th *= decay;  // Θ ← Θ·(1 − α·λ)
    if constexpr (form == Decay::l2) g += lambda * th;    // g ← ∇J + λ·Θ
    const T m_i = b1 * m[i] + c1 * g;                     // m ← β₁·m + (1 − β₁)·g
    const T v_i = b2 * v[i] + c2 * g * g;                 // v ← β₂·v + (1 − β₂)·g²
    // Θ ← Θ − α/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
    th -= step_size * (m_i / (std::sqrt(v_i) / root_correction_2 + eps));
    if constexpr (std::is_same_v<decltype(mode), Write>) {
      theta[i] = th;
      m[i] = m_i;
      v[i] = v_i;
    }
    if constexpr (std::is_same_v<decltype(mode), Report>) {
      *mode.value = not_finite(th) ? th : not_finite(m_i) ? m_i : v_i;
    }
    return not_finite(th) | not_finite(m_i) | not_finite(v_i);
  });
}

}  // namespace

// --- Optimizer: the rate and the state -----------------------------------------------------

Optimizer::Optimizer(std::string name, double lr, std::vector<std::string> state_names)
    : name_(std::move(name)), lr_(checked_lr(name_, lr)), state_names_(std::move(state_names)) {}

Optimizer::Optimizer(const Optimizer& other) { *this = other; }

Optimizer& Optimizer::operator=(const Optimizer& other) {
  if (this == &other) return *this;
  const std::scoped_lock both(mutex_, other.mutex_);
  name_ = other.name_;
  lr_ = other.lr_;
  state_names_ = other.state_names_;
  steps_ = other.steps_;
  state_size_ = other.state_size_;
  state_ = other.state_;
  return *this;
}

void Optimizer::set_lr(double lr) {
  const double checked = checked_lr(name_, lr);
  const auto held = hold();
  lr_ = checked;
}

void Optimizer::restore_lr(double lr) {
  if (!(std::isfinite(lr) && lr >= 0)) {
    throw std::invalid_argument(name_ + ": a schedule set the learning rate to " +
                                float_repr(lr) + "; it must be finite and non-negative");
  }
  const auto held = hold();
  lr_ = lr;
}

void Optimizer::step(Span<float> params, Span<const float> grads) {
  const auto held = hold();
  apply_step(params, grads);
}

void Optimizer::step(Span<double> params, Span<const double> grads) {
  const auto held = hold();
  apply_step(params, grads);
}

void Optimizer::reset() {
  const auto held = hold();
  steps_ = 0;
  state_size_ = 0;
  state_sized_by_step_ = false;
  state_ = std::monostate{};
}

template <typename T>
std::size_t Optimizer::begin_step(Span<T> params, Span<const T> grads) {
  if (params.size != grads.size) {
    throw std::invalid_argument(name_ + ": " + std::to_string(params.size) +
                                " parameters but " + std::to_string(grads.size) + " gradients");
  }
  if (steps_ == max_steps) {
    throw std::overflow_error(name_ + ": " + std::to_string(max_steps) +
                              " steps taken, the most an optimizer counts; call reset() first");
  }
  // Under step()'s hold: the variant is read directly, not through the members that take it.
  if (!state_names_.empty()) {
    if (std::holds_alternative<std::monostate>(state_)) {
      const auto what = [&] {
        return name_ + ": the state of " + std::to_string(params.size) + " parameters";
      };
      std::vector<T> state;
      allocate(state, checked_mul(state_names_.size(), params.size, what), what);
      state_ = std::move(state);
      state_size_ = params.size;
      state_sized_by_step_ = true;
    } else if (!std::holds_alternative<std::vector<T>>(state_) || state_size_ != params.size) {
      throw std::invalid_argument(
          name_ + ": its state belongs to a buffer of " + std::to_string(state_size_) + " " +
          (holds_state<float>() ? "float32" : "float64") + " parameters, not to these " +
          std::to_string(params.size) + " " + scalar_name<T>() +
          " parameters; call reset() first, or use a new optimizer for each model");
    }
  }
  return steps_ + 1;
}

void Optimizer::commit_step() {
  ++steps_;
  state_sized_by_step_ = false;
}

void Optimizer::refuse_step(std::size_t t, std::size_t index, std::size_t size, double value) {
  if (state_sized_by_step_) {
    state_ = std::monostate{};
    state_size_ = 0;
    state_sized_by_step_ = false;
  }
  throw NonFiniteError(name_ + ": the update of step " + std::to_string(t) + " makes value " +
                       std::to_string(index) + " of the " + std::to_string(size) +
                       " parameters (or of their state) " + float_repr(value) +
                       "; no parameter and no optimizer state was changed");
}

template <typename T>
std::size_t Optimizer::state_index(const std::string& name) const {
  const auto found = std::find(state_names_.begin(), state_names_.end(), name);
  if (found == state_names_.end()) {
    throw std::invalid_argument(name_ + ": no state buffer '" + name + "'; its buffers are " +
                                joined(state_names_));
  }
  if (!holds_state<T>()) {
    throw std::invalid_argument(
        name_ + ": state buffer '" + name + "' is not held as " + scalar_name<T>() +
        (has_state() ? " (the optimizer stepped other parameters)" : " (no step taken yet)"));
  }
  return static_cast<std::size_t>(found - state_names_.begin());
}

template <typename T>
Span<T> Optimizer::state(const std::string& name) {
  const auto held = hold();
  return {buffer<T>(state_index<T>(name)), state_size_};
}

template <typename T>
Span<const T> Optimizer::state(const std::string& name) const {
  const auto held = hold();
  const std::size_t i = state_index<T>(name);
  return {std::get<std::vector<T>>(state_).data() + i * state_size_, state_size_};
}

template <typename T>
void Optimizer::load_state(std::size_t steps,
                           const std::vector<std::pair<std::string, Span<const T>>>& buffers) {
  // Validate everything first, so that a rejected state changes nothing.
  if (steps > max_steps) {
    throw std::invalid_argument(name_ + ": load_state got " + std::to_string(steps) +
                                " steps, more than the " + std::to_string(max_steps) +
                                " an optimizer counts");
  }
  std::vector<const Span<const T>*> by_index(state_names_.size(), nullptr);
  for (const auto& [name, values] : buffers) {
    const auto found = std::find(state_names_.begin(), state_names_.end(), name);
    if (found == state_names_.end()) {
      throw std::invalid_argument(name_ + ": load_state got an unknown buffer '" + name +
                                  "'; its buffers are " + joined(state_names_));
    }
    const Span<const T>*& slot = by_index[static_cast<std::size_t>(found - state_names_.begin())];
    if (slot != nullptr) {
      throw std::invalid_argument(name_ + ": load_state got buffer '" + name + "' twice");
    }
    slot = &values;
  }
  if (buffers.empty()) {
    if (!state_names_.empty() && steps != 0) {
      throw std::invalid_argument(name_ + ": load_state got " + std::to_string(steps) +
                                  " steps but none of the buffers " + joined(state_names_) +
                                  " they built");
    }
    const auto held = hold();
    reset();
    steps_ = steps;
    return;
  }
  for (std::size_t i = 0; i < by_index.size(); ++i) {
    if (by_index[i] == nullptr) {
      throw std::invalid_argument(name_ + ": load_state is missing buffer '" + state_names_[i] +
                                  "'; it needs " + joined(state_names_));
    }
    if (by_index[i]->size != by_index[0]->size) {
      throw std::invalid_argument(name_ + ": load_state got buffer '" + state_names_[0] +
                                  "' of " + std::to_string(by_index[0]->size) +
                                  " values but '" + state_names_[i] + "' of " +
                                  std::to_string(by_index[i]->size));
    }
  }
  const std::size_t size = by_index[0]->size;
  std::vector<T> values(state_names_.size() * size);
  for (std::size_t i = 0; i < by_index.size(); ++i) {
    std::copy(by_index[i]->begin(), by_index[i]->end(), values.begin() + i * size);
  }
  const auto held = hold();
  state_ = std::move(values);
  state_size_ = size;
  state_sized_by_step_ = false;
  steps_ = steps;
}

#define BLASNET_OPTIMIZER_STATE(T)                                                      \
  template std::size_t Optimizer::begin_step<T>(Span<T>, Span<const T>);                \
  template Span<T> Optimizer::state<T>(const std::string&);                             \
  template Span<const T> Optimizer::state<T>(const std::string&) const;                 \
  template void Optimizer::load_state<T>(                                               \
      std::size_t, const std::vector<std::pair<std::string, Span<const T>>>&);
BLASNET_OPTIMIZER_STATE(float)
BLASNET_OPTIMIZER_STATE(double)
#undef BLASNET_OPTIMIZER_STATE

// --- SGD ---------------------------------------------------------------------------------

SGD::SGD(double lr, double momentum, bool nesterov, double weight_decay)
    : Optimizer("SGD", lr,
                momentum > 0 ? std::vector<std::string>{"momentum"} : std::vector<std::string>{}),
      momentum_(momentum),
      nesterov_(nesterov),
      weight_decay_(weight_decay) {
  require(momentum >= 0 && momentum < 1, name(), "momentum", momentum, "in [0, 1)");
  check_weight_decay(name(), weight_decay);
  if (nesterov && momentum == 0) {
    throw std::invalid_argument("SGD: nesterov=True needs momentum > 0, got momentum=0.0");
  }
}

template <typename T>
void SGD::update(Span<T> params, Span<const T> grads) {
  const std::size_t t = begin_step(params, grads);
  const bool first = t == 1;
  const T alpha = static_cast<T>(lr());
  const T mu = static_cast<T>(momentum_);
  const T lambda = static_cast<T>(weight_decay_);
  T* const theta = params.data;
  T* const v = momentum_ > 0 ? buffer<T>(0) : nullptr;
  const Overflow overflow =
      two_passes(params.size, [&](std::size_t i, auto mode) {
        T g = weight_decay_ != 0 ? grads[i] + lambda * theta[i] : grads[i];  // g ← ∇J + λ·Θ
        T v_i = 0;
        if (v != nullptr) {
          v_i = first ? g : mu * v[i] + g;  // v ← μ·v + g, v ← g at the first step
          g = nesterov_ ? g + mu * v_i : v_i;
        }
        const T th = theta[i] - alpha * g;  // Θ ← Θ − α·g
        if constexpr (std::is_same_v<decltype(mode), Write>) {
          theta[i] = th;
          if (v != nullptr) v[i] = v_i;
        }
        if constexpr (std::is_same_v<decltype(mode), Report>) {
          *mode.value = not_finite(th) ? th : v_i;
        }
        return not_finite(th) | not_finite(v_i);
      });
  if (overflow.index < params.size) refuse_step(t, overflow.index, params.size, overflow.value);
  commit_step();
}

void SGD::apply_step(Span<float> params, Span<const float> grads) { update(params, grads); }
void SGD::apply_step(Span<double> params, Span<const double> grads) { update(params, grads); }

std::optional<double> SGD::plain_sgd_rate() const {
  if (momentum_ == 0 && weight_decay_ == 0) return lr();
  return std::nullopt;
}

std::string SGD::describe() const {
  return "SGD(lr=" + float_repr(lr()) + ", momentum=" + float_repr(momentum_) +
         ", nesterov=" + (nesterov_ ? "True" : "False") +
         ", weight_decay=" + float_repr(weight_decay_) + ")";
}

// --- Adam and AdamW ----------------------------------------------------------------------

AdamFamily::AdamFamily(std::string name, double lr, double beta_1, double beta_2,
                       double epsilon, double weight_decay, bool decoupled)
    : Optimizer(std::move(name), lr, {"m", "v"}),
      beta_1_(beta_1),
      beta_2_(beta_2),
      epsilon_(epsilon),
      weight_decay_(weight_decay),
      decoupled_(decoupled) {
  check_adam(this->name(), beta_1, beta_2, epsilon, weight_decay);
}

template <typename T>
void AdamFamily::update(Span<T> params, Span<const T> grads) {
  const std::size_t t = begin_step(params, grads);
  T* const m = buffer<T>(0);
  T* const v = buffer<T>(1);
  const Overflow overflow =
      decoupled_ && weight_decay_ != 0
          ? adam_update<Decay::decoupled>(params, grads, m, v, t, lr(), beta_1_, beta_2_,
                                          epsilon_, weight_decay_)
      : !decoupled_ && weight_decay_ != 0
          ? adam_update<Decay::l2>(params, grads, m, v, t, lr(), beta_1_, beta_2_, epsilon_,
                                   weight_decay_)
          : adam_update<Decay::none>(params, grads, m, v, t, lr(), beta_1_, beta_2_, epsilon_,
                                     weight_decay_);
  if (overflow.index < params.size) refuse_step(t, overflow.index, params.size, overflow.value);
  commit_step();
}

void AdamFamily::apply_step(Span<float> params, Span<const float> grads) {
  update(params, grads);
}
void AdamFamily::apply_step(Span<double> params, Span<const double> grads) {
  update(params, grads);
}

std::string AdamFamily::describe() const {
  return name() + "(lr=" + float_repr(lr()) + ", beta_1=" + float_repr(beta_1_) +
         ", beta_2=" + float_repr(beta_2_) + ", epsilon=" + float_repr(epsilon_) +
         ", weight_decay=" + float_repr(weight_decay_) + ")";
}

}  // namespace blasnet
