#include "blasnet/training.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include "blasnet/checked_size.hpp"
#include "blasnet/metrics.hpp"
#include "blasnet/random.hpp"
#include "finite.hpp"

namespace blasnet {
namespace {

// The minibatches of one data set: column blocks of every input, target and sample weight,
// viewed in place in data order, or the chosen columns copied side by side into buffers sized
// once.
template <typename T>
class Minibatches {
 public:
  Minibatches(const GraphPlan& plan, const Batch<T>& data, std::size_t gather_capacity)
      : data_(data),
        inputs_(data.inputs.size),
        targets_(data.targets.size),
        x_(data.inputs.size),
        t_(data.targets.size),
        labels_(data.targets.size),
        own_targets_(data.targets.size) {
    const auto what = [&] {
      return "fit: the shuffled minibatches of " + std::to_string(gather_capacity) + " samples";
    };
    for (std::size_t i = 0; i < data.inputs.size; ++i) {
      allocate(x_[i], checked_mul(data.inputs[i].rows, gather_capacity, what), what);
    }
    for (std::size_t o = 0; o < data.targets.size; ++o) {
      // An output whose target is an input finds it among the inputs.
      own_targets_[o] = !plan.outputs[o].target_input.has_value();
      if (!own_targets_[o]) continue;
      if (data.targets[o].has_labels()) {
        allocate(labels_[o], gather_capacity, what);
      } else {
        allocate(t_[o], checked_mul(data.targets[o].values.rows, gather_capacity, what), what);
      }
    }
    if (data.sample_weights != nullptr) allocate(weights_, gather_capacity, what);
  }

  // Samples [first, first + count) in data order.
  Batch<T> slice(std::size_t first, std::size_t count) {
    for (std::size_t i = 0; i < inputs_.size(); ++i) {
      inputs_[i] = data_.inputs[i].columns(first, count);
    }
    for (std::size_t o = 0; o < targets_.size(); ++o) {
      if (own_targets_[o]) targets_[o] = data_.targets[o].columns(first, count);
    }
    Batch<T> batch = current();
    if (data_.sample_weights != nullptr) batch.sample_weights = data_.sample_weights + first;
    return batch;
  }

  // The samples order[0..count), copied.
  Batch<T> gather(const std::size_t* order, std::size_t count) {
    for (std::size_t i = 0; i < inputs_.size(); ++i) {
      inputs_[i] = gather_columns(data_.inputs[i], order, count, x_[i].data());
    }
    for (std::size_t o = 0; o < targets_.size(); ++o) {
      if (!own_targets_[o]) continue;
      const Targets<T>& all = data_.targets[o];
      if (all.has_labels()) {
        for (std::size_t j = 0; j < count; ++j) labels_[o][j] = all.labels[order[j]];
        targets_[o] = Targets<T>::classes(labels_[o].data(), count);
      } else {
        targets_[o] = Targets<T>::dense(gather_columns(all.values, order, count, t_[o].data()));
      }
    }
    Batch<T> batch = current();
    if (data_.sample_weights != nullptr) {
      for (std::size_t j = 0; j < count; ++j) weights_[j] = data_.sample_weights[order[j]];
      batch.sample_weights = weights_.data();
    }
    return batch;
  }

 private:
  static MatrixView<const T> gather_columns(MatrixView<const T> M, const std::size_t* order,
                                            std::size_t count, T* out) {
    for (std::size_t j = 0; j < count; ++j) {
      const T* src = M.column(order[j]);
      std::copy(src, src + M.rows, out + j * M.rows);
    }
    return {out, M.rows, count};
  }

  Batch<T> current() const {
    return {{inputs_.data(), inputs_.size()}, {targets_.data(), targets_.size()}, nullptr};
  }

