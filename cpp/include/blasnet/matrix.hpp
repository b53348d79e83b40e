#pragma once
// Non-owning views of the note's matrices. Storage is column-major, as in the note's
// appendix: a batch X (n_x × n_data) keeps sample j in column j. A C-contiguous NumPy
// array of shape (n_data, n_x) is exactly that matrix with leading dimension n_x.

#include <cstddef>
#include <string>

namespace blasnet {

// A contiguous run of values: the flat parameter and gradient buffers, or one block of them.
template <typename T>
struct Span {
  T* data = nullptr;
  std::size_t size = 0;

  T* begin() const { return data; }
  T* end() const { return data + size; }
  T& operator[](std::size_t i) const { return data[i]; }
};

// Column-major rows × cols matrix; element (i, j) lives at data[i + j * ld].
template <typename T>
struct MatrixView {
  T* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::size_t ld = 0;

  MatrixView() = default;
  MatrixView(T* data_, std::size_t rows_, std::size_t cols_)
      : data(data_), rows(rows_), cols(cols_), ld(rows_) {}
  MatrixView(T* data_, std::size_t rows_, std::size_t cols_, std::size_t ld_)
      : data(data_), rows(rows_), cols(cols_), ld(ld_) {}

  // A view that cannot write: every MatrixView<T> converts to MatrixView<const T>.
  operator MatrixView<const T>() const { return {data, rows, cols, ld}; }

  T& operator()(std::size_t i, std::size_t j) const { return data[i + j * ld]; }
  T* column(std::size_t j) const { return data + j * ld; }

  // Columns [first, first + count): a sub-batch, still without copying.
  MatrixView columns(std::size_t first, std::size_t count) const {
    return {data + first * ld, rows, count, ld};
  }
};

// Keeps a parameter out of template argument deduction (C++20's std::type_identity), so that
// T is deduced from the other arguments and a MatrixView<T> converts to the parameter.
template <typename T>
struct TypeIdentity {
  using type = T;
};

// A read-only matrix argument of a function template: pass a MatrixView<T> or a
// MatrixView<const T> alike.
template <typename T>
using ReadView = typename TypeIdentity<MatrixView<const T>>::type;

// A scalar argument whose type follows the matrices' (a literal 1.0 works for float too).
template <typename T>
using ScalarOf = typename TypeIdentity<T>::type;

// "rows×cols", for error messages that name both shapes.
template <typename T>
std::string shape_string(const MatrixView<T>& m) {
  return std::to_string(m.rows) + "×" + std::to_string(m.cols);
}

}  // namespace blasnet
