#pragma once
// Rosenblatt's perceptron, the note's §1: a unit y = sgn(wᵀx + b) read as a 0/1 indicator,
// y = 1 if wᵀx + b ≥ 0 and 0 otherwise (the same convention as Activation::step), trained by
// the perceptron learning rule rather than by gradients: "the derivative of sgn is either 0 or
// infinity, preventing it from gradient-based optimization" (the note).
//
// n_outputs such units share the inputs but learn independently: each is its own binary
// perceptron (cherries 0, chocolate 1), so one-vs-rest classifiers can be built from several.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "blasnet/matrix.hpp"

namespace blasnet {

// Called after each epoch of Perceptron::fit with the epoch's index (from 0) and the mistakes
// made in it; returning false stops training after that epoch.
using PerceptronCallback = std::function<bool(std::size_t epoch, std::size_t mistakes)>;

template <typename T>
class Perceptron {
 public:
  // W (n_outputs × n_features) and b (n_outputs) start at zero, Rosenblatt's start: the rule
  // needs no random initialisation (a seed only ever orders the samples, in fit).
  // Throws std::invalid_argument when either count is 0, std::overflow_error when their
  // product does not fit in a size_t, AllocationError when W cannot be allocated.
  Perceptron(std::size_t n_features, std::size_t n_outputs);

  std::size_t n_features() const { return n_features_; }
  std::size_t n_outputs() const { return n_outputs_; }

  // W stored row-major (unit i's weights are W[i·n_features, (i+1)·n_features)), the note's
  // shape as NumPy shows it and the layout of every W in the library; b has n_outputs entries.
  // Writable: a caller may set the weights before fit (a warm start) or predict.
  Span<T> weights() { return {W_.data(), W_.size()}; }
  Span<T> bias() { return {b_.data(), b_.size()}; }
  Span<const T> weights() const { return {W_.data(), W_.size()}; }
  Span<const T> bias() const { return {b_.data(), b_.size()}; }

  // X (n_features × n) -> out (n_outputs × n) with out(i, j) ∈ {0, 1}:
  //   eq. (1): Z = W·X + b·1ᵀ   (one gemm)     eq. (2): Y = step(Z)  (Activation::step)
  // Throws std::invalid_argument naming the shapes when they do not fit, and when X, W or b
  // holds a NaN or an Inf.
  void predict(MatrixView<const T> X, MatrixView<T> out) const;

  // The perceptron learning rule on X (n_features × n) with targets (n_outputs × n), every
  // entry exactly 0 or 1. Each epoch visits the samples once, in order or (shuffle) in a new
  // order drawn from seed; for each sample x and each unit whose prediction y = step(wᵀx + b)
  // misses its target t:
  //   w ← w + lr·(t − y)·x      b ← b + lr·(t − y)
  // Returns the mistakes of each epoch (updates, summed over the units; with one unit, the
  // samples it misclassified while training). Stops after the first epoch without a mistake:
  // no weight moved during it, so every unit classifies every sample correctly, and would do so
  // forever; with linearly separable data this happens after finitely many mistakes (Novikoff:
  // at most (R/γ)² per unit, R the largest ‖(x, 1)‖, γ the margin), otherwise never.
  // on_epoch, when given, is called after each epoch and may stop training.
  // Throws std::invalid_argument for mismatched shapes, no samples, a NaN or Inf in X (or in the
  // weights), a target other than 0 or 1, lr not positive and finite, or epochs = 0; and
  // NonFiniteError when an update would make a weight NaN or infinite, before writing it (the
  // weights are those of the update before).
  std::vector<std::size_t> fit(MatrixView<const T> X, MatrixView<const T> targets,
                               ScalarOf<T> lr, std::size_t epochs, bool shuffle,
                               std::uint64_t seed, const PerceptronCallback& on_epoch = {});

 private:
  std::size_t n_features_;
  std::size_t n_outputs_;
  std::vector<T> W_;
  std::vector<T> b_;
};

}  // namespace blasnet
