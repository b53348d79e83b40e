#pragma once
// What the C++ tests compare blasnet against: an owning column-major matrix, seeded test data,
// and the note's products written as plain loops, with no BLAS anywhere.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "blasnet/activations.hpp"
#include "blasnet/blas.hpp"
#include "blasnet/matrix.hpp"
#include "blasnet/random.hpp"

namespace blasnet_test {

// rows × cols, column-major with leading dimension ld ≥ rows; the rows past `rows` in each
// column are padding, so a test can hand blasnet a sub-matrix view.
template <typename T>
struct Matrix {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::size_t ld = 0;
  std::vector<T> data;

  Matrix(std::size_t rows_, std::size_t cols_, std::size_t ld_ = 0, T fill = T(0))
      : rows(rows_), cols(cols_), ld(ld_ == 0 ? rows_ : ld_), data(ld * cols_, fill) {}

  T& operator()(std::size_t i, std::size_t j) { return data[i + j * ld]; }
  T operator()(std::size_t i, std::size_t j) const { return data[i + j * ld]; }

  blasnet::MatrixView<T> view() { return {data.data(), rows, cols, ld}; }
  blasnet::MatrixView<const T> view() const { return {data.data(), rows, cols, ld}; }
  // Read-only view of a mutable matrix: blasnet's templates deduce T only from a
  // MatrixView<const T>, not through the conversion.
  blasnet::MatrixView<const T> cview() const { return view(); }
};

// Every entry (padding included) uniform on [lo, hi) from a fixed seed.
template <typename T>
Matrix<T> random_matrix(std::size_t rows, std::size_t cols, std::uint64_t seed, double lo = -1.0,
                        double hi = 1.0, std::size_t ld = 0) {
  Matrix<T> m(rows, cols, ld);
  blasnet::Rng rng(seed);
  for (T& v : m.data) v = static_cast<T>(rng.uniform(lo, hi));
  return m;
}

// C (m×n) = alpha·op(A)·op(B) + beta·C, one dot product per entry, accumulated in double.
template <typename T>
void naive_gemm(blasnet::Transpose ta, blasnet::Transpose tb, T alpha, const Matrix<T>& A,
                const Matrix<T>& B, T beta, Matrix<T>& C) {
  const bool at = ta == blasnet::Transpose::yes;
  const bool bt = tb == blasnet::Transpose::yes;
  const std::size_t k = at ? A.rows : A.cols;
  for (std::size_t i = 0; i < C.rows; ++i) {
    for (std::size_t j = 0; j < C.cols; ++j) {
      double sum = 0;
      for (std::size_t p = 0; p < k; ++p) {
        sum += double(at ? A(p, i) : A(i, p)) * double(bt ? B(j, p) : B(p, j));
      }
      C(i, j) = static_cast<T>(double(alpha) * sum + double(beta) * double(C(i, j)));
    }
  }
}

// Y = f(Z) with a zero bias, into a fresh Y: Z (n×B) -> Y (n×B).
template <typename T>
Matrix<T> activate(blasnet::Activation a, Matrix<T> Z) {
  const std::vector<T> zero(Z.rows, T(0));
  Matrix<T> Y(Z.rows, Z.cols);
  blasnet::activation_forward<T>(a, zero.data(), Z.view(), Y.view());
  return Y;
}

}  // namespace blasnet_test
