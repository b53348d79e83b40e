#pragma once
// Minibatch training, run entirely in C++, on any graph (a Network trains as the graph it is):
// epochs of steps, validation, early stopping, learning-rate schedules, a record per epoch,
// and no lost work — a stop request is honoured between steps, and a NaN or infinite loss,
// gradient or update stops training with the weights and optimizer state of the last finite
// step. train_step and fit hold the optimizer while they run (optimizers.hpp): another
// thread's use of it waits, and two runs that share one optimizer take turns.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "blasnet/graph.hpp"
#include "blasnet/losses.hpp"
#include "blasnet/network.hpp"
#include "blasnet/optimizers.hpp"
#include "blasnet/schedules.hpp"

namespace blasnet {

// Stop when the monitored loss (validation loss if there is validation data, else training
// loss) has not improved by more than min_delta for patience epochs.
struct EarlyStopping {
  std::size_t patience = 10;
  double min_delta = 0;
  bool restore_best = true;  // end with the weights of the best epoch
};

// The rows of every global batch that one process of a data-parallel run computes:
// contiguous, near-equal parts in rank order, the first (count % size) ranks one sample
// larger, empty for the last ranks when a batch has fewer samples than there are ranks.
struct RowShard {
  std::size_t rank = 0;
  std::size_t size = 1;

  // Throws std::invalid_argument unless rank is one of size processes.
  void check() const;

  // The first sample and the count of this shard's part of a batch of count samples.
  std::pair<std::size_t, std::size_t> part(std::size_t count) const {
    const std::size_t base = count / size, extra = count % size;
    return {rank * base + std::min(rank, extra), base + (rank < extra ? 1 : 0)};
  }
};

// What fit calls at fixed points of every epoch, so that a data-parallel run is this one
// loop: every process of the run calls each function at the same points with buffers of the
// same size, and an MPI program implements both with MPI_Allreduce(MPI_IN_PLACE, data, size,
// MPI_FLOAT or MPI_DOUBLE, MPI_SUM, comm). The defaults change nothing (one process).
//
// The note's reason it works: backpropagation is linear, so for J = Σ_r (n_r/n)·J_r over the
// shards of a batch of n samples, "we only need to sum over these partial derivatives".
class TrainingHook {
 public:
  virtual ~TrainingHook() = default;
  // After each batch's backward pass, before the update: the flat gradient buffer (in the
  // order of Graph::parameters()), which the optimizer then applies as it stands. With a
  // shard it holds dJ_r/dΘ of this process's rows times their share n_r/n of the batch (with
  // sample weights, their share of the batch's weight), and must become the sum over the
  // processes. A process whose own gradient was NaN or infinite passes NaNs, so that every
  // process refuses the step alike.
  virtual void gradient(Span<float> g) { (void)g; }
  virtual void gradient(Span<double> g) { (void)g; }
  // After each epoch: this process's running sums of the epoch (its loss, weight, right
  // answers and samples, in training and in validation, and whether its epoch callback asked
  // to stop), to become their sums over the processes, so that every process records the
  // same epoch and takes the same decisions.
  virtual void epoch_sums(Span<double> sums) { (void)sums; }
};

struct FitOptions {
  // FitOptions{epochs, batch_size, shuffle, seed}; the rest is set by name.
  FitOptions(std::size_t epochs_ = 1, std::size_t batch_size_ = 32, bool shuffle_ = true,
             std::uint64_t seed_ = 0)
      : epochs(epochs_), batch_size(batch_size_), shuffle(shuffle_), seed(seed_) {}

  std::size_t epochs;
  std::size_t batch_size;
  bool shuffle;
  std::uint64_t seed;  // of the shuffling order and the dropout masks
  std::optional<EarlyStopping> early_stopping;
  Schedule* schedule = nullptr;             // sets the rate before each epoch
  const std::atomic<bool>* stop = nullptr;  // read before every step: set it to stop there
  // Data-parallel training: this process computes the rows `shard` of every global batch of
  // batch_size samples (and of the validation data), drawn in the order a single process
  // draws, and the hook sums gradients and epoch sums over the processes. Every process calls
  // fit with the same data, options and starting parameters and optimizer state (broadcast
  // them first), and ends with the same parameters and records, equal to a single process's
  // fit to rounding. Dropout masks come from a stream of each rank's own (rank 0's is the
  // single process's). A shard of more than one process needs a hook.
  RowShard shard;
  TrainingHook* hook = nullptr;
};

// What one epoch did.
struct EpochRecord {
  std::size_t epoch = 0;  // from 0, within one call to fit
  // Mean training loss of the epoch's steps, each weighted by its samples (or sample weights).
  double loss = 0;
  // For a classification loss on the first output: the share of samples each step's own
  // forward pass got right, and likewise on the validation data.
  std::optional<double> accuracy;
  std::optional<double> val_loss;
  std::optional<double> val_accuracy;
  double lr = 0;       // the optimizer's rate during the epoch
  double seconds = 0;  // wall time, validation included
};

enum class StopReason { completed, early_stopping, callback, interrupted };

struct FitResult {
  std::vector<EpochRecord> epochs;  // the completed ones
  StopReason stopped = StopReason::completed;
  // With early stopping: the epoch with the best monitored loss (its weights are kept when
  // restore_best is set and training ended normally).
  std::optional<std::size_t> best_epoch;

  std::vector<double> losses() const;
};

// Thrown by fit when a step meets a NaN or infinite loss, gradient, or new parameter or
// optimizer state value. That step changed nothing, so the network holds the weights, and the
// optimizer the state, of the last finite step, which the message names; result holds the
// completed epochs.
class TrainingDiverged : public NonFiniteError {
 public:
  TrainingDiverged(const std::string& what, FitResult result)
      : NonFiniteError(what), result_(std::move(result)) {}
  const FitResult& result() const { return result_; }

 private:
  FitResult result_;
};

// Called after each epoch with its record; returning false stops training there.
using EpochCallback = std::function<bool(const EpochRecord&)>;

// Optional validation data: a pointer whose element type follows the network's, so that a
// plain nullptr works.
template <typename T>
using ValidationData = const typename TypeIdentity<Batch<T>>::type*;

// One gradient step on one batch: J = backward(batch), then the optimizer's update.
// Returns J before the update; throws NonFiniteError, changing nothing (neither the parameters
// nor the optimizer's state), for a NaN or infinite loss or gradient, or an update that would
// make a parameter or a state value NaN or infinite.
template <typename T>
double train_step(Graph<T>& graph, const Batch<T>& batch, Optimizer& optimizer);

// Epochs of minibatch steps over the data (every input, target and sample weight holds the
// same samples). Batches are column blocks, used in place when not shuffling; shuffled batches
// are gathered into buffers allocated once. The data, and validation data if given, are
// checked once, up front.
template <typename T>
FitResult fit(Graph<T>& graph, const Batch<T>& data, Optimizer& optimizer,
              const FitOptions& options, ValidationData<T> validation = nullptr,
              const EpochCallback& on_epoch = {});

// The same for a stack of layers with one input X and one loss.
template <typename T>
double train_step(Network<T>& net, ReadView<T> X, Loss loss, const Targets<T>& targets,
                  Optimizer& optimizer);
template <typename T>
FitResult fit(Network<T>& net, ReadView<T> X, Loss loss, const Targets<T>& targets,
              Optimizer& optimizer, const FitOptions& options,
              ValidationData<T> validation = nullptr, const EpochCallback& on_epoch = {});

}  // namespace blasnet
