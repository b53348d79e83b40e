#include "blasnet/schedules.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "float_repr.hpp"

namespace blasnet {
namespace {

// Throws "<schedule>: <parameter> must be <requirement>, got <parameter>=<value>" unless ok.
void require(bool ok, const char* schedule, const char* parameter, const std::string& value,
             const char* requirement) {
  if (!ok) {
    throw std::invalid_argument(std::string(schedule) + ": " + parameter + " must be " +
                                requirement + ", got " + parameter + "=" + value);
  }
}

}  // namespace

void Schedule::begin_epoch(Optimizer& optimizer) {
  if (!initial_) initial_ = optimizer.lr();
  const double r = rate(*initial_);
  if (!(std::isfinite(r) && r >= 0)) {
    throw std::invalid_argument(describe() + " gave the learning rate " + float_repr(r) +
                                " for epoch " + std::to_string(epochs_) +
                                " from the initial rate " + float_repr(*initial_));
  }
  optimizer.restore_lr(r);
}

void Schedule::end_epoch(std::size_t samples, double monitored) {
  ++epochs_;
  samples_ += samples;
  observe(monitored);
}

// --- Constant ----------------------------------------------------------------------------

std::string Constant::describe() const { return "Constant()"; }

// --- InverseScaling ----------------------------------------------------------------------

InverseScaling::InverseScaling(double power) : power_(power) {
  require(std::isfinite(power) && power >= 0, "InverseScaling", "power", float_repr(power),
          "finite and non-negative");
}

// α = α₀ / (1 + samples)^power
double InverseScaling::rate(double initial) {
  return initial / std::pow(1.0 + static_cast<double>(samples()), power_);
}

std::string InverseScaling::describe() const {
  return "InverseScaling(power=" + float_repr(power_) + ")";
}

// --- StepDecay ---------------------------------------------------------------------------

StepDecay::StepDecay(std::size_t step_size, double gamma) : step_size_(step_size), gamma_(gamma) {
  require(step_size >= 1, "StepDecay", "step_size", std::to_string(step_size), "at least 1");
  require(gamma > 0 && gamma <= 1, "StepDecay", "gamma", float_repr(gamma), "in (0, 1]");
}

// α = α₀·γ^⌊epochs / step_size⌋
double StepDecay::rate(double initial) {
  return initial * std::pow(gamma_, static_cast<double>(epochs() / step_size_));
}

std::string StepDecay::describe() const {
  return "StepDecay(step_size=" + std::to_string(step_size_) + ", gamma=" + float_repr(gamma_) +
         ")";
}

// --- Cosine ------------------------------------------------------------------------------

Cosine::Cosine(std::size_t period, double min_lr) : period_(period), min_lr_(min_lr) {
  require(period >= 1, "Cosine", "period", std::to_string(period), "at least 1");
  require(std::isfinite(min_lr) && min_lr >= 0, "Cosine", "min_lr", float_repr(min_lr),
          "finite and non-negative");
}

// α = min_lr + (α₀ − min_lr)·(1 + cos(π·min(epochs, period) / period)) / 2
double Cosine::rate(double initial) {
  constexpr double pi = 3.141592653589793;
  const auto done = static_cast<double>(std::min(epochs(), period_));
  const double cosine = std::cos(pi * done / static_cast<double>(period_));
  return min_lr_ + (initial - min_lr_) * (1 + cosine) / 2;
}

std::string Cosine::describe() const {
  return "Cosine(period=" + std::to_string(period_) + ", min_lr=" + float_repr(min_lr_) + ")";
}

// --- ReduceOnPlateau ---------------------------------------------------------------------

ReduceOnPlateau::ReduceOnPlateau(double factor, std::size_t patience, double min_delta,
                                 std::size_t cooldown, double min_lr)
    : factor_(factor), patience_(patience), min_delta_(min_delta), cooldown_(cooldown),
      min_lr_(min_lr) {
  require(factor > 0 && factor < 1, "ReduceOnPlateau", "factor", float_repr(factor), "in (0, 1)");
  require(std::isfinite(min_delta) && min_delta >= 0, "ReduceOnPlateau", "min_delta",
          float_repr(min_delta), "finite and non-negative");
  require(std::isfinite(min_lr) && min_lr >= 0, "ReduceOnPlateau", "min_lr", float_repr(min_lr),
          "finite and non-negative");
}

// The current rate, reduced by the reductions observe() decided: α ← max(α·factor, min_lr)
// while α > min_lr.
double ReduceOnPlateau::rate(double initial) {
  if (!current_) current_ = initial;
  for (; pending_ > 0; --pending_) {
    if (*current_ > min_lr_) current_ = std::max(*current_ * factor_, min_lr_);
  }
  return *current_;
}

void ReduceOnPlateau::observe(double monitored) {
  const bool improved = monitored < best_ - min_delta_;
  if (improved) {
    best_ = monitored;
    bad_epochs_ = 0;
  }
  if (cooldown_left_ > 0) {  // an epoch of the cooldown: not counted
    --cooldown_left_;
    return;
  }
  if (improved) return;
  if (++bad_epochs_ >= patience_) {
    ++pending_;
    bad_epochs_ = 0;
    cooldown_left_ = cooldown_;
  }
}

std::string ReduceOnPlateau::describe() const {
  return "ReduceOnPlateau(factor=" + float_repr(factor_) + ", patience=" +
         std::to_string(patience_) + ", min_delta=" + float_repr(min_delta_) +
         ", cooldown=" + std::to_string(cooldown_) + ", min_lr=" + float_repr(min_lr_) + ")";
}

}  // namespace blasnet
