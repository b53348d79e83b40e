#pragma once
// Learning-rate schedules: the rate of each epoch, from the optimizer's initial rate α₀ and
// the training so far. A schedule keeps its own count of epochs and samples, so it continues
// across calls to fit.

#include <cstddef>
#include <limits>
#include <optional>
#include <string>

#include "blasnet/optimizers.hpp"

namespace blasnet {

class Schedule {
 public:
  virtual ~Schedule() = default;

  // Before each epoch: sets the optimizer's rate for it. The first call takes the optimizer's
  // rate as α₀. Throws std::invalid_argument if the rate is not finite and non-negative.
  void begin_epoch(Optimizer& optimizer);
  // After each epoch: the samples its steps saw, and the loss the schedule may watch (the
  // validation loss when there is one, else the training loss).
  void end_epoch(std::size_t samples, double monitored);

  std::size_t epochs() const { return epochs_; }
  std::size_t samples() const { return samples_; }
  virtual std::string describe() const = 0;

 protected:
  // The rate of the coming epoch, from α₀ and epochs() / samples() so far.
  virtual double rate(double initial) = 0;
  // Told each completed epoch's monitored loss.
  virtual void observe(double /*monitored*/) {}

 private:
  std::optional<double> initial_;
  std::size_t epochs_ = 0;
  std::size_t samples_ = 0;
};

// α = α₀ every epoch.
class Constant final : public Schedule {
 public:
  std::string describe() const override;

 protected:
  double rate(double initial) override { return initial; }
};

// scikit-learn's "invscaling", which counts samples: α = α₀ / (1 + samples seen)^power.
class InverseScaling final : public Schedule {
 public:
  // Throws std::invalid_argument unless power is finite and non-negative.
  explicit InverseScaling(double power = 0.5);
  double power() const { return power_; }
  std::string describe() const override;

 protected:
  double rate(double initial) override;

 private:
  double power_;
};

// α = α₀·γ^⌊epochs / step_size⌋: the rate falls by γ every step_size epochs.
class StepDecay final : public Schedule {
 public:
  // Throws std::invalid_argument unless step_size ≥ 1 and gamma is in (0, 1].
  explicit StepDecay(std::size_t step_size, double gamma = 0.1);
  std::size_t step_size() const { return step_size_; }
  double gamma() const { return gamma_; }
  std::string describe() const override;

 protected:
  double rate(double initial) override;

 private:
  std::size_t step_size_;
  double gamma_;
};

// Cosine annealing from α₀ to min_lr over period epochs, then min_lr:
// α = min_lr + (α₀ − min_lr)·(1 + cos(π·min(epochs, period) / period)) / 2.
class Cosine final : public Schedule {
 public:
  // Throws std::invalid_argument unless period ≥ 1 and min_lr is finite and non-negative.
  explicit Cosine(std::size_t period, double min_lr = 0);
  std::size_t period() const { return period_; }
  double min_lr() const { return min_lr_; }
  std::string describe() const override;

 protected:
  double rate(double initial) override;

 private:
  std::size_t period_;
  double min_lr_;
};

// Keeps the rate while the monitored loss improves, that is falls below the best so far by
// more than min_delta (absolute). After patience epochs without improvement it multiplies the
// current rate by factor (not below min_lr, and never raising it), then leaves cooldown epochs
// uncounted before it counts again.
class ReduceOnPlateau final : public Schedule {
 public:
  // Throws std::invalid_argument unless factor is in (0, 1) and min_delta and min_lr are
  // finite and non-negative.
  explicit ReduceOnPlateau(double factor = 0.1, std::size_t patience = 10, double min_delta = 1e-4,
                           std::size_t cooldown = 0, double min_lr = 0);
  double factor() const { return factor_; }
  std::size_t patience() const { return patience_; }
  double min_delta() const { return min_delta_; }
  std::size_t cooldown() const { return cooldown_; }
  double min_lr() const { return min_lr_; }
  // The lowest monitored loss so far (infinity before the first epoch).
  double best() const { return best_; }
  // Epochs counted without improvement since the last improvement or reduction.
  std::size_t bad_epochs() const { return bad_epochs_; }
  // Epochs of the current cooldown still to come.
  std::size_t cooldown_left() const { return cooldown_left_; }
  std::string describe() const override;

 protected:
  double rate(double initial) override;
  void observe(double monitored) override;

 private:
  double factor_;
  std::size_t patience_;
  double min_delta_;
  std::size_t cooldown_;
  double min_lr_;

  std::optional<double> current_;  // the rate, once α₀ is known
  double best_ = std::numeric_limits<double>::infinity();
  std::size_t bad_epochs_ = 0;
  std::size_t cooldown_left_ = 0;
  std::size_t pending_ = 0;  // reductions due, made at the next epoch's start
};

}  // namespace blasnet
