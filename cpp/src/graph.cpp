#include "blasnet/graph.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_map>

#include "blasnet/checked_size.hpp"
#include "blasnet/initializers.hpp"
#include "blasnet/random.hpp"
#include "finite.hpp"
#include "float_repr.hpp"
#include "two_passes.hpp"

namespace blasnet {

namespace {

// Why the parameters of plan, in values of element bytes each, cannot be allocated: what the
// largest node asks, and the whole graph's.
std::string parameters_refused(const GraphPlan& plan, std::size_t element, double bytes) {
  const ParameterInfo* largest = &plan.parameters.front();
  for (const ParameterInfo& p : plan.parameters) {
    if (p.size() > largest->size()) largest = &p;
  }
  const std::string node = largest->name.substr(0, largest->name.size() - 2);
  const PlannedNode& planned = plan.nodes[*plan.find_node(node)];
  const std::string dense = "Dense(" + std::to_string(planned.units) + ") over " +
                            std::to_string(planned.n_in()) + " inputs";
  const std::string type = element == 4 ? "float32" : "float64";
  if (plan.nodes.size() == 1) {
    return "graph: " + dense + " needs " + bytes_text(bytes) + " of parameters (" + type +
           "), and as many for their gradients: more memory than could be allocated";
  }
  return "graph: its " + std::to_string(plan.parameter_count) + " parameters need " +
         bytes_text(bytes) + " (" + type +
         "), and as many for their gradients: more memory than could be allocated; the "
         "largest node, '" + node + "', is " + dense;
}

// M += D, both rows × cols.
template <typename T>
void add(MatrixView<T> M, MatrixView<const T> D) {
  for (std::size_t j = 0; j < M.cols; ++j) {
    T* m = M.column(j);
    const T* d = D.column(j);
    for (std::size_t i = 0; i < M.rows; ++i) m[i] += d[i];
  }
}

}  // namespace

template <typename T>
void check_finite(MatrixView<const T> X, const char* what) {
  if (const std::optional<MatrixEntry> bad = first_not_finite(X)) {
    throw std::invalid_argument(std::string(what) + " contain NaN or Inf (sample " +
                                std::to_string(bad->col) + ", feature " +
                                std::to_string(bad->row) + ")");
  }
}

template <typename T>
Graph<T>::Graph(const GraphSpec& spec, std::uint64_t seed) : Graph(GraphPlan::build(spec), seed) {}

template <typename T>
Graph<T>::Graph(GraphPlan plan) : plan_(std::move(plan)) {
  for (const PlannedNode& node : plan_.nodes) {
    nodes_.emplace_back(node.input_dims(), node.units, node.activation, node.name);
  }
  work_.resize(nodes_.size());
  for (std::size_t k = 0; k < nodes_.size(); ++k) {
    work_[k].X.resize(plan_.nodes[k].sources.size());
    work_[k].dX.resize(plan_.nodes[k].sources.size());
  }
  output_losses_.assign(plan_.outputs.size(), 0.0);
}

template <typename T>
Graph<T>::Graph(GraphPlan plan, std::uint64_t seed) : Graph(std::move(plan)) {
  // Allocated once: the nodes' views stay valid for the graph's lifetime.
  const auto refused = [&](double bytes) { return parameters_refused(plan_, sizeof(T), bytes); };
  allocate(own_params_, plan_.parameter_count, refused);
  allocate(own_grads_, plan_.parameter_count, refused);
  params_ = {own_params_.data(), own_params_.size()};
  grads_ = {own_grads_.data(), own_grads_.size()};
  bind_parameters();
  initialize(seed);
  // Its own stream, so that dropout does not shift with the number of parameters drawn.
  seed_dropout(seed ^ 0x9e3779b97f4a7c15ull);
}

template <typename T>
Graph<T>::Graph(GraphPlan plan, Span<T> parameters, Span<T> gradients) : Graph(std::move(plan)) {
  if (parameters.size != plan_.parameter_count || gradients.size != plan_.parameter_count) {
    throw std::invalid_argument("graph: needs buffers of " + std::to_string(plan_.parameter_count) +
                                " parameters, got " + std::to_string(parameters.size) + " and " +
                                std::to_string(gradients.size) + " gradients");
  }
  params_ = parameters;
  grads_ = gradients;
  bind_parameters();
}

template <typename T>
void Graph<T>::bind_parameters() {
  for (std::size_t k = 0; k < nodes_.size(); ++k) {
    const PlannedNode& node = plan_.nodes[k];
    T* W = &params_[node.weight_offset];
    T* dW = &grads_[node.weight_offset];
    T* b = &params_[node.bias_offset];
    T* db = &grads_[node.bias_offset];
    if (node.transposed) {
      nodes_[k].bind_transposed(W, b, dW, db);
    } else {
      nodes_[k].bind(W, b, dW, db);
    }
  }
}

template <typename T>
void Graph<T>::initialize(std::uint64_t seed) {
  Rng rng(seed);
  // Each node's unit by name, indexed once: find_node per weight made a 40,000-node graph
  // take 8 s to build.
  std::unordered_map<std::string, Activation> unit_of;
  for (const PlannedNode& node : plan_.nodes) unit_of.emplace(node.name, node.activation);
  for (const ParameterInfo& p : plan_.parameters) {
    if (p.cols == 0) continue;  // biases start at zero
    const Activation unit = unit_of.at(p.name.substr(0, p.name.size() - 2));
    initialize_weights(default_init(unit), Span<T>{&params_[p.offset], p.size()}, p.cols, p.rows,
                       rng);
  }
}

template <typename T>
void Graph<T>::set_loss(std::size_t output, Loss loss) {
  PlannedOutput& out = plan_.outputs.at(output);
  if (out.loss == loss) return;
  // A step output has no gradient whatever the loss: training names the node.
  const Activation unit = plan_.nodes[out.node].activation;
  if (is_differentiable(unit)) check_loss_supports(loss, unit);
  out.loss = loss;
}

template <typename T>
void Graph<T>::reserve(std::size_t n) {
  if (n <= capacity_) return;
  for (std::size_t k = 0; k < nodes_.size(); ++k) {
    const PlannedNode& node = plan_.nodes[k];
    const auto what = [&] {
      return "graph: the workspace of node '" + node.name + "' (" + std::to_string(node.units) +
             " units) for a batch of " + std::to_string(n) + " samples";
    };
    const std::size_t size = checked_mul(node.units, n, what);
    Workspace& w = work_[k];
    allocate(w.Z, size, what, true);
    allocate(w.dY, size, what, true);
    if (node.output && node.activation != Activation::identity) allocate(w.Y, size, what, true);
    if (node.output && node.has_consumers) allocate(w.dZ_loss, size, what, true);
    if (node.dropout > 0) {
      allocate(w.mask, size, what, true);
      allocate(w.dropped, size, what, true);
    }
  }
  capacity_ = n;
}

template <typename T>
MatrixView<T> Graph<T>::z_of(std::size_t k, std::size_t n) {
  return {work_[k].Z.data(), plan_.nodes[k].units, n};
}

template <typename T>
MatrixView<T> Graph<T>::y_of(std::size_t k, std::size_t n) {
  std::vector<T>& y = work_[k].Y.empty() ? work_[k].Z : work_[k].Y;
  return {y.data(), plan_.nodes[k].units, n};
}

template <typename T>
MatrixView<T> Graph<T>::dy_of(std::size_t k, std::size_t n) {
  return {work_[k].dY.data(), plan_.nodes[k].units, n};
}

template <typename T>
MatrixView<const T> Graph<T>::seen_of(std::size_t k, std::size_t n) {
  if (training_pass_ && plan_.nodes[k].dropout > 0) {
    return {work_[k].dropped.data(), plan_.nodes[k].units, n};
  }
  return y_of(k, n);
}

template <typename T>
void Graph<T>::point_inputs(std::size_t k, Span<const MatrixView<const T>> inputs, std::size_t n) {
  const std::vector<PlannedSource>& sources = plan_.nodes[k].sources;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    work_[k].X[i] = sources[i].is_input ? inputs[sources[i].index] : seen_of(sources[i].index, n);
  }
}