  Batch<T> data_;
  std::vector<MatrixView<const T>> inputs_;
  std::vector<Targets<T>> targets_;
  std::vector<std::vector<T>> x_, t_;
  std::vector<std::vector<std::int64_t>> labels_;
  std::vector<T> weights_;
  std::vector<bool> own_targets_;
};

// One update from one batch: plain SGD goes to the graph, which folds it into the backward
// products where it can; other rules take the gradients and loop over the flat buffers.
template <typename T>
double step_on_batch(Graph<T>& graph, const Batch<T>& batch, Optimizer& optimizer, Checks checks) {
  if (const std::optional<double> lr = optimizer.plain_sgd_rate()) {
    return graph.sgd_step(batch, static_cast<T>(*lr), checks);
  }
  const double J = graph.backward(batch, checks);
  optimizer.step(graph.parameters(), Span<const T>{graph.gradients().data, graph.gradients().size});
  return J;
}

// The weight of the samples ids[0..count) (in data order where ids is null, from first): their
// count, or the sum of their sample weights.
template <typename T>
double weight_of(const T* sample_weights, const std::size_t* ids, std::size_t first,
                 std::size_t count) {
  if (sample_weights == nullptr) return double(count);
  double total = 0;
  for (std::size_t j = 0; j < count; ++j) total += sample_weights[ids ? ids[j] : first + j];
  return total;
}

// How much a batch counts in an epoch's mean: its samples, or their weights.
template <typename T>
double batch_weight(const Batch<T>& batch) {
  return weight_of(batch.sample_weights, nullptr, 0, Graph<T>::samples(batch));
}

// One data-parallel update: this shard's gradient of its rows (none for an empty shard),
// scaled by their share of the global batch, J = Σ_r (w_r/w)·J_r; the hook sums the
// gradients over the processes; the optimizer applies the sum. A NaN or Inf anywhere makes
// the sum NaN or Inf on every process, which all refuse alike, changing nothing.
template <typename T>
double shard_step(Graph<T>& graph, const Batch<T>* local, double share, Optimizer& optimizer,
                  TrainingHook& hook) {
  const Span<T> g = graph.gradients();
  double J = 0;
  if (local == nullptr) {
    std::fill(g.begin(), g.end(), T(0));
  } else {
    try {
      J = graph.backward(*local, Checks::off);
      const T factor = static_cast<T>(share);
      for (T& v : g) v *= factor;
    } catch (const NonFiniteError&) {
      std::fill(g.begin(), g.end(), std::numeric_limits<T>::quiet_NaN());
    }
  }
  hook.gradient(g);
  if (any_not_finite(g.data, g.size)) {
    throw NonFiniteError("the summed gradient is NaN or infinite; no parameter was changed");
  }
  optimizer.step(graph.parameters(), Span<const T>{g.data, g.size});
  return J;
}

// The output whose accuracy training reports: the first with a classification loss.
std::optional<std::size_t> accuracy_output(const GraphPlan& plan) {
  for (std::size_t i = 0; i < plan.outputs.size(); ++i) {
    if (is_classification(plan.outputs[i].loss)) return i;
  }
  return std::nullopt;
}

// Running sums over the batches of one pass. Each batch's weight counts as a share of the
// whole pass's (its samples, or their weights), so that the sums cannot overflow where the
// loss and the weights are finite.
struct Tally {
  explicit Tally(double pass_weight) : unit(pass_weight) {}

  double unit;
  double loss = 0, weight = 0;
  std::size_t correct = 0, samples = 0;

