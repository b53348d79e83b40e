#include "blasnet/layer.hpp"

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
  const std::size_t n = X.cols;
  const T inv_n = T(1) / static_cast<T>(n);
  const T beta = accumulate ? T(1) : T(0);
  // eq. (9), transposed to the stored layout: dWᵀ (n_in×n_out) = X (n_in×B) · dZᵀ (B×n_out) / n
  gemm(Transpose::no, Transpose::yes, inv_n, X, dZ, beta, MatrixView<T>{dW_, n_in_, n_out_});
  // eq. (8): db = dZ·1 / n, the row sums of dZ
  if (!accumulate) {
    for (std::size_t i = 0; i < n_out_; ++i) db_[i] = T(0);
  }
  for (std::size_t j = 0; j < n; ++j) {
    const T* d = dZ.column(j);
    for (std::size_t i = 0; i < n_out_; ++i) db_[i] += inv_n * d[i];
  }
  // eqs. (6)-(7): dX (n_in×B) = Wᵀ (n_in×n_out) · dZ (n_out×B)
  if (dX != nullptr) gemm(Transpose::no, Transpose::no, T(1), weights_transposed(), dZ, T(0), *dX);
}

template class Dense<float>;
template class Dense<double>;

}  // namespace blasnet