template <typename T>
void Graph<T>::point_input_gradients(std::size_t k, std::size_t n) {
  // The data need no gradient: a block reading an input skips that gemm.
  const std::vector<PlannedSource>& sources = plan_.nodes[k].sources;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    work_[k].dX[i] = sources[i].is_input
                         ? InputGradient<T>{}
                         : InputGradient<T>{dy_of(sources[i].index, n), !sources[i].first_gradient};
  }
}

template <typename T>
MatrixView<const T> Graph<T>::output(std::size_t i) const {
  const std::size_t k = plan_.outputs.at(i).node;
  const std::vector<T>& y = work_[k].Y.empty() ? work_[k].Z : work_[k].Y;
  return {y.data(), plan_.nodes[k].units, last_n_};
}

template <typename T>
void Graph<T>::check_inputs(Span<const MatrixView<const T>> inputs) const {
  if (inputs.size != plan_.inputs.size()) {
    throw std::invalid_argument("graph: " + std::to_string(inputs.size) + " input arrays for " +
                                std::to_string(plan_.inputs.size()) + " inputs");
  }
  const std::size_t n = inputs[0].cols;
  const bool single = plan_.inputs.size() == 1;
  for (std::size_t i = 0; i < inputs.size; ++i) {
    const InputSpec& spec = plan_.inputs[i];
    // Built only when throwing: a check that passes allocates nothing.
    const auto what = [&] { return single ? std::string("input") : "input '" + spec.name + "'"; };
    if (inputs[i].rows != spec.dim) {
      throw std::invalid_argument(what() + " has " + std::to_string(inputs[i].rows) +
                                  " features per sample, the network expects " +
                                  std::to_string(spec.dim));
    }
    if (inputs[i].cols == 0) {
      throw std::invalid_argument("empty batch: " + (single ? "the input" : what()) +
                                  " has no samples");
    }
    if (inputs[i].cols != n) {
      throw std::invalid_argument(what() + " has " + std::to_string(inputs[i].cols) +
                                  " samples, input '" + plan_.inputs[0].name + "' has " +
                                  std::to_string(n));
    }
    if (single) {
      check_finite(inputs[i], "inputs");
      continue;
    }
    try {
      check_finite(inputs[i], "values");
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(what() + ": " + e.what());
    }
  }
}

