#include "blasnet/training.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "blasnet/random.hpp"

namespace blasnet {
namespace {

// Shuffled batches: the chosen columns of X and T copied side by side into buffers sized once.
template <typename T>
class BatchGatherer {
 public:
  BatchGatherer(MatrixView<const T> X, const Targets<T>& targets, std::size_t batch_size)
      : X_(X), targets_(targets) {
    x_.resize(X.rows * batch_size);
    if (targets.has_labels()) {
      labels_.resize(batch_size);
    } else {
      t_.resize(targets.values.rows * batch_size);
    }
  }

  void gather(const std::size_t* order, std::size_t count) {
    const std::size_t n_in = X_.rows;
    for (std::size_t j = 0; j < count; ++j) {
      const T* src = X_.column(order[j]);
      std::copy(src, src + n_in, x_.data() + j * n_in);
    }
    if (targets_.has_labels()) {
      for (std::size_t j = 0; j < count; ++j) labels_[j] = targets_.labels[order[j]];
      batch_targets_ = Targets<T>::classes(labels_.data(), count);
    } else {
      const std::size_t n_out = targets_.values.rows;
      for (std::size_t j = 0; j < count; ++j) {
        const T* src = targets_.values.column(order[j]);
        std::copy(src, src + n_out, t_.data() + j * n_out);
      }
      batch_targets_ = Targets<T>::dense({t_.data(), n_out, count});
    }
    batch_x_ = {x_.data(), n_in, count};
  }

  MatrixView<const T> x() const { return batch_x_; }
  const Targets<T>& targets() const { return batch_targets_; }

 private:
  MatrixView<const T> X_;
  Targets<T> targets_;
  std::vector<T> x_, t_;
  std::vector<std::int64_t> labels_;
  MatrixView<const T> batch_x_;
  Targets<T> batch_targets_;
};

// One update from one batch: folded into the backward products for plain SGD, otherwise
// gradients first and then the optimizer's rule over the flat buffers.
template <typename T>
double step_on_batch(Network<T>& net, MatrixView<const T> X, Loss loss,
                     const Targets<T>& targets, Optimizer& optimizer, Checks checks) {
  if (const std::optional<double> lr = optimizer.plain_sgd_rate()) {
    return net.sgd_step(X, loss, targets, static_cast<T>(*lr), checks);
  }
  const double J = net.backward(X, loss, targets, checks);
  optimizer.step(net.parameters(), Span<const T>{net.gradients().data, net.gradients().size});
  return J;
}

}  // namespace

template <typename T>
double train_step(Network<T>& net, ReadView<T> X, Loss loss, const Targets<T>& targets,
                  Optimizer& optimizer) {
  return step_on_batch(net, X, loss, targets, optimizer, Checks::on);
}

template <typename T>
std::vector<double> fit(Network<T>& net, ReadView<T> X, Loss loss,
                        const Targets<T>& targets, Optimizer& optimizer,
                        const FitOptions& options, const EpochCallback& on_epoch) {
  if (options.batch_size == 0) throw std::invalid_argument("fit: batch_size must be positive, got 0");
  net.check_batch(X, loss, targets);

  const std::size_t n = X.cols;
  const std::size_t batch = std::min(options.batch_size, n);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t(0));
  Rng rng(options.seed);
  BatchGatherer<T> gatherer(X, targets, options.shuffle ? batch : 0);

  std::vector<double> history;
  history.reserve(options.epochs);
  for (std::size_t epoch = 0; epoch < options.epochs; ++epoch) {
    if (options.shuffle) rng.shuffle(order);
    double total = 0;
    for (std::size_t first = 0; first < n; first += batch) {
      const std::size_t count = std::min(batch, n - first);
      double J;
      if (options.shuffle) {
        gatherer.gather(order.data() + first, count);
        J = step_on_batch(net, gatherer.x(), loss, gatherer.targets(), optimizer, Checks::off);
      } else {
        J = step_on_batch(net, X.columns(first, count), loss, targets.columns(first, count),
                          optimizer, Checks::off);
      }
      total += J * double(count);
    }
    history.push_back(total / double(n));
    if (on_epoch && !on_epoch(epoch, history.back())) break;
  }
  return history;
}

#define BLASNET_INSTANTIATE(T)                                                                 \
  template double train_step<T>(Network<T>&, MatrixView<const T>, Loss, const Targets<T>&,     \
                                Optimizer&);                                                   \
  template std::vector<double> fit<T>(Network<T>&, MatrixView<const T>, Loss,                  \
                                      const Targets<T>&, Optimizer&, const FitOptions&,        \
                                      const EpochCallback&);
BLASNET_INSTANTIATE(float)
BLASNET_INSTANTIATE(double)
#undef BLASNET_INSTANTIATE

}  // namespace blasnet
