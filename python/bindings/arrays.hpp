#pragma once
// NumPy arrays as the core's matrices, in place. A C-contiguous (n_samples, n_features) array,
// or one whose rows are evenly spaced (a slice X[:, t, :] of a sequence batch), is the
// column-major n_features × n_samples matrix of the note with leading dimension = row stride.
// The layout is defined once, by the package's blasnet._convert.in_place, which converts what
// does not fit before it calls; here it is verified, for memory safety.

#include <Python.h>
#include <blasnet/checked_size.hpp>
#include <blasnet/losses.hpp>
#include <blasnet/matrix.hpp>
#include <pybind11/numpy.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace blasnet::python {

namespace py = pybind11;

template <typename T>
using CArray = py::array_t<T, py::array::c_style>;

// An argument the core cannot read in place. The Python package converts every array to the
// layout below before it calls (blasnet/_convert.py, as_samples), so this is a TypeError for
// a direct caller of _core only, never a retry.
[[noreturn]] inline void not_in_place(const char* what) {
  throw py::type_error(std::string("_core takes arrays as blasnet._convert.as_samples makes "
                                   "them; got ") + what);
}

// Whether h is a C-contiguous ndarray of element type E with ndim dimensions.
template <typename E>
bool is_canonical(py::handle h, int ndim) {
  return py::array_t<E, py::array::c_style>::check_(h) &&
         py::detail::array_proxy(h.ptr())->nd == ndim;
}

// A 2-D array of dtype T, aligned, whose features are adjacent and whose samples are evenly
// spaced forward in memory, viewed as the column-major features × samples matrix.
template <typename T>
MatrixView<const T> as_columns(py::handle h) {
  constexpr auto item = static_cast<py::ssize_t>(sizeof(T));
  if (!py::array_t<T>::check_(h)) not_in_place("an array of another dtype");
  const auto* a = py::detail::array_proxy(h.ptr());
  if (a->nd != 2 || (a->flags & py::detail::npy_api::NPY_ARRAY_ALIGNED_) == 0) {
    not_in_place("an unaligned or not 2-D array");
  }
  const py::ssize_t n = a->dimensions[0];
  const py::ssize_t d = a->dimensions[1];
  if (n == 0 || d == 0) {  // no values: strides mean nothing, and the core names the emptiness
    return {reinterpret_cast<const T*>(a->data), static_cast<std::size_t>(d),
            static_cast<std::size_t>(n), static_cast<std::size_t>(std::max<py::ssize_t>(d, 1))};
  }
  const py::ssize_t feature_stride = d > 1 ? a->strides[1] : item;
  const py::ssize_t sample_stride = n > 1 ? a->strides[0] : std::max<py::ssize_t>(d, 1) * item;
  if (feature_stride != item || sample_stride % item != 0 || sample_stride < d * item) {
    not_in_place("rows that are not evenly spaced runs of adjacent values");
  }
  return {reinterpret_cast<const T*>(a->data), static_cast<std::size_t>(d),
          static_cast<std::size_t>(n), static_cast<std::size_t>(sample_stride / item)};
}

// Float targets of shape (n, n_out), or int64 class labels of shape (n,) for the one loss
// that reads labels; for the others, 1-D targets go back to be reshaped.
template <typename T>
Targets<T> as_targets(py::handle h, Loss loss) {
  if (loss == Loss::softmax_cross_entropy && is_canonical<std::int64_t>(h, 1)) {
    const auto* a = py::detail::array_proxy(h.ptr());
    return Targets<T>::classes(reinterpret_cast<const std::int64_t*>(a->data),
                               static_cast<std::size_t>(a->dimensions[0]));
  }
  return Targets<T>::dense(as_columns<T>(h));
}

// Per-sample weights: None, or a C-contiguous 1-D array of dtype T (its length is the
// caller's to check).
template <typename T>
const T* as_weights(py::handle h) {
  if (h.is_none()) return nullptr;
  if (!is_canonical<T>(h, 1)) not_in_place("sample weights that are not a C-contiguous 1-D array of the dtype");
  return reinterpret_cast<const T*>(py::detail::array_proxy(h.ptr())->data);
}

// A 1-D NumPy view of one of the core's flat buffers; it keeps owner alive.
template <typename T>
py::array_t<T> buffer_view(Span<T> span, py::handle owner) {
  return py::array_t<T>({static_cast<py::ssize_t>(span.size)},
                        {static_cast<py::ssize_t>(sizeof(T))}, span.data, owner);
}

// A fresh (samples, features) array for a features × samples result; a size past what NumPy
// can address is refused before it is asked for.
template <typename T>
CArray<T> new_samples(std::size_t samples, std::size_t features) {
  const auto what = [&] {
    return "a result of " + std::to_string(samples) + " samples × " + std::to_string(features) +
           " values";
  };
  const std::size_t bytes = checked_mul(checked_mul(samples, features, what), sizeof(T), what);
  if (bytes > static_cast<std::size_t>(PTRDIFF_MAX)) {
    throw AllocationError(what() + " needs " + bytes_text(double(bytes)) +
                          ", more memory than can be addressed");
  }
  return CArray<T>({static_cast<py::ssize_t>(samples), static_cast<py::ssize_t>(features)});
}

// Copies Y (features × samples) into out, sample by sample.
template <typename T>
void copy_samples(MatrixView<const T> Y, T* out) {
  for (std::size_t j = 0; j < Y.cols; ++j) std::copy(Y.column(j), Y.column(j) + Y.rows, out + j * Y.rows);
}

}  // namespace blasnet::python