template <typename T>
void Graph<T>::check_trainable(Span<const Targets<T>> targets, std::size_t n) const {
  for (const PlannedNode& node : plan_.nodes) {
    if (!is_differentiable(node.activation)) {
      throw std::invalid_argument("layer '" + node.name + "' uses activation '" +
                                  std::string(activation_name(node.activation)) +
                                  "', which has no gradient; it cannot be trained by "
                                  "backpropagation");
    }
  }
  if (targets.size != plan_.outputs.size()) {
    throw std::invalid_argument("graph: " + std::to_string(targets.size) + " targets for " +
                                std::to_string(plan_.outputs.size()) + " outputs");
  }
  for (std::size_t i = 0; i < targets.size; ++i) {
    const PlannedOutput& out = plan_.outputs[i];
    if (out.target_input) continue;  // checked with the inputs
    try {
      check_targets(out.loss, targets[i], plan_.nodes[out.node].units, n);
    } catch (const std::invalid_argument& e) {
      if (plan_.outputs.size() == 1) throw;
      throw std::invalid_argument("output '" + plan_.nodes[out.node].name + "': " + e.what());
    }
  }
}

template <typename T>
void Graph<T>::check_sample_weights(const Batch<T>& batch) const {
  if (batch.sample_weights == nullptr) return;
  double total = 0;
  for (std::size_t j = 0; j < samples(batch); ++j) {
    const T w = batch.sample_weights[j];
    if (!(std::isfinite(w) && w >= 0)) {
      throw std::invalid_argument("sample weights must be finite and non-negative; sample " +
                                  std::to_string(j) + " has " + std::to_string(w));
    }
    total += w;
  }
  if (total <= 0) throw std::invalid_argument("sample weights are all zero: no sample counts");
  // Every loss and gradient divides by a sum of weights, and a batch's gradient scales by
  // n / Σw: both must be finite, for the whole data and so for every batch of it.
  if (!std::isfinite(total)) {
    throw std::invalid_argument("sample weights sum to more than the largest float64 (" +
                                float_repr(std::numeric_limits<double>::max()) +
                                "); scale them down");
  }
  if (!std::isfinite(double(samples(batch)) / total)) {
    throw std::invalid_argument("sample weights sum to " + float_repr(total) +
                                ", too small to divide by; scale them up");
  }
}

