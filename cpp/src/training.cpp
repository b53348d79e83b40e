#include "blasnet/training.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "blasnet/random.hpp"

namespace blasnet {
namespace {

// The minibatches of one data set: column blocks of every input and target, viewed in place
// in data order, or the chosen columns copied side by side into buffers sized once.
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
    for (std::size_t i = 0; i < data.inputs.size; ++i) {
      x_[i].resize(data.inputs[i].rows * gather_capacity);
    }
    for (std::size_t o = 0; o < data.targets.size; ++o) {
      // An output whose target is an input finds it among the inputs.
      own_targets_[o] = !plan.outputs[o].target_input.has_value();
      if (!own_targets_[o]) continue;
      if (data.targets[o].has_labels()) {
        labels_[o].resize(gather_capacity);
      } else {
        t_[o].resize(data.targets[o].values.rows * gather_capacity);
      }
    }
  }

  // Samples [first, first + count) in data order.
  Batch<T> slice(std::size_t first, std::size_t count) {
    for (std::size_t i = 0; i < inputs_.size(); ++i) {
      inputs_[i] = data_.inputs[i].columns(first, count);
    }
    for (std::size_t o = 0; o < targets_.size(); ++o) {
      if (own_targets_[o]) targets_[o] = data_.targets[o].columns(first, count);
    }
    return current();
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
    return current();
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
    return {{inputs_.data(), inputs_.size()}, {targets_.data(), targets_.size()}};
  }

  Batch<T> data_;
  std::vector<MatrixView<const T>> inputs_;
  std::vector<Targets<T>> targets_;
  std::vector<std::vector<T>> x_, t_;
  std::vector<std::vector<std::int64_t>> labels_;
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

}  // namespace

template <typename T>
double train_step(Graph<T>& graph, const Batch<T>& batch, Optimizer& optimizer) {
  return step_on_batch(graph, batch, optimizer, Checks::on);
}

template <typename T>
std::vector<double> fit(Graph<T>& graph, const Batch<T>& data, Optimizer& optimizer,
                        const FitOptions& options, const EpochCallback& on_epoch) {
  if (options.batch_size == 0) throw std::invalid_argument("fit: batch_size must be positive, got 0");
  graph.check_batch(data);

  const std::size_t n = Graph<T>::samples(data);
  const std::size_t batch = std::min(options.batch_size, n);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t(0));
  Rng rng(options.seed);
  Minibatches<T> batches(graph.plan(), data, options.shuffle ? batch : 0);

  std::vector<double> history;
  history.reserve(options.epochs);
  for (std::size_t epoch = 0; epoch < options.epochs; ++epoch) {
    if (options.shuffle) rng.shuffle(order);
    double total = 0;
    for (std::size_t first = 0; first < n; first += batch) {
      const std::size_t count = std::min(batch, n - first);
      const Batch<T> b = options.shuffle ? batches.gather(order.data() + first, count)
                                         : batches.slice(first, count);
      total += step_on_batch(graph, b, optimizer, Checks::off) * double(count);
    }
    history.push_back(total / double(n));
    if (on_epoch && !on_epoch(epoch, history.back())) break;
  }
  return history;
}

template <typename T>
double train_step(Network<T>& net, ReadView<T> X, Loss loss, const Targets<T>& targets,
                  Optimizer& optimizer) {
  net.check_batch(X, loss, targets);
  return step_on_batch(net.graph(), {{&X, 1}, {&targets, 1}}, optimizer, Checks::off);
}

template <typename T>
std::vector<double> fit(Network<T>& net, ReadView<T> X, Loss loss,
                        const Targets<T>& targets, Optimizer& optimizer,
                        const FitOptions& options, const EpochCallback& on_epoch) {
  net.graph().set_loss(0, loss);
  return fit(net.graph(), {{&X, 1}, {&targets, 1}}, optimizer, options, on_epoch);
}

#define BLASNET_INSTANTIATE(T)                                                                 \
  template double train_step<T>(Graph<T>&, const Batch<T>&, Optimizer&);                       \
  template std::vector<double> fit<T>(Graph<T>&, const Batch<T>&, Optimizer&,                  \
                                      const FitOptions&, const EpochCallback&);                \
  template double train_step<T>(Network<T>&, MatrixView<const T>, Loss, const Targets<T>&,     \
                                Optimizer&);                                                   \
  template std::vector<double> fit<T>(Network<T>&, MatrixView<const T>, Loss,                  \
                                      const Targets<T>&, Optimizer&, const FitOptions&,        \
                                      const EpochCallback&);
BLASNET_INSTANTIATE(float)
BLASNET_INSTANTIATE(double)
#undef BLASNET_INSTANTIATE

}  // namespace blasnet