  template <typename T>
  void add(const Graph<T>& graph, const Batch<T>& batch, double J,
           std::optional<std::size_t> scored) {
    const double w = batch_weight(batch) / unit;
    loss += J * w;
    weight += w;
    samples += Graph<T>::samples(batch);
    if (!scored) return;
    const PlannedOutput& out = graph.plan().outputs[*scored];
    const Targets<T> targets = out.target_input
                                   ? Targets<T>::dense(batch.inputs[*out.target_input])
                                   : batch.targets[*scored];
    correct += count_correct<T>(out.loss, graph.output(*scored), targets);
  }
  // The sums as epoch_sums passes them, and back.
  static constexpr std::size_t fields = 4;
  void put(double* out) const {
    out[0] = loss, out[1] = weight, out[2] = double(correct), out[3] = double(samples);
  }
  void take(const double* in) {
    loss = in[0], weight = in[1];
    correct = static_cast<std::size_t>(in[2]), samples = static_cast<std::size_t>(in[3]);
  }
  double mean_loss() const { return weight > 0 ? loss / weight : 0.0; }
  std::optional<double> accuracy(std::optional<std::size_t> scored) const {
    if (!scored || samples == 0) return std::nullopt;
    return double(correct) / double(samples);
  }
};

// The message of a step that met a NaN or Inf: where it was, what it met (which changed
// nothing), and so which step's parameters and optimizer state the model holds. Steps count
// from 1 within the epoch, epochs from 0 as the records do.
std::string diverged_at(std::size_t epoch, std::size_t step, std::size_t first,
                        const char* what) {
  const std::string kept = step > 1    ? "those after step " + std::to_string(step - 1)
                           : epoch > 0 ? "those at the end of epoch " + std::to_string(epoch - 1)
                                       : "those fit started with";
  return "training stopped at epoch " + std::to_string(epoch) + ", step " + std::to_string(step) +
         " (the batch from sample " + std::to_string(first) + "): " + what +
         "; the parameters and the optimizer's state are " + kept;
}

}  // namespace

void RowShard::check() const {
  if (size == 0 || rank >= size) {
    throw std::invalid_argument("fit: shard rank " + std::to_string(rank) + " of " +
                                std::to_string(size) + " processes is none of them");
  }
}

std::vector<double> FitResult::losses() const {
  std::vector<double> out;
  for (const EpochRecord& r : epochs) out.push_back(r.loss);
  return out;
}

template <typename T>
double train_step(Graph<T>& graph, const Batch<T>& batch, Optimizer& optimizer) {
  const auto held = optimizer.hold();
  return step_on_batch(graph, batch, optimizer, Checks::on);
}

template <typename T>
FitResult fit(Graph<T>& graph, const Batch<T>& data, Optimizer& optimizer,
              const FitOptions& options, ValidationData<T> validation,
              const EpochCallback& on_epoch) {
  using Clock = std::chrono::steady_clock;
  // The whole run, not each step: a state loaded or reset between two steps would make a run
  // that is neither the one before nor the one after.
  const auto held = optimizer.hold();
  if (options.batch_size == 0) throw std::invalid_argument("fit: batch_size must be positive, got 0");
  graph.check_batch(data);
  if (validation != nullptr) {
    try {
      graph.check_batch(*validation);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(std::string("validation data: ") + e.what());
    }
  }

  const RowShard& shard = options.shard;
  shard.check();
  if (shard.size > 1 && options.hook == nullptr) {
    throw std::invalid_argument("fit: a shard of " + std::to_string(shard.size) +
                                " processes needs a hook that sums their gradients");
  }
  TrainingHook* const hook = options.hook;

  const std::size_t n = Graph<T>::samples(data);
  const std::size_t batch = std::min(options.batch_size, n);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t(0));
  Rng rng(options.seed);
  // Each rank its own masks: rank r's stream is r golden-ratio strides (splitmix64's) from
  // rank 0's, which is the single process's.
  graph.seed_dropout((options.seed ^ 0xd1b54a32d192ed03ull) + shard.rank * 0x9e3779b97f4a7c15ull);
  Minibatches<T> batches(graph.plan(), data, options.shuffle ? shard.part(batch).second : 0);
  std::optional<Minibatches<T>> validation_batches;
  if (validation != nullptr) validation_batches.emplace(graph.plan(), *validation, 0);
  const std::optional<std::size_t> scored = accuracy_output(graph.plan());
  const double data_weight = batch_weight(data);
  const double validation_weight = validation != nullptr ? batch_weight(*validation) : 1.0;

  const Span<T> params = graph.parameters();
  std::vector<T> best;
  double best_monitored = std::numeric_limits<double>::infinity();
  std::size_t waited = 0;