template <typename T>
void Graph<T>::check_batch(const Batch<T>& batch) const {
  check_inputs(batch.inputs);
  check_trainable(batch.targets, samples(batch));
  check_sample_weights(batch);
  for (std::size_t i = 0; i < plan_.outputs.size(); ++i) {
    const PlannedOutput& out = plan_.outputs[i];
    if (!out.target_input) continue;
    try {
      check_targets(out.loss, targets_of(i, batch), plan_.nodes[out.node].units, samples(batch));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("output '" + plan_.nodes[out.node].name +
                                  "' takes its targets from input '" +
                                  plan_.inputs[*out.target_input].name + "': " + e.what());
    }
  }
}

template <typename T>
Targets<T> Graph<T>::targets_of(std::size_t output, const Batch<T>& batch) const {
  const PlannedOutput& out = plan_.outputs[output];
  return out.target_input ? Targets<T>::dense(batch.inputs[*out.target_input])
                          : batch.targets[output];
}

template <typename T>
void Graph<T>::forward(Span<const MatrixView<const T>> inputs, Checks checks, Mode mode) {
  if (checks == Checks::on) check_inputs(inputs);
  const std::size_t n = inputs[0].cols;
  reserve(n);
  training_pass_ = mode == Mode::training;
  for (std::size_t k = 0; k < nodes_.size(); ++k) {
    point_inputs(k, inputs, n);
    nodes_[k].forward(work_[k].X.data(), z_of(k, n), y_of(k, n));
    if (training_pass_ && plan_.nodes[k].dropout > 0) drop_out(k, n);
  }
  last_n_ = n;
}

template <typename T>
void Graph<T>::predict(Span<const MatrixView<const T>> inputs, Span<const MatrixView<T>> outputs,
                       InferenceScratch<T>& scratch, Checks checks) const {
  if (checks == Checks::on) {
    check_inputs(inputs);
    if (outputs.size != plan_.outputs.size()) {
      throw std::invalid_argument("graph: " + std::to_string(outputs.size) +
                                  " output matrices for " + std::to_string(plan_.outputs.size()) +
                                  " outputs");
    }
    for (std::size_t i = 0; i < outputs.size; ++i) {
      const PlannedNode& node = plan_.nodes[plan_.outputs[i].node];
      const MatrixView<T>& Y = outputs[i];
      if (Y.rows != node.units || Y.cols != inputs[0].cols || Y.ld < Y.rows) {
        throw std::invalid_argument("predict: the matrix for output '" + node.name + "' is " +
                                    shape_string(Y) + " with ld " + std::to_string(Y.ld) +
                                    ", it needs " + std::to_string(node.units) + "×" +
                                    std::to_string(inputs[0].cols));
      }
    }
  }
  const std::size_t n = inputs[0].cols;
  // Only the caller's scratch grows: the graph itself is read, never written.
  std::size_t hidden = 0;
  std::size_t widest = 0;
  const auto what = [&] {
    return "predict: the hidden values of a batch of " + std::to_string(n) + " samples";
  };
  for (const PlannedNode& node : plan_.nodes) {
    if (!node.output) hidden = checked_add(hidden, checked_mul(node.units, n, what), what);
    widest = std::max(widest, node.sources.size());
  }
  if (scratch.values_.size() < hidden) allocate(scratch.values_, hidden, what, true);
  if (scratch.X_.size() < widest) scratch.X_.resize(widest);
  if (scratch.Y_.size() < nodes_.size()) scratch.Y_.resize(nodes_.size());
  T* next = scratch.values_.data();
  for (std::size_t k = 0; k < nodes_.size(); ++k) {
    const PlannedNode& node = plan_.nodes[k];
    // Y of an output in the caller's matrix, of a hidden node in the next block of scratch;
    // Z is Y (no loss reads the logits here).
    MatrixView<T> Y = node.output ? outputs[*node.output] : MatrixView<T>{next, node.units, n};
    if (!node.output) next += node.units * n;
    for (std::size_t i = 0; i < node.sources.size(); ++i) {
      const PlannedSource& src = node.sources[i];
      scratch.X_[i] = src.is_input ? inputs[src.index] : MatrixView<const T>(scratch.Y_[src.index]);
    }
    nodes_[k].forward(scratch.X_.data(), Y, Y);
    scratch.Y_[k] = Y;
  }
}

