#include "blasnet/optimizers.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "blasnet/checked_size.hpp"
#include "float_repr.hpp"

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

// Adam's step t over the flat buffers, for Adam (l2 = λ, decoupled = 0) and AdamW (l2 = 0,
// decoupled = λ). m and v are the moment buffers, as long as params. Each weight-decay form is
// its own loop, free of branches, so that the compiler vectorizes it.
//
// The bias corrections of Kingma & Ba's Algorithm 1, m̂ = m/(1 − β₁ᵗ) and v̂ = v/(1 − β₂ᵗ), hold
// for every t that begin_step hands out, 1 ≤ t ≤ max_steps = 2⁵³: t is exact as a double, a
// large t makes βᵗ underflow to 0 and the correction exactly 1 (its limit), and since β < 1,
// 1 − βᵗ ≥ 1 − β > 0 for t ≥ 1. Taking that bound as a floor changes nothing when pow is
// accurate and keeps the divisor positive whatever the libm's last bit.
template <typename T>
void adam_update(Span<T> params, Span<const T> grads, T* m, T* v, std::size_t t, double lr,
                 double beta_1, double beta_2, double epsilon, double l2, double decoupled) {
  const auto steps = static_cast<double>(t);
  const auto correction = [steps](double beta) {  // 1 − βᵗ
    return std::max(1 - std::pow(beta, steps), 1 - beta);
  };
  const T step_size = static_cast<T>(lr / correction(beta_1));
  const T root_correction_2 = static_cast<T>(std::sqrt(correction(beta_2)));
  const T decay = static_cast<T>(1 - lr * decoupled);
  const T b1 = static_cast<T>(beta_1), b2 = static_cast<T>(beta_2);
  const T c1 = static_cast<T>(1 - beta_1), c2 = static_cast<T>(1 - beta_2);
  const T eps = static_cast<T>(epsilon), lambda = static_cast<T>(l2);
  T* const theta = params.data;
  const T* const gradient = grads.data;
  const auto update = [&](std::size_t i, T g) {
    m[i] = b1 * m[i] + c1 * g;      // m ← β₁·m + (1 − β₁)·g
    v[i] = b2 * v[i] + c2 * g * g;  // v ← β₂·v + (1 − β₂)·g²
    // Θ ← Θ − α/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
    theta[i] -= step_size * (m[i] / (std::sqrt(v[i]) / root_correction_2 + eps));
  };
  if (decoupled != 0) {
    for (std::size_t i = 0; i < params.size; ++i) {
      theta[i] *= decay;  // Θ ← Θ·(1 − α·λ)
      update(i, gradient[i]);
    }
  } else if (l2 != 0) {
    for (std::size_t i = 0; i < params.size; ++i) update(i, gradient[i] + lambda * theta[i]);
  } else {
    for (std::size_t i = 0; i < params.size; ++i) update(i, gradient[i]);
  }
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
    } else if (!std::holds_alternative<std::vector<T>>(state_) || state_size_ != params.size) {
      throw std::invalid_argument(
          name_ + ": its state belongs to a buffer of " + std::to_string(state_size_) + " " +
          (holds_state<float>() ? "float32" : "float64") + " parameters, not to these " +
          std::to_string(params.size) + " " + scalar_name<T>() +
          " parameters; call reset() first, or use a new optimizer for each model");
    }
  }
  return ++steps_;
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
  const bool first = begin_step(params, grads) == 1;
  const T alpha = static_cast<T>(lr());
  const T mu = static_cast<T>(momentum_);
  const T lambda = static_cast<T>(weight_decay_);
  T* v = momentum_ > 0 ? buffer<T>(0) : nullptr;
  for (std::size_t i = 0; i < params.size; ++i) {
    T g = weight_decay_ != 0 ? grads[i] + lambda * params[i] : grads[i];  // g ← ∇J + λ·Θ
    if (v != nullptr) {
      v[i] = first ? g : mu * v[i] + g;  // v ← μ·v + g, v ← g at the first step
      g = nesterov_ ? g + mu * v[i] : v[i];
    }
    params[i] -= alpha * g;  // Θ ← Θ − α·g
  }
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
  adam_update(params, grads, buffer<T>(0), buffer<T>(1), t, lr(), beta_1_, beta_2_, epsilon_,
              decoupled_ ? 0.0 : weight_decay_, decoupled_ ? weight_decay_ : 0.0);
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