  FitResult result;
  // One record per epoch; reserved so that the loop itself allocates nothing.
  result.epochs.reserve(std::min<std::size_t>(options.epochs, 4096));
  for (std::size_t epoch = 0; epoch < options.epochs; ++epoch) {
    const Clock::time_point started = Clock::now();
    if (options.schedule != nullptr) options.schedule->begin_epoch(optimizer);
    if (options.shuffle) rng.shuffle(order);

    Tally train(data_weight);
    for (std::size_t first = 0; first < n; first += batch) {
      if (options.stop != nullptr && options.stop->load(std::memory_order_relaxed)) {
        result.stopped = StopReason::interrupted;
        return result;
      }
      const std::size_t count = std::min(batch, n - first);
      const auto [offset, mine] = shard.part(count);
      const std::size_t* ids = options.shuffle ? order.data() + first : nullptr;
      const Batch<T> b = ids != nullptr ? batches.gather(ids + offset, mine)
                                        : batches.slice(first + offset, mine);
      double J;
      try {
        // A step changes nothing unless its loss, its gradient and every new parameter and
        // state value are finite: the model always holds the last finite step's.
        if (hook == nullptr) {
          J = step_on_batch(graph, b, optimizer, Checks::off);
        } else {
          const double whole = weight_of(data.sample_weights, ids, first, count);
          const double share = whole > 0 ? batch_weight(b) / whole : 0.0;
          J = shard_step(graph, mine > 0 ? &b : nullptr, share, optimizer, *hook);
        }
      } catch (const NonFiniteError& e) {
        throw TrainingDiverged(diverged_at(epoch, first / batch + 1, first, e.what()), result);
      }
      if (mine > 0) train.add(graph, b, J, scored);
    }

    Tally held_out(validation_weight);
    if (validation_batches) {
      // This shard's part of the validation data, in chunks.
      const auto [start, mine] = shard.part(Graph<T>::samples(*validation));
      const std::size_t chunk = std::max<std::size_t>(batch, 256);
      for (std::size_t first = start; first < start + mine; first += chunk) {
        const Batch<T> b = validation_batches->slice(first, std::min(chunk, start + mine - first));
        held_out.add(graph, b, graph.evaluate(b, Checks::off), scored);
      }
    }
    double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    if (hook != nullptr) {
      // The whole run's sums, and rank 0's wall time, on every process.
      double sums[2 * Tally::fields + 1];
      train.put(sums);
      held_out.put(sums + Tally::fields);
      sums[2 * Tally::fields] = shard.rank == 0 ? seconds : 0.0;
      hook->epoch_sums({sums, std::size(sums)});
      train.take(sums);
      held_out.take(sums + Tally::fields);
      seconds = sums[2 * Tally::fields];
    }
    EpochRecord record;
    record.epoch = epoch;
    record.loss = train.mean_loss();
    record.accuracy = train.accuracy(scored);
    record.lr = optimizer.lr();
    if (validation_batches) {
      record.val_loss = held_out.mean_loss();
      record.val_accuracy = held_out.accuracy(scored);
    }
    record.seconds = seconds;
    result.epochs.push_back(record);

    const double monitored = record.val_loss.value_or(record.loss);
    if (options.schedule != nullptr) options.schedule->end_epoch(n, monitored);
    if (options.early_stopping) {
      const EarlyStopping& rule = *options.early_stopping;
      if (monitored < best_monitored - rule.min_delta) {
        best_monitored = monitored;
        result.best_epoch = epoch;
        waited = 0;
        if (rule.restore_best) best.assign(params.begin(), params.end());
      } else if (++waited >= rule.patience) {
        result.stopped = StopReason::early_stopping;
      }
    }
    double stop_votes = on_epoch && !on_epoch(record) ? 1.0 : 0.0;
    // A callback that stops one process stops all.
    if (hook != nullptr) hook->epoch_sums({&stop_votes, 1});
    if (stop_votes > 0 && result.stopped == StopReason::completed) {
      result.stopped = StopReason::callback;
    }
    if (result.stopped != StopReason::completed) break;
  }
  if (options.early_stopping && options.early_stopping->restore_best && !best.empty()) {
    std::copy(best.begin(), best.end(), params.begin());
  }
  return result;
}

template <typename T>
double train_step(Network<T>& net, ReadView<T> X, Loss loss, const Targets<T>& targets,
                  Optimizer& optimizer) {
  net.check_batch(X, loss, targets);
  const auto held = optimizer.hold();
  return step_on_batch(net.graph(), {{&X, 1}, {&targets, 1}, nullptr}, optimizer, Checks::off);
}

template <typename T>
FitResult fit(Network<T>& net, ReadView<T> X, Loss loss, const Targets<T>& targets,
              Optimizer& optimizer, const FitOptions& options, ValidationData<T> validation,
              const EpochCallback& on_epoch) {
  net.graph().set_loss(0, loss);
  return fit(net.graph(), {{&X, 1}, {&targets, 1}, nullptr}, optimizer, options, validation,
             on_epoch);
}

#define BLASNET_INSTANTIATE(T)                                                                \
  template double train_step<T>(Graph<T>&, const Batch<T>&, Optimizer&);                      \
  template FitResult fit<T>(Graph<T>&, const Batch<T>&, Optimizer&, const FitOptions&,        \
                            const Batch<T>*, const EpochCallback&);                           \
  template double train_step<T>(Network<T>&, MatrixView<const T>, Loss, const Targets<T>&,    \
                                Optimizer&);                                                  \
  template FitResult fit<T>(Network<T>&, MatrixView<const T>, Loss, const Targets<T>&,        \
                            Optimizer&, const FitOptions&, ValidationData<T>,                 \
                            const EpochCallback&);
BLASNET_INSTANTIATE(float)
BLASNET_INSTANTIATE(double)
#undef BLASNET_INSTANTIATE

}  // namespace blasnet
