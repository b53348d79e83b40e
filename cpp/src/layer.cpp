#include "blasnet/layer.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <utility>

#include "blasnet/blas.hpp"
#include "blasnet/checked_size.hpp"

namespace blasnet {

template <typename T>
Dense<T>::Dense(std::size_t n_in, std::size_t n_out, Activation activation, std::string name)
    : Dense(std::vector<std::size_t>{n_in}, n_out, activation, std::move(name)) {}

template <typename T>
Dense<T>::Dense(std::vector<std::size_t> input_dims, std::size_t n_out, Activation activation,
                std::string name)
    : input_dims_(std::move(input_dims)),
      n_in_(std::accumulate(input_dims_.begin(), input_dims_.end(), std::size_t(0),
                            [&](std::size_t a, std::size_t b) {
                              return checked_add(a, b, [&] {
                                return "dense layer '" + name + "': the input width";
                              });
                            })),
      n_out_(n_out),
      activation_(activation),
      name_(std::move(name)) {
  const bool empty_input =
      input_dims_.empty() || std::find(input_dims_.begin(), input_dims_.end(), std::size_t(0)) !=
                                 input_dims_.end();
  if (empty_input || n_out == 0) {
    throw std::invalid_argument("dense layer '" + name_ + "': sizes must be positive, got " +
                                std::to_string(n_in_) + " inputs in " +
                                std::to_string(input_dims_.size()) + " blocks and " +
                                std::to_string(n_out) + " units");
  }
  offsets_.resize(input_dims_.size());
  std::exclusive_scan(input_dims_.begin(), input_dims_.end(), offsets_.begin(), std::size_t(0));
}

template <typename T>
void Dense<T>::bind(T* W, T* b, T* dW, T* db) {
  W_ = W;
  b_ = b;
  dW_ = dW;
  db_ = db;
  transposed_ = false;
}

template <typename T>
void Dense<T>::bind_transposed(T* W, T* b, T* dW, T* db) {
  bind(W, b, dW, db);
  transposed_ = true;
}

template <typename T>
MatrixView<T> Dense<T>::whole(T* base) const {
  return transposed_ ? MatrixView<T>{base, n_out_, n_in_} : MatrixView<T>{base, n_in_, n_out_};
}

template <typename T>
MatrixView<T> Dense<T>::block(T* base, std::size_t i) const {
  // Wᵀ (n_in × n_out, ld n_in): block i is rows [offset, offset + dim);
  // W (n_out × n_in, ld n_out): block i is columns [offset, offset + dim).
  if (transposed_) return {base + offsets_[i] * n_out_, n_out_, input_dims_[i], n_out_};
  return {base + offsets_[i], input_dims_[i], n_out_, n_in_};
}

template <typename T>
void Dense<T>::forward(const MatrixView<const T>* X, MatrixView<T> Z, MatrixView<T> Y) const {
  // eq. (1), one input block at a time: Z (n_out×B) += W_i (n_out×dim_i) · X_i (dim_i×B)
  const Transpose op = transposed_ ? Transpose::no : Transpose::yes;
  for (std::size_t i = 0; i < input_dims_.size(); ++i) {
    gemm<T>(op, Transpose::no, T(1), block(W_, i), X[i], i == 0 ? T(0) : T(1), Z);
  }
  activation_forward(activation_, b_, Z, Y);  // eq. (1)'s + b·1ᵀ and eq. (2)
}

template <typename T>
void Dense<T>::backward(MatrixView<const T> X, MatrixView<const T> dZ, MatrixView<T>* dX,
                        bool accumulate) const {
  bias_backward(dZ, accumulate);
  const InputGradient<T> gradient{dX != nullptr ? *dX : MatrixView<T>{}, false};
  product_backward(&X, dZ, &gradient, accumulate);
}

template <typename T>
void Dense<T>::activation_and_bias_backward(MatrixView<const T> Y, MatrixView<T> dY,
                                            bool accumulate) const {
  if (!accumulate) std::fill(db_, db_ + n_out_, T(0));
  // eq. (7) and eq. (8) in one sweep: dZ = dY ⊙ f'(Z), db += dZ·1 / n
  activation_backward(activation_, Y, dY, db_, T(1) / static_cast<T>(dY.cols));
}

template <typename T>
void Dense<T>::bias_backward(MatrixView<const T> dZ, bool accumulate) const {
  if (!accumulate) std::fill(db_, db_ + n_out_, T(0));
  add_row_sums(dZ, db_, T(1) / static_cast<T>(dZ.cols));  // eq. (8): db = dZ·1 / n
}

template <typename T>
void Dense<T>::product_backward(const MatrixView<const T>* X, MatrixView<const T> dZ,
                                const InputGradient<T>* dX, bool accumulate) const {
  input_backward(dZ, dX);
  weight_backward(X, dZ, accumulate);
}

template <typename T>
void Dense<T>::input_backward(MatrixView<const T> dZ, const InputGradient<T>* dX) const {
  // eqs. (6)-(7) for each block: dX_i (dim_i×B) = W_iᵀ · dZ (n_out×B)
  const Transpose op = transposed_ ? Transpose::yes : Transpose::no;
  for (std::size_t i = 0; i < input_dims_.size(); ++i) {
    if (dX[i].dX.data == nullptr) continue;
    gemm<T>(op, Transpose::no, T(1), block(W_, i), dZ, dX[i].accumulate ? T(1) : T(0), dX[i].dX);
  }
}

template <typename T>
void Dense<T>::weight_backward(const MatrixView<const T>* X, MatrixView<const T> dZ,
                               bool accumulate) const {
  const T inv_n = T(1) / static_cast<T>(dZ.cols);
  const T beta = accumulate ? T(1) : T(0);
  for (std::size_t i = 0; i < input_dims_.size(); ++i) {
    // eq. (9) in the stored layout: dW_iᵀ (dim_i×n_out) = X_i · dZᵀ / n, or, for weights used
    // transposed, dW_i (n_out×dim_i) = dZ · X_iᵀ / n
    if (transposed_) {
      gemm<T>(Transpose::no, Transpose::yes, inv_n, dZ, X[i], beta, block(dW_, i));
    } else {
      gemm<T>(Transpose::no, Transpose::yes, inv_n, X[i], dZ, beta, block(dW_, i));
    }
  }
}

template <typename T>
void Dense<T>::sgd_update(const MatrixView<const T>* X, MatrixView<const T> dZ, T lr) const {
  if (transposed_) {
    throw std::logic_error("dense layer '" + name_ +
                           "': a folded SGD step needs weights no other node uses");
  }
  for (std::size_t i = 0; i < n_out_; ++i) b_[i] -= lr * db_[i];
  // eq. (9) and the update in one gemm per block: W_iᵀ ← W_iᵀ − (α/n)·X_i·dZᵀ
  const T step = -lr / static_cast<T>(dZ.cols);
  for (std::size_t i = 0; i < input_dims_.size(); ++i) {
    gemm<T>(Transpose::no, Transpose::yes, step, X[i], dZ, T(1), block(W_, i));
  }
}

template class Dense<float>;
template class Dense<double>;

}  // namespace blasnet
