#pragma once
// A dense node, the note's eqs. (1)-(2) and (6)-(9) on a batch, over one input or over the
// concatenation of several. It owns no memory: W, b and their gradients are views into the
// network's flat buffers, its own blocks or another node's (tied weights).

#include <cstddef>
#include <string>
#include <vector>

#include "blasnet/activations.hpp"
#include "blasnet/matrix.hpp"

namespace blasnet {

// What a user asks for: n_out units with one activation, and optionally dropout on them in
// training (see NodeSpec). An empty name means "its index".
struct DenseSpec {
  std::size_t units = 0;
  Activation activation = Activation::identity;
  std::string name;
  double dropout = 0;
};

// Where one input block's dX = W_iᵀ·dZ goes: into dX, overwriting it or adding to it (a node
// read by several others receives the sum of their dJ/dy). A null dX.data asks for none (the
// gradient of the data).
template <typename T>
struct InputGradient {
  MatrixView<T> dX;
  bool accumulate = false;
};

// W (n_out × n_in) is stored row-major, the note's shape as NumPy shows it; to BLAS, which reads
// column-major, the same bytes are Wᵀ (n_in × n_out, ld n_in). A node that uses another node's
// weights transposed (that node's W is n_in × n_out) finds its own W in the same bytes read
// column-major. Every product below is one gemm whose transpose flags absorb the difference: no
// transposed copy ever. Input block i is rows [offset_i, offset_i + dim_i) of Wᵀ — column block
// i of W — addressed in place through the leading dimension: the concatenation is never built.
template <typename T>
class Dense {
 public:
  // Over one input of n_in features.
  Dense(std::size_t n_in, std::size_t n_out, Activation activation, std::string name);
  // Over the concatenation of inputs of the given feature counts.
  Dense(std::vector<std::size_t> input_dims, std::size_t n_out, Activation activation,
        std::string name);

  // Points the node at W and dW (n_out·n_in values, its own or shared as they are), b and db
  // (n_out values).
  void bind(T* W, T* b, T* dW, T* db);
  // Points the node at another node's W and dW (stored n_in × n_out), used transposed, and at a
  // bias of its own.
  void bind_transposed(T* W, T* b, T* dW, T* db);

  // X_i (dim_i × B) for each input -> Z (n_out×B), Y (n_out×B).
  //   eq. (1): Z = Σ_i W_i·X_i + b·1ᵀ   (one gemm per input block, accumulating into Z)
  //   eq. (2): Y = f(Z)                 (Y may be Z itself)
  void forward(const MatrixView<const T>* X, MatrixView<T> Z, MatrixView<T> Y) const;
  void forward(MatrixView<const T> X, MatrixView<T> Z, MatrixView<T> Y) const {
    forward(&X, Z, Y);
  }

  // dZ (n_out×B) per sample (n·∂J/∂Z; the batch mean's 1/n is the gemm's alpha) ->
  //   eq. (9): dW = dZ·Xᵀ / n      eq. (8): db = dZ·1 / n      eqs. (6)-(7): dX = Wᵀ·dZ
  // With accumulate, dW and db are added to (a weight used twice); otherwise overwritten.
  void backward(MatrixView<const T> X, MatrixView<const T> dZ, MatrixView<T>* dX,
                bool accumulate) const;

  // The steps of backward, for a network that fuses passes and updates:
  // dZ = dY ⊙ f'(Z) in place from Y (n_out×B), with db = dZ·1/n formed in the same pass.
  void activation_and_bias_backward(MatrixView<const T> Y, MatrixView<T> dY, bool accumulate) const;
  // db = dZ·1/n alone, for a dZ that the loss gave.
  void bias_backward(MatrixView<const T> dZ, bool accumulate) const;
  // dW_i = dZ·X_iᵀ/n for every input block, and dX_i = W_iᵀ·dZ where dX[i] asks for it.
  void product_backward(const MatrixView<const T>* X, MatrixView<const T> dZ,
                        const InputGradient<T>* dX, bool accumulate) const;
  // The two halves: eqs. (6)-(7) alone, and eq. (9) alone.
  void input_backward(MatrixView<const T> dZ, const InputGradient<T>* dX) const;
  void weight_backward(const MatrixView<const T>* X, MatrixView<const T> dZ, bool accumulate) const;

  // One step of plain gradient descent Θ ← Θ − α·∇J from dZ (n_out×B) and the bias gradient
  // db already formed, with eq. (9) folded into the update so that dW is never written:
  // b ← b − α·db, and W_iᵀ ← W_iᵀ − (α/n)·X_i·dZᵀ as one gemm per input block (beta = 1).
  // Only for a node whose weights no other node uses.
  void sgd_update(const MatrixView<const T>* X, MatrixView<const T> dZ, T lr) const;

  std::size_t n_in() const { return n_in_; }
  std::size_t n_out() const { return n_out_; }
  const std::vector<std::size_t>& input_dims() const { return input_dims_; }
  Activation activation() const { return activation_; }
  const std::string& name() const { return name_; }
  bool uses_transposed_weights() const { return transposed_; }
  // Values of W and b it reads, whoever owns them.
  std::size_t parameter_count() const { return n_out_ * n_in_ + n_out_; }

  // The bytes of W as BLAS reads them: Wᵀ (n_in × n_out) for own or shared weights, W itself
  // (n_out × n_in) for weights used transposed; and the gradient likewise.
  MatrixView<const T> weights() const { return whole(W_); }
  MatrixView<const T> weight_gradient() const { return whole(dW_); }
  const T* bias() const { return b_; }
  const T* bias_gradient() const { return db_; }

 private:
  // W or dW as BLAS reads it, whole or input block i alone.
  MatrixView<T> whole(T* base) const;
  MatrixView<T> block(T* base, std::size_t i) const;

  std::vector<std::size_t> input_dims_;
  std::vector<std::size_t> offsets_;  // first column of each input block in W
  std::size_t n_in_;
  std::size_t n_out_;
  Activation activation_;
  std::string name_;
  bool transposed_ = false;
  T* W_ = nullptr;
  T* b_ = nullptr;
  T* dW_ = nullptr;
  T* db_ = nullptr;
};

}  // namespace blasnet
