#pragma once
// A feed-forward network: dense nodes in topological order, each knowing the node it reads,
// with one flat parameter buffer and one flat gradient buffer that the layers are views into.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "blasnet/layer.hpp"
#include "blasnet/losses.hpp"
#include "blasnet/matrix.hpp"

namespace blasnet {

// Where one parameter lives in the flat buffers: a weight matrix (rows = n_out, cols = n_in,
// row-major) or a bias vector (cols = 0).
struct ParameterInfo {
  std::string name;  // "<layer>.W" or "<layer>.b"
  std::size_t offset = 0;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::size_t size() const { return cols == 0 ? rows : rows * cols; }
};

// Whether a public call checks its arguments. Training loops check the whole data set once
// and then skip the per-batch checks.
enum class Checks { on, off };

template <typename T>
class Network {
 public:
  // A stack of dense layers over input_dim inputs, initialised from seed (Glorot uniform,
  // He uniform for relu layers; zero biases). Throws std::invalid_argument for non-positive
  // sizes, no layers, or duplicate layer names.
  Network(std::size_t input_dim, const std::vector<DenseSpec>& layers, std::uint64_t seed);

  // The buffers hold views into themselves: moving is fine, copying would alias.
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;
  Network(Network&&) = default;
  Network& operator=(Network&&) = default;

  std::size_t input_dim() const { return input_dim_; }
  std::size_t output_dim() const { return nodes_.back().layer.n_out(); }
  std::size_t layer_count() const { return nodes_.size(); }
  const Dense<T>& layer(std::size_t i) const { return nodes_.at(i).layer; }

  Span<T> parameters() { return {params_.data(), params_.size()}; }
  Span<const T> parameters() const { return {params_.data(), params_.size()}; }
  Span<T> gradients() { return {grads_.data(), grads_.size()}; }
  Span<const T> gradients() const { return {grads_.data(), grads_.size()}; }
  const std::vector<ParameterInfo>& parameter_info() const { return info_; }

  // X (input_dim × n) -> Y (output_dim × n). The view points into the network's workspace
  // and stays valid until the next forward or backward.
  // Throws std::invalid_argument for a wrong number of rows, an empty batch, NaN or Inf.
  MatrixView<const T> forward(MatrixView<const T> X, Checks checks = Checks::on);

  // Forward and backward on one batch: returns J and fills the gradient buffer with ∇J.
  // Throws std::invalid_argument for bad X or targets, a loss the output unit cannot feed, or
  // a layer without a gradient (step).
  double backward(MatrixView<const T> X, Loss loss, const Targets<T>& targets,
                  Checks checks = Checks::on);

  // One step of plain gradient descent Θ ← Θ − α·∇J on one batch, the update folded into the
  // backward products (see Dense::sgd_backward): the gradient buffer is left as it was.
  // Returns J before the step; throws as backward does, before changing anything.
  double sgd_step(MatrixView<const T> X, Loss loss, const Targets<T>& targets, T lr,
                  Checks checks = Checks::on);

  // The checks forward and backward make, on their own.
  void check_input(MatrixView<const T> X) const;
  void check_trainable(Loss loss, const Targets<T>& targets, std::size_t n) const;
  // Both, for a training batch: what backward and sgd_step check before changing anything.
  void check_batch(MatrixView<const T> X, Loss loss, const Targets<T>& targets) const;

 private:
  struct Node {
    Dense<T> layer;
    std::ptrdiff_t input;  // index of the node it reads; −1 for the network's input
  };
  // Activations and deltas of one node for up to capacity_ samples. Y overwrites Z in place
  // (every derivative is taken from Y); only an output node whose loss reads the logits, and
  // whose Y differs from them, keeps Z apart.
  struct Workspace {
    std::vector<T> Z, Y, dY;
  };

  // J of the batch, and the deltas of every node back to the first; sgd_lr (or null) selects
  // Dense::sgd_backward over storing gradients.
  double backward_pass(MatrixView<const T> X, Loss loss, const Targets<T>& targets,
                       const T* sgd_lr);

  // Grows the workspace to n samples; a no-op in steady state, so a step allocates nothing.
  void reserve(std::size_t n);
  MatrixView<T> z_of(std::size_t k, std::size_t n);
  MatrixView<T> y_of(std::size_t k, std::size_t n);
  MatrixView<T> dy_of(std::size_t k, std::size_t n);
  MatrixView<const T> input_of(std::size_t k, MatrixView<const T> X, std::size_t n);

  std::size_t input_dim_;
  std::vector<Node> nodes_;
  std::vector<T> params_;
  std::vector<T> grads_;
  std::vector<ParameterInfo> info_;
  std::vector<Workspace> work_;
  std::size_t capacity_ = 0;
};

// Throws std::invalid_argument unless every entry of X is finite; names the sample.
template <typename T>
void check_finite(MatrixView<const T> X, const char* what);

}  // namespace blasnet
