#pragma once
// Rules that move the parameters against their gradient. Each is one loop over the network's
// flat buffers, for float and double alike. What a rule keeps between steps (the step count
// t, SGD's momentum, Adam's moments) lives in the optimizer, in the parameters' own type, so
// it carries over from one call to fit to the next; the first step sizes it.
//
// The update rules are PyTorch's (torch.optim.SGD with dampening 0, Adam, AdamW), so that a
// model trained with either library follows the same path.
//
// One training at a time: an optimizer's state belongs to the run that steps it. fit and
// train_step hold the optimizer (hold()) from start to end, and every member that reads or
// writes the rate or the state takes the hold for its own call, so a call from another thread
// waits until the running training ends instead of reading, resizing or freeing the state
// under its update loop; two fits that share an optimizer run one after the other. The hold is
// recursive: the thread that has it (a fit's epoch callback) may call any member. A wait can
// only deadlock as any two locks can: a fit's callback waiting for a model whose own fit is
// waiting for this optimizer.

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "blasnet/matrix.hpp"

namespace blasnet {

class Schedule;

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // A copy has the same rule and state, copied under the source's hold, and a hold of its own.
  Optimizer(const Optimizer& other);
  Optimizer& operator=(const Optimizer& other);

  // The most steps an optimizer counts: 2⁵³, beyond which t would not be exact as the double
  // that enters Adam's bias correction, and which no training reaches (285 years at a step
  // per microsecond). load_state refuses more, and a step past it throws.
  static constexpr std::size_t max_steps = std::size_t(1) << 53;

  // One update of params from grads (same length), under the hold. Throws
  // std::invalid_argument, changing nothing, when the lengths differ or when the optimizer's
  // state belongs to a buffer of another length or scalar type; std::overflow_error when
  // max_steps have been taken; NonFiniteError, changing nothing (the parameters, the state,
  // the step count), when the update would make a parameter or a state value NaN or
  // infinite: each step checks every new value before it writes the first.
  void step(Span<float> params, Span<const float> grads);
  void step(Span<double> params, Span<const double> grads);
  // The rule with all its hyperparameters, spelled as Python constructs it:
  // "SGD(lr=0.1, momentum=0.9, nesterov=False, weight_decay=0.0)".
  virtual std::string describe() const = 0;
  // Forgets whatever the rule keeps between steps: the step count and the state buffers.
  void reset();

  // The optimizer to this thread until the lock is released, waiting while another thread
  // has it (see the top of this file). Keep it to make several calls one, or to keep a
  // state() view valid.
  [[nodiscard]] std::unique_lock<std::recursive_mutex> hold() const {
    return std::unique_lock<std::recursive_mutex>(mutex_);
  }

  // The learning rate α of the next steps; a schedule changes it between epochs (and may
  // take it down to 0, say at the end of a cosine).
  double lr() const {
    const auto held = hold();
    return lr_;
  }
  // Throws std::invalid_argument unless lr is finite and positive.
  void set_lr(double lr);
  // The rate a schedule sets, or a saved state holds: finite and non-negative, 0 included
  // (a schedule may end there). Throws std::invalid_argument otherwise.
  void restore_lr(double lr);

  // α when this optimizer is plain, stateless gradient descent Θ ← Θ − α·∇J, which a network
  // can fold into its backward products; empty otherwise.
  virtual std::optional<double> plain_sgd_rate() const { return std::nullopt; }

  // --- state, for saving and restoring ---------------------------------------------------
  // Calls to step() since construction, reset() or load_state(): Adam's t. (A network that
  // folds plain SGD into its products does not call step(); plain SGD needs no count.)
  std::size_t steps() const {
    const auto held = hold();
    return steps_;
  }
  // Names of the buffers the rule keeps, one value per parameter each: "momentum" for SGD
  // with momentum, "m" and "v" for Adam and AdamW; none for a stateless rule.
  const std::vector<std::string>& state_names() const { return state_names_; }
  // Whether the buffers exist: from the first step (or load_state) until reset().
  bool has_state() const {
    const auto held = hold();
    return !std::holds_alternative<std::monostate>(state_);
  }
  // Whether they are held as T, the scalar type of the parameters they belong to.
  template <typename T>
  bool holds_state() const {
    const auto held = hold();
    return std::holds_alternative<std::vector<T>>(state_);
  }
  // Their length: that of the parameter buffer they belong to (0 when there are none).
  std::size_t state_size() const {
    const auto held = hold();
    return state_size_;
  }
  // Buffer `name`, to read or write in place while the caller keeps hold() (or while no other
  // thread can use the optimizer): a load_state or reset elsewhere would free it. Throws
  // std::invalid_argument for a name not in state_names(), or when the buffers do not exist or
  // are not held as T.
  template <typename T>
  Span<T> state(const std::string& name);
  template <typename T>
  Span<const T> state(const std::string& name) const;
  // Replaces the state by a saved one: the steps taken and, by name, the buffers — every
  // name of state_names(), all of one length, or none at all (then the next step sizes them,
  // zeroed, which for a rule with buffers is only consistent with steps == 0). Throws
  // std::invalid_argument, changing nothing, for steps above max_steps, an unknown, repeated
  // or missing name, a length that differs, or buffers missing after steps.
  template <typename T>
  void load_state(std::size_t steps,
                  const std::vector<std::pair<std::string, Span<const T>>>& buffers);

