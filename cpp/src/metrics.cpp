#include "blasnet/metrics.hpp"

#include <stdexcept>

namespace blasnet {
namespace {

template <typename T>
std::size_t argmax(const T* v, std::size_t n) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < n; ++i) {
    if (v[i] > v[best]) best = i;
  }
  return best;
}

}  // namespace

bool is_classification(Loss loss) { return loss != Loss::mse; }

template <typename T>
std::size_t count_correct(Loss loss, ReadView<T> Y, const Targets<T>& targets) {
  if (!is_classification(loss)) {
    throw std::invalid_argument("accuracy needs a classification loss, not '" +
                                std::string(loss_name(loss)) + "'");
  }
  std::size_t correct = 0;
  for (std::size_t j = 0; j < Y.cols; ++j) {
    const T* y = Y.column(j);
    if (loss == Loss::softmax_cross_entropy) {
      const std::size_t predicted = argmax(y, Y.rows);
      const std::size_t truth = targets.has_labels() ? static_cast<std::size_t>(targets.labels[j])
                                                     : argmax(targets.values.column(j), Y.rows);
      correct += predicted == truth;
      continue;
    }
    bool right = true;
    for (std::size_t i = 0; i < Y.rows; ++i) right = right && ((y[i] > T(0.5)) == (targets(i, j) > T(0.5)));
    correct += right;
  }
  return correct;
}

template std::size_t count_correct<float>(Loss, MatrixView<const float>, const Targets<float>&);
template std::size_t count_correct<double>(Loss, MatrixView<const double>, const Targets<double>&);

}  // namespace blasnet
