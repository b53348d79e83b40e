#pragma once
// A dense layer, the note's eqs. (1)-(2) and (6)-(9) on a batch. It owns no memory: W, b and
// their gradients are views into the network's flat buffers.

#include <cstddef>
#include <string>

#include "blasnet/activations.hpp"
#include "blasnet/matrix.hpp"

namespace blasnet {

// What a user asks for: n_out units with one activation. An empty name means "its index".
struct DenseSpec {
  std::size_t units = 0;
  Activation activation = Activation::identity;
  std::string name;
};

// W is stored row-major n_out × n_in, the note's shape as NumPy shows it; to BLAS, which
// reads column-major, the same bytes are Wᵀ (n_in × n_out, ld n_in). Every product below is
// therefore one gemm whose transpose flags absorb the difference: no transposed copy ever.
template <typename T>
class Dense {
 public:
  Dense(std::size_t n_in, std::size_t n_out, Activation activation, std::string name);

  // Points the layer at its blocks of the flat buffers: W and dW hold n_out·n_in values,
  // b and db n_out.
  void bind(T* W, T* b, T* dW, T* db);

  // X (n_in×B) -> Z (n_out×B), Y (n_out×B).  eq. (1): Z = W·X + b·1ᵀ;  eq. (2): Y = f(Z).
  // Y may be Z itself when the activation is the identity.
  void forward(MatrixView<const T> X, MatrixView<T> Z, MatrixView<T> Y) const;

  // dZ (n_out×B), X (n_in×B) -> dW, db, and dX (n_in×B) unless dX is null.
  // dZ is per sample (n·∂J/∂Z); the batch mean's 1/n is the gemm's alpha.
  //   eq. (9): dW = dZ·Xᵀ / n      eq. (8): db = dZ·1 / n      eqs. (6)-(7): dX = Wᵀ·dZ
  // With accumulate, dW and db are added to (a weight used twice); otherwise overwritten.
  void backward(MatrixView<const T> X, MatrixView<const T> dZ, MatrixView<T>* dX,
                bool accumulate) const;

  // The steps of backward, for a network that fuses passes and updates:
  // dZ = dY ⊙ f'(Z) in place from Y (n_out×B), with db = dZ·1/n formed in the same pass.
  void activation_and_bias_backward(MatrixView<const T> Y, MatrixView<T> dY, bool accumulate) const;
  // db = dZ·1/n alone, for a dZ that the loss gave.
  void bias_backward(MatrixView<const T> dZ, bool accumulate) const;
  // dW = dZ·Xᵀ/n, and dX = Wᵀ·dZ unless dX is null.
  void product_backward(MatrixView<const T> X, MatrixView<const T> dZ, MatrixView<T>* dX,
                        bool accumulate) const;

  // One step of plain gradient descent Θ ← Θ − α·∇J folded into the products, so that dW is
  // never written: dX = Wᵀ·dZ is taken from the old W first, then W ← W − α·dZ·Xᵀ/n is one
  // gemm (alpha = −α/n, beta = 1), and b ← b − α·dZ·1/n comes from the pass that forms dZ.
  // dY is the layer's output delta, or, with dz_given, the dZ the loss gave.
  void sgd_backward(MatrixView<const T> X, MatrixView<const T> Y, MatrixView<T> dY,
                    bool dz_given, MatrixView<T>* dX, T lr) const;

  std::size_t n_in() const { return n_in_; }
  std::size_t n_out() const { return n_out_; }
  Activation activation() const { return activation_; }
  const std::string& name() const { return name_; }
  std::size_t parameter_count() const { return n_out_ * n_in_ + n_out_; }

  // W as BLAS sees it (Wᵀ, n_in × n_out), and its gradient likewise.
  MatrixView<const T> weights_transposed() const { return {W_, n_in_, n_out_}; }
  const T* bias() const { return b_; }
  MatrixView<const T> weight_gradient_transposed() const { return {dW_, n_in_, n_out_}; }
  const T* bias_gradient() const { return db_; }

 private:
  std::size_t n_in_;
  std::size_t n_out_;
  Activation activation_;
  std::string name_;
  T* W_ = nullptr;
  T* b_ = nullptr;
  T* dW_ = nullptr;
  T* db_ = nullptr;
};

}  // namespace blasnet
