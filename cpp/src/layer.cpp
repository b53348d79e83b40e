#include "blasnet/layer.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "blasnet/blas.hpp"

namespace blasnet {

template <typename T>
Dense<T>::Dense(std::size_t n_in, std::size_t n_out, Activation activation, std::string name)
    : n_in_(n_in), n_out_(n_out), activation_(activation), name_(std::move(name)) {
  if (n_in == 0 || n_out == 0) {
    throw std::invalid_argument("dense layer '" + name_ + "': sizes must be positive, got " +
                                std::to_string(n_in) + " inputs and " + std::to_string(n_out) +
                                " units");
  }
}

template <typename T>
void Dense<T>::bind(T* W, T* b, T* dW, T* db) {
  W_ = W;
  b_ = b;
  dW_ = dW;
  db_ = db;
}

template <typename T>
void Dense<T>::forward(MatrixView<const T> X, MatrixView<T> Z, MatrixView<T> Y) const {
  // Z (n_out×B) = (Wᵀ)ᵀ (n_out×n_in) · X (n_in×B)
  gemm(Transpose::yes, Transpose::no, T(1), weights_transposed(), X, T(0), Z);
  activation_forward(activation_, b_, Z, Y);
}

template <typename T>
void Dense<T>::backward(MatrixView<const T> X, MatrixView<const T> dZ, MatrixView<T>* dX,
                        bool accumulate) const {
  bias_backward(dZ, accumulate);
  product_backward(X, dZ, dX, accumulate);
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
void Dense<T>::product_backward(MatrixView<const T> X, MatrixView<const T> dZ, MatrixView<T>* dX,
                                bool accumulate) const {
  const T inv_n = T(1) / static_cast<T>(X.cols);
  // eq. (9), transposed to the stored layout: dWᵀ (n_in×n_out) = X (n_in×B) · dZᵀ (B×n_out) / n
  gemm(Transpose::no, Transpose::yes, inv_n, X, dZ, accumulate ? T(1) : T(0),
       MatrixView<T>{dW_, n_in_, n_out_});
  // eqs. (6)-(7): dX (n_in×B) = Wᵀ (n_in×n_out) · dZ (n_out×B)
  if (dX != nullptr) gemm(Transpose::no, Transpose::no, T(1), weights_transposed(), dZ, T(0), *dX);
}

template <typename T>
void Dense<T>::sgd_backward(MatrixView<const T> X, MatrixView<const T> Y, MatrixView<T> dY,
                            bool dz_given, MatrixView<T>* dX, T lr) const {
  const T step = -lr / static_cast<T>(X.cols);
  // b ← b − α·dZ·1/n, in the pass that forms dZ (b plays no part in dX)
  if (dz_given) {
    add_row_sums<T>(dY, b_, step);
  } else {
    activation_backward(activation_, Y, dY, b_, step);
  }
  // eqs. (6)-(7) with the old W: dX (n_in×B) = Wᵀ (n_in×n_out) · dZ (n_out×B)
  if (dX != nullptr) gemm<T>(Transpose::no, Transpose::no, T(1), weights_transposed(), dY, T(0), *dX);
  // eq. (9) and the update in one gemm: Wᵀ ← Wᵀ − (α/n)·X·dZᵀ
  gemm<T>(Transpose::no, Transpose::yes, step, X, dY, T(1), MatrixView<T>{W_, n_in_, n_out_});
}

template class Dense<float>;
template class Dense<double>;

}  // namespace blasnet