template <typename T>
void Graph<T>::drop_out(std::size_t k, std::size_t n) {
  const double keep = 1 - plan_.nodes[k].dropout;
  const T scale = static_cast<T>(1 / keep);
  const std::size_t size = plan_.nodes[k].units * n;
  const T* y = y_of(k, n).data;
  T* mask = work_[k].mask.data();
  T* dropped = work_[k].dropped.data();
  for (std::size_t i = 0; i < size; ++i) {
    mask[i] = dropout_rng_.uniform() < keep ? scale : T(0);
    dropped[i] = y[i] * mask[i];
  }
}

template <typename T>
double Graph<T>::evaluate(const Batch<T>& batch, Checks checks) {
  if (checks == Checks::on) {
    check_inputs(batch.inputs);
    if (batch.targets.size != plan_.outputs.size()) {
      throw std::invalid_argument("graph: " + std::to_string(batch.targets.size) +
                                  " targets for " + std::to_string(plan_.outputs.size()) +
                                  " outputs");
    }
    for (std::size_t i = 0; i < plan_.outputs.size(); ++i) {
      check_targets(plan_.outputs[i].loss, targets_of(i, batch),
                    plan_.nodes[plan_.outputs[i].node].units, samples(batch));
    }
    check_sample_weights(batch);
  }
  forward(batch.inputs, Checks::off, Mode::inference);
  return weighted_loss(batch, samples(batch));
}

template <typename T>
double Graph<T>::weighted_loss(const Batch<T>& batch, std::size_t n) {
  double J = 0;
  for (std::size_t i = 0; i < plan_.outputs.size(); ++i) {
    const PlannedOutput& out = plan_.outputs[i];
    const std::size_t k = out.node;
    output_losses_[i] = loss_value<T>(out.loss, plan_.nodes[k].activation, z_of(k, n), y_of(k, n),
                                      targets_of(i, batch), batch.sample_weights);
    J += out.weight * output_losses_[i];  // J = Σ_i weight_i·J_i
  }
  return J;
}

template <typename T>
double Graph<T>::backward(const Batch<T>& batch, Checks checks) {
  if (checks == Checks::on) check_batch(batch);
  return backward_pass(batch, nullptr);
}

template <typename T>
double Graph<T>::sgd_step(const Batch<T>& batch, T lr, Checks checks) {
  if (checks == Checks::on) check_batch(batch);
  if (!plan_.shares_parameters) return backward_pass(batch, &lr);
  // A shared block may only change once every use has sent its gradient.
  const double J = backward_pass(batch, nullptr);
  descend(lr);
  return J;
}

