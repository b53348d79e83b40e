#pragma once
// How often a classifier is right: the metric training reports next to the loss.

#include <cstddef>

#include "blasnet/losses.hpp"
#include "blasnet/matrix.hpp"

namespace blasnet {

// Whether a loss trains a classifier (a cross-entropy), so that accuracy means something.
bool is_classification(Loss loss);

// Samples of Y (n_out × n) whose prediction matches the targets: for softmax_cross_entropy
// the largest output against the label (or the largest target); for binary_cross_entropy
// every unit on the right side of 0.5. Throws std::invalid_argument for mse.
template <typename T>
std::size_t count_correct(Loss loss, ReadView<T> Y, const Targets<T>& targets);

}  // namespace blasnet
