#pragma once
// A loop-free network of dense nodes executing a GraphPlan: one flat parameter buffer and one
// flat gradient buffer that every node views (tied weights are two views of one block), the
// forward pass in topological order and backpropagation in reverse. The note: for
// J = J1 + J2 + … "we only need to sum over these partial derivatives", and for W1 = W2,
// dJ/dW = dJ/dW1 + dJ/dW2.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "blasnet/graph_plan.hpp"
#include "blasnet/graph_spec.hpp"
#include "blasnet/layer.hpp"
#include "blasnet/losses.hpp"
#include "blasnet/matrix.hpp"
#include "blasnet/random.hpp"

namespace blasnet {

// Whether a public call checks its arguments. Training loops check the whole data set once
// and then skip the per-batch checks.
enum class Checks { on, off };

// A training pass drops out units where asked; an inference pass never does.
enum class Mode { inference, training };

// Thrown by a training pass whose loss or gradient is NaN or infinite, before any parameter
// changes: the weights stay those of the last finite step.
class NonFiniteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The data of one batch: a matrix per graph input (dim_i × n, in the spec's input order),
// targets per output (in the spec's output order; an output whose target is an input ignores
// its entry), and optionally a weight per sample: every loss is then the weighted mean
// Σ_j w_j·J_j / Σ_j w_j.
template <typename T>
struct Batch {
  Span<const MatrixView<const T>> inputs;
  Span<const Targets<T>> targets;
  const T* sample_weights = nullptr;  // n values ≥ 0, or null for 1 each
};

template <typename T>
class Graph;

// The memory one thread's Graph::predict calls write their hidden activations into: every
// node's Y that is not an output, for one batch. It grows to the largest batch and graph it
// has served and never shrinks, so that a thread predicting batches of a steady size allocates
// nothing after its first call. It belongs to no graph (one scratch serves any number, one
// call at a time); give each thread its own.
template <typename T>
class InferenceScratch {
 public:
  // Values it holds: Σ units·n over the hidden nodes of the largest pass so far.
  std::size_t capacity() const { return values_.size(); }

 private:
  friend class Graph<T>;
  std::vector<T> values_;
  std::vector<MatrixView<const T>> X_;  // the input blocks of the node being computed
  std::vector<MatrixView<T>> Y_;        // each node's output in the current call
};

// Thread safety. A Graph is not internally synchronised. forward, evaluate, backward,
// sgd_step, set_loss and seed_dropout write the graph's workspace (and the latter ones its
// gradients), so each needs the graph to itself, as does anything writing parameters().
// predict reads only the plan and the parameters and writes only memory its caller passes:
// any number of threads may predict on one const Graph at once — each with its own
// InferenceScratch — as long as nobody trains it or changes its parameters meanwhile (nor
// those of a graph sharing its buffers).
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
  void forward(Span<const MatrixView<const T>> inputs, Checks checks = Checks::on,
               Mode mode = Mode::inference);
  MatrixView<const T> output(std::size_t i) const;

  // The inference pass of forward, writing only memory the caller owns: output i's Y into
  // outputs[i] (units × n, in the spec's output order; its leading dimension may exceed
  // units), every hidden node's into scratch. No dropout; the graph is not modified, so
  // threads may call this at once on one graph (see the thread-safety note above). The
  // outputs must not overlap the inputs or each other. Allocates nothing once scratch has
  // grown to the batch. Throws std::invalid_argument as forward does, and for a wrong number
  // of outputs or a wrong shape of one.
  // eqs. (1)-(2) node after node: X_i (dim_i × n) -> Y of each output (units × n).
  void predict(Span<const MatrixView<const T>> inputs, Span<const MatrixView<T>> outputs,
               InferenceScratch<T>& scratch, Checks checks = Checks::on) const;

  // J = Σ_i weight_i·J_i of a batch in inference mode, without gradients; output_losses()
  // then holds each J_i. Throws as forward does, and for bad targets.
  double evaluate(const Batch<T>& batch, Checks checks = Checks::on);

  // Forward (in training mode) and backward on one batch: returns J = Σ_i weight_i·J_i and
  // fills the gradient buffer with ∇J. Throws std::invalid_argument for bad inputs or targets,
  // or a node without a gradient (step), before changing anything; NonFiniteError for a NaN
  // or infinite loss or gradient.
  double backward(const Batch<T>& batch, Checks checks = Checks::on);
  // J_i of each output in the last pass that computed a loss, unweighted.
  const std::vector<double>& output_losses() const { return output_losses_; }

  // One step of plain gradient descent Θ ← Θ − α·∇J on one batch. Where no parameter is
  // shared, eq. (9) is folded into the update (see Dense::sgd_update) and the weight gradients
  // are never formed; otherwise the gradients are formed first. Returns J before the step;
  // throws as backward does, and NonFiniteError if the update would make a parameter NaN or
  // infinite, before changing any parameter.
  double sgd_step(const Batch<T>& batch, T lr, Checks checks = Checks::on);

  // Restarts the random stream of dropout masks (seeded from the graph's seed at first).
  void seed_dropout(std::uint64_t seed) { dropout_rng_ = Rng(seed); }

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
  // loss's dZ apart, to add to the dZ their dJ/dy gives. A node with dropout keeps its mask,
  // already scaled (0 or 1/(1 − p)), and the dropped output its readers see in training.
  struct Workspace {
    std::vector<T> Z, Y, dY, dZ_loss, mask, dropped;
    std::vector<MatrixView<const T>> X;   // the node's input blocks in this pass
    std::vector<InputGradient<T>> dX;     // where each block's dX goes
  };

  explicit Graph(GraphPlan plan);
  void bind_parameters();
  void initialize(std::uint64_t seed);
  // J of the batch, and the deltas of every node back to the first; with sgd_lr, then the
  // folded updates of Dense::sgd_update instead of weight gradients.
  double backward_pass(const Batch<T>& batch, const T* sgd_lr);
  // Σ_i weight_i·J_i of the outputs the last forward left, filling output_losses_.
  double weighted_loss(const Batch<T>& batch, std::size_t n);
  // dZ of output node k: the loss's, weighted by the output's weight and the samples', plus
  // what the nodes reading it sent.
  void output_backward(std::size_t k, const Batch<T>& batch, std::size_t n);
  Targets<T> targets_of(std::size_t output, const Batch<T>& batch) const;
  // Inverted dropout on node k's output, into its mask and dropped buffers.
  void drop_out(std::size_t k, std::size_t n);
  // Throw NonFiniteError naming the first node whose bias gradient (a row sum of its dZ), or
  // the first parameter whose gradient, is NaN or infinite.
  void check_bias_gradients_finite() const;
  void check_weight_gradients_finite() const;
  // Whether no folded update of this pass can overflow (see backward_pass).
  bool folded_update_is_safe(std::size_t n, T lr);
  // Θ ← Θ − α·∇J from the gradient buffer; throws NonFiniteError naming the parameter,
  // before changing any, if a new value would be NaN or infinite.
  void descend(T lr);
  void check_sample_weights(const Batch<T>& batch) const;

  // Grows the workspace to n samples; a no-op in steady state, so a step allocates nothing.
  void reserve(std::size_t n);
  void point_inputs(std::size_t k, Span<const MatrixView<const T>> inputs, std::size_t n);
  void point_input_gradients(std::size_t k, std::size_t n);
  MatrixView<T> z_of(std::size_t k, std::size_t n);
  MatrixView<T> y_of(std::size_t k, std::size_t n);
  MatrixView<T> dy_of(std::size_t k, std::size_t n);
  // What node k's readers see: its output, or in a training pass its dropped output.
  MatrixView<const T> seen_of(std::size_t k, std::size_t n);

  GraphPlan plan_;
  std::vector<Dense<T>> nodes_;
  std::vector<T> own_params_, own_grads_;  // empty for a graph over another's buffers
  Span<T> params_, grads_;
  std::vector<Workspace> work_;
  std::vector<double> output_losses_;
  Rng dropout_rng_{0};
  bool training_pass_ = false;
  std::size_t capacity_ = 0;
  std::size_t last_n_ = 0;
};

// Throws std::invalid_argument unless every entry of X is finite; names the sample.
template <typename T>
void check_finite(MatrixView<const T> X, const char* what);

}  // namespace blasnet