template <typename T>
void Graph<T>::descend(T lr) {
  T* const theta = params_.data;
  const T* const gradient = grads_.data;
  const Overflow overflow = two_passes(params_.size, [&](std::size_t i, auto mode) {
    const T value = theta[i] - lr * gradient[i];  // Θ ← Θ − α·∇J
    if constexpr (std::is_same_v<decltype(mode), Write>) theta[i] = value;
    if constexpr (std::is_same_v<decltype(mode), Report>) *mode.value = value;
    return not_finite(value);
  });
  if (overflow.index == params_.size) return;
  for (const ParameterInfo& p : plan_.parameters) {
    if (overflow.index >= p.offset && overflow.index < p.offset + p.size()) {
      throw NonFiniteError("the update makes " + p.name + " " + std::to_string(overflow.value) +
                           " (an overflow of the learning rate times the gradient); no "
                           "parameter was changed");
    }
  }
  throw NonFiniteError("the update makes parameter value " + std::to_string(overflow.index) +
                       " " + std::to_string(overflow.value) + "; no parameter was changed");
}

namespace {

// M(:, j) *= factor·s_j, where s_j = n·w_j / Σw turns the per-sample dZ of a plain mean into
// that of the weighted mean (the gemms' alpha keeps its 1/n); without weights, M *= factor.
template <typename T>
void scale_columns(MatrixView<T> M, const T* weights, double weight_total, T factor) {
  if (weights == nullptr && factor == T(1)) return;
  for (std::size_t j = 0; j < M.cols; ++j) {
    // w_j / Σw first: no product of weights can overflow.
    const T s = weights == nullptr ? factor
                                   : static_cast<T>(double(factor) *
                                                    (double(weights[j]) / weight_total) *
                                                    double(M.cols));
    T* m = M.column(j);
    for (std::size_t i = 0; i < M.rows; ++i) m[i] *= s;
  }
}

}  // namespace

template <typename T>
void Graph<T>::output_backward(std::size_t k, const Batch<T>& batch, std::size_t n) {
  const PlannedNode& node = plan_.nodes[k];
  const PlannedOutput& out = plan_.outputs[*node.output];
  T weight = static_cast<T>(out.weight);
  const Targets<T> targets = targets_of(*node.output, batch);
  double weight_total = 0;
  if (batch.sample_weights != nullptr) {
    for (std::size_t j = 0; j < n; ++j) weight_total += batch.sample_weights[j];
    // A batch whose samples all weigh 0 has J = 0 and no gradient.
    if (weight_total == 0) weight = T(0);
  }
  if (!node.has_consumers) {
    loss_backward<T>(out.loss, node.activation, z_of(k, n), y_of(k, n), targets, dy_of(k, n));
    scale_columns(dy_of(k, n), weight_total > 0 ? batch.sample_weights : nullptr, weight_total,
                  weight);
    return;
  }
  // dZ = f'(Z) ⊙ (Σ dJ/dy of the readers) + weight·(the loss's dZ)
  const MatrixView<T> dZ_loss{work_[k].dZ_loss.data(), node.units, n};
  activation_backward(node.activation, MatrixView<const T>(y_of(k, n)), dy_of(k, n));
  loss_backward<T>(out.loss, node.activation, z_of(k, n), y_of(k, n), targets, dZ_loss);
  scale_columns(dZ_loss, weight_total > 0 ? batch.sample_weights : nullptr, weight_total, weight);
  add(dy_of(k, n), MatrixView<const T>(dZ_loss));
}

template <typename T>
void Graph<T>::check_bias_gradients_finite() const {
  for (const PlannedNode& node : plan_.nodes) {
    if (any_not_finite(&grads_[node.bias_offset], node.units)) {
      throw NonFiniteError("the gradient reaching node '" + node.name +
                           "' is NaN or infinite; no parameter was changed");
    }
  }
}

template <typename T>
void Graph<T>::check_weight_gradients_finite() const {
  if (!any_not_finite(grads_.data, grads_.size)) return;
  for (const ParameterInfo& p : plan_.parameters) {
    if (any_not_finite(&grads_[p.offset], p.size())) {
      throw NonFiniteError("the gradient of " + p.name +
                           " is NaN or infinite (an overflow); no parameter was changed");
    }
  }
}

