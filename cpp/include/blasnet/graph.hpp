#pragma once
// A loop-free network of dense nodes executing a GraphPlan: one flat parameter buffer and one
// flat gradient buffer that every node views (tied weights are two views of one block), the
// forward pass in topological order and backpropagation in reverse. The note: for
// J = J1 + J2 + … "we only need to sum over these partial derivatives", and for W1 = W2,
// dJ/dW = dJ/dW1 + dJ/dW2.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "blasnet/graph_plan.hpp"
#include "blasnet/graph_spec.hpp"
#include "blasnet/layer.hpp"
#include "blasnet/losses.hpp"
#include "blasnet/matrix.hpp"

namespace blasnet {

// Whether a public call checks its arguments. Training loops check the whole data set once
// and then skip the per-batch checks.
enum class Checks { on, off };

// The data of one batch: a matrix per graph input (dim_i × n, in the spec's input order) and
// targets per output (in the spec's output order; an output whose target is an input ignores
// its entry).
template <typename T>
struct Batch {
  Span<const MatrixView<const T>> inputs;
  Span<const Targets<T>> targets;
};

template <typename T>
class Graph {
 public:
  // Initialised from seed, parameter by parameter in declaration order (Glorot uniform, He
  // uniform for relu nodes; zero biases). Throws std::invalid_argument as GraphPlan::build.
  Graph(const GraphSpec& spec, std::uint64_t seed);
  Graph(GraphPlan plan, std::uint64_t seed);
  // A graph over parameter and gradient buffers that another graph owns and that outlive it
  // (one recurrent net unrolled to several lengths). Throws std::invalid_argument unless both
  // hold exactly the plan's parameter count.
  Graph(GraphPlan plan, Span<T> parameters, Span<T> gradients);

  // The nodes hold views into the buffers: moving is fine, copying would alias.
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  Graph(Graph&&) = default;
  Graph& operator=(Graph&&) = default;

  const GraphPlan& plan() const { return plan_; }
  std::size_t node_count() const { return nodes_.size(); }
  const Dense<T>& node(std::size_t k) const { return nodes_.at(k); }  // topological order

  Span<T> parameters() { return params_; }
  Span<const T> parameters() const { return {params_.data, params_.size}; }
  Span<T> gradients() { return grads_; }
  Span<const T> gradients() const { return {grads_.data, grads_.size}; }
  const std::vector<ParameterInfo>& parameter_info() const { return plan_.parameters; }

  // Replaces output i's loss; throws std::invalid_argument if its unit cannot feed it.
  void set_loss(std::size_t output, Loss loss);

  // Every node's output for the batch's inputs (its targets are not read). output(i) then
  // views output i's Y (units × n) in the workspace, valid until the next pass.
  // Throws std::invalid_argument for a wrong number of inputs or rows, unequal or empty
  // batches, NaN or Inf.
  void forward(Span<const MatrixView<const T>> inputs, Checks checks = Checks::on);
  MatrixView<const T> output(std::size_t i) const;

  // Forward and backward on one batch: returns J = Σ_i weight_i·J_i and fills the gradient
  // buffer with ∇J. Throws std::invalid_argument for bad inputs or targets, or a node without
  // a gradient (step), before changing anything.
  double backward(const Batch<T>& batch, Checks checks = Checks::on);
  // J_i of each output in the last backward or sgd_step, unweighted.
  const std::vector<double>& output_losses() const { return output_losses_; }

  // One step of plain gradient descent Θ ← Θ − α·∇J on one batch. Where no parameter is
  // shared the update is folded into the backward products (see Dense::sgd_backward) and the
  // gradient buffer is left as it was; otherwise the gradients are formed first. Returns J
  // before the step; throws as backward does, before changing anything.
  double sgd_step(const Batch<T>& batch, T lr, Checks checks = Checks::on);

  // The checks forward and backward make, on their own.
  void check_inputs(Span<const MatrixView<const T>> inputs) const;
  void check_trainable(Span<const Targets<T>> targets, std::size_t n) const;
  // Both, for a training batch: what backward and sgd_step check before changing anything.
  void check_batch(const Batch<T>& batch) const;
  // The samples of a batch (all inputs have as many; check_inputs checks it).
  static std::size_t samples(const Batch<T>& batch) { return batch.inputs[0].cols; }

 private:
  // Activations and deltas of one node for up to capacity_ samples. Y overwrites Z in place
  // (every derivative is taken from Y); only an output node whose loss reads the logits, and
  // whose Y differs from them, keeps Z apart. An output read by other nodes also keeps the
  // loss's dZ apart, to add to the dZ their dJ/dy gives.
  struct Workspace {
    std::vector<T> Z, Y, dY, dZ_loss;
    std::vector<MatrixView<const T>> X;   // the node's input blocks in this pass
    std::vector<InputGradient<T>> dX;     // where each block's dX goes
  };

  explicit Graph(GraphPlan plan);
  void bind_parameters();
  void initialize(std::uint64_t seed);
  // J of the batch, and the deltas of every node back to the first; sgd_lr (or null) selects
  // Dense::sgd_backward over storing gradients.
  double backward_pass(const Batch<T>& batch, const T* sgd_lr);
  // dZ of output node k: the loss's, weighted, plus what the nodes reading it sent.
  void output_backward(std::size_t k, const Batch<T>& batch, std::size_t n);
  Targets<T> targets_of(std::size_t output, const Batch<T>& batch) const;

  // Grows the workspace to n samples; a no-op in steady state, so a step allocates nothing.
  void reserve(std::size_t n);
  void point_inputs(std::size_t k, Span<const MatrixView<const T>> inputs, std::size_t n);
  void point_input_gradients(std::size_t k, std::size_t n);
  MatrixView<T> z_of(std::size_t k, std::size_t n);
  MatrixView<T> y_of(std::size_t k, std::size_t n);
  MatrixView<T> dy_of(std::size_t k, std::size_t n);

  GraphPlan plan_;
  std::vector<Dense<T>> nodes_;
  std::vector<T> own_params_, own_grads_;  // empty for a graph over another's buffers
  Span<T> params_, grads_;
  std::vector<Workspace> work_;
  std::vector<double> output_losses_;
  std::size_t capacity_ = 0;
  std::size_t last_n_ = 0;
};

// Throws std::invalid_argument unless every entry of X is finite; names the sample.
template <typename T>
void check_finite(MatrixView<const T> X, const char* what);

}  // namespace blasnet