 protected:
  // name prefixes error messages ("SGD: ..."); lr must be finite and positive.
  Optimizer(std::string name, double lr, std::vector<std::string> state_names);

  const std::string& name() const { return name_; }
  // The rule's update, which step() calls under the hold.
  virtual void apply_step(Span<float> params, Span<const float> grads) = 0;
  virtual void apply_step(Span<double> params, Span<const double> grads) = 0;
  // What every apply_step() does first: checks that grads matches params, that the state
  // (sized and zeroed now if there is none) belongs to a buffer like params and that fewer
  // than max_steps were taken. Returns t, the number of this step, from 1; the step counts
  // once it is committed.
  template <typename T>
  std::size_t begin_step(Span<T> params, Span<const T> grads);
  // Counts the step begun: its update is written.
  void commit_step();
  // Drops the step begun, whose update would make value `index` of the parameters (or of a
  // state buffer) `value`, NaN or infinite: the state begin_step sized goes again, and
  // NonFiniteError says so.
  [[noreturn]] void refuse_step(std::size_t t, std::size_t index, std::size_t size, double value);
  // State buffer i (in the order of state_names()) after begin_step<T>.
  template <typename T>
  T* buffer(std::size_t i) {
    return std::get<std::vector<T>>(state_).data() + i * state_size_;
  }

 private:
  // The index of buffer `name` in state_names(), after checking it is held as T.
  template <typename T>
  std::size_t state_index(const std::string& name) const;

  mutable std::recursive_mutex mutex_;  // the hold

  std::string name_;
  double lr_;
  std::vector<std::string> state_names_;
  std::size_t steps_ = 0;
  std::size_t state_size_ = 0;
  bool state_sized_by_step_ = false;  // by the step begun, not yet committed
  // The buffers, one after another, in the parameters' type.
  std::variant<std::monostate, std::vector<float>, std::vector<double>> state_;
};

// Stochastic gradient descent with optional momentum μ, Nesterov momentum and L2 weight decay
// λ, as torch.optim.SGD with dampening 0. Each step, on the flat buffers:
//   g ← ∇J + λ·Θ
//   v ← μ·v + g              (v ← g at the first step)
//   Θ ← Θ − α·(g + μ·v)      with nesterov, else Θ ← Θ − α·v   (with μ = 0: Θ ← Θ − α·g)
// With μ = 0 and λ = 0 it is the note's Θ ← Θ − α·∇_Θ J, which networks fold into their gemms.
class SGD final : public Optimizer {
 public:
  // Throws std::invalid_argument unless lr is finite and positive, momentum in [0, 1),
  // weight_decay finite and non-negative, and momentum > 0 if nesterov.
  explicit SGD(double lr, double momentum = 0, bool nesterov = false, double weight_decay = 0);

  std::string describe() const override;
  std::optional<double> plain_sgd_rate() const override;

  double momentum() const { return momentum_; }
  bool nesterov() const { return nesterov_; }
  double weight_decay() const { return weight_decay_; }

 private:
  void apply_step(Span<float> params, Span<const float> grads) override;
  void apply_step(Span<double> params, Span<const double> grads) override;
  template <typename T>
  void update(Span<T> params, Span<const T> grads);

  double momentum_;
  bool nesterov_;
  double weight_decay_;
};

// Adam (Kingma & Ba) and AdamW (Loshchilov & Hutter), as torch.optim defines them: one update
// with the weight decay λ either added to the gradient (Adam) or applied to the weights
// (AdamW, "decoupled"). At step t:
//   AdamW only: Θ ← Θ·(1 − α·λ)
//   g ← ∇J (+ λ·Θ for Adam)
//   m ← β₁·m + (1 − β₁)·g
//   v ← β₂·v + (1 − β₂)·g²
//   Θ ← Θ − (α / (1 − β₁ᵗ))·m / (√v / √(1 − β₂ᵗ) + ε)
class AdamFamily : public Optimizer {
 public:
  std::string describe() const override;

  double beta_1() const { return beta_1_; }
  double beta_2() const { return beta_2_; }
  double epsilon() const { return epsilon_; }
  double weight_decay() const { return weight_decay_; }

 protected:
  // Throws std::invalid_argument unless lr and epsilon are finite and positive, beta_1 and
  // beta_2 in [0, 1), and weight_decay finite and non-negative.
  AdamFamily(std::string name, double lr, double beta_1, double beta_2, double epsilon,
             double weight_decay, bool decoupled);

 private:
  void apply_step(Span<float> params, Span<const float> grads) override;
  void apply_step(Span<double> params, Span<const double> grads) override;
  template <typename T>
  void update(Span<T> params, Span<const T> grads);

  double beta_1_, beta_2_, epsilon_, weight_decay_;
  bool decoupled_;
};

class Adam final : public AdamFamily {
 public:
  explicit Adam(double lr = 1e-3, double beta_1 = 0.9, double beta_2 = 0.999,
                double epsilon = 1e-8, double weight_decay = 0)
      : AdamFamily("Adam", lr, beta_1, beta_2, epsilon, weight_decay, false) {}
};

class AdamW final : public AdamFamily {
 public:
  explicit AdamW(double lr = 1e-3, double beta_1 = 0.9, double beta_2 = 0.999,
                 double epsilon = 1e-8, double weight_decay = 0.01)
      : AdamFamily("AdamW", lr, beta_1, beta_2, epsilon, weight_decay, true) {}
};

}  // namespace blasnet