template <typename T>
bool Graph<T>::folded_update_is_safe(std::size_t n, T lr) {
  // Every partial sum of dW = X·dZᵀ/n, and the step α·dW, stay below n·max|X|·max|dZ|·max(1, α);
  // the bias step α·db below α·max|dZ|; so every step stays below
  // n·max(1, α)·max(1, max|X|)·max|dZ|. Under a quarter of the largest T, and added to
  // parameters under a quarter too, the folded update cannot overflow: the gemm writes W in
  // place, so an overflow found after it could not be undone. (Bounds of the maxima do.)
  const double limit = double(std::numeric_limits<T>::max()) / 4;
  const double scale = double(n) * std::max(1.0, double(lr));
  for (std::size_t k = 0; k < nodes_.size(); ++k) {
    double x = 1;
    for (const MatrixView<const T>& block : work_[k].X) x = std::max(x, max_abs_bound(block));
    if (!(scale * x * max_abs_bound(MatrixView<const T>(dy_of(k, n))) < limit)) return false;
  }
  // |Θ| below 2^(max_exponent − 2), a quarter of the largest T: a threshold on the exponent
  // rather than a maximum, about a third of the cost of a max_abs_bound scan.
  return !any_at_least_power_of_two(params_.data, params_.size,
                                    std::numeric_limits<T>::max_exponent - 2);
}

template <typename T>
double Graph<T>::backward_pass(const Batch<T>& batch, const T* sgd_lr) {
  forward(batch.inputs, Checks::off, Mode::training);
  const std::size_t n = samples(batch);
  const double J = weighted_loss(batch, n);
  if (!std::isfinite(J)) {
    std::size_t bad = 0;
    while (bad + 1 < output_losses_.size() && std::isfinite(output_losses_[bad])) ++bad;
    throw NonFiniteError("the loss of output '" + plan_.nodes[plan_.outputs[bad].node].name +
                         "' is " + std::to_string(output_losses_[bad]) +
                         "; no parameter was changed");
  }

  // Deltas from the outputs back to the first nodes, each node's bias gradient formed in the
  // pass that forms its dZ; the weight gradients too, unless the step folds them into its
  // update below.
  for (std::size_t k = nodes_.size(); k-- > 0;) {
    const PlannedNode& node = plan_.nodes[k];
    const Dense<T>& dense = nodes_[k];
    const MatrixView<T> dY = dy_of(k, n);
    // dJ/dY = mask ⊙ dJ/d(dropped Y)
    if (node.dropout > 0) {
      const T* mask = work_[k].mask.data();
      for (std::size_t i = 0; i < node.units * n; ++i) dY.data[i] *= mask[i];
    }
    point_inputs(k, batch.inputs, n);
    point_input_gradients(k, n);
    if (node.output) {
      output_backward(k, batch, n);
      dense.bias_backward(dY, !node.first_bias_gradient);
    } else {
      dense.activation_and_bias_backward(y_of(k, n), dY, !node.first_bias_gradient);
    }
    dense.input_backward(dY, work_[k].dX.data());
    if (sgd_lr == nullptr) dense.weight_backward(work_[k].X.data(), dY, !node.first_weight_gradient);
  }
  check_bias_gradients_finite();  // row sums of every dZ: finite ones mean every dZ is finite
  if (sgd_lr == nullptr) {
    check_weight_gradients_finite();  // dW = dZ·Xᵀ/n may still overflow
    return J;
  }

  for (std::size_t k = 0; k < nodes_.size(); ++k) point_inputs(k, batch.inputs, n);
  if (folded_update_is_safe(n, *sgd_lr)) {
    for (std::size_t k = 0; k < nodes_.size(); ++k) {
      nodes_[k].sgd_update(work_[k].X.data(), dy_of(k, n), *sgd_lr);
    }
    return J;
  }
  // Values so large that the product might overflow: form and check it before the update.
  for (std::size_t k = 0; k < nodes_.size(); ++k) {
    nodes_[k].weight_backward(work_[k].X.data(), dy_of(k, n), !plan_.nodes[k].first_weight_gradient);
  }
  check_weight_gradients_finite();
  descend(*sgd_lr);
  return J;
}

template class Graph<float>;
template class Graph<double>;
template void check_finite<float>(MatrixView<const float>, const char*);
template void check_finite<double>(MatrixView<const double>, const char*);

}  // namespace blasnet
