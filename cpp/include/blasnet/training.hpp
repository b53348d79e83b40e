#pragma once
// Minibatch gradient descent, run entirely in C++, on any graph; a Network trains as the
// graph it is.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "blasnet/graph.hpp"
#include "blasnet/losses.hpp"
#include "blasnet/network.hpp"
#include "blasnet/optimizers.hpp"

namespace blasnet {

struct FitOptions {
  std::size_t epochs = 1;
  std::size_t batch_size = 32;
  bool shuffle = true;
  std::uint64_t seed = 0;  // of the shuffling order
};

// Called after each epoch with its index and mean training loss; returning false stops
// training there (the weights are those of the last completed step).
using EpochCallback = std::function<bool(std::size_t epoch, double loss)>;

// One gradient step on one batch: J = backward(batch), then the optimizer's update.
// Returns J before the update.
template <typename T>
double train_step(Graph<T>& graph, const Batch<T>& batch, Optimizer& optimizer);

// Epochs of minibatch steps over the data (every input and target holds the same samples).
// Batches are column blocks, used in place when not shuffling; shuffled batches are gathered
// into buffers allocated once. The data are checked once, up front. Returns each completed
// epoch's mean training loss.
template <typename T>
std::vector<double> fit(Graph<T>& graph, const Batch<T>& data, Optimizer& optimizer,
                        const FitOptions& options, const EpochCallback& on_epoch = {});

// The same for a stack of layers with one input X and one loss.
template <typename T>
double train_step(Network<T>& net, ReadView<T> X, Loss loss, const Targets<T>& targets,
                  Optimizer& optimizer);
template <typename T>
std::vector<double> fit(Network<T>& net, ReadView<T> X, Loss loss,
                        const Targets<T>& targets, Optimizer& optimizer,
                        const FitOptions& options, const EpochCallback& on_epoch = {});

}  // namespace blasnet
