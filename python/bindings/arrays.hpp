#pragma once
// NumPy arrays as the core's matrices, in place. A C-contiguous (n_samples, n_features) array,
// or one whose rows are evenly spaced (a slice X[:, t, :] of a sequence batch), is the
// column-major n_features × n_samples matrix of the note with leading dimension = row stride.
// This file is the one definition of that layout (in_place below). What does not fit — lists,
// other dtypes, other layouts — is converted once by the package's converters
// (blasnet/_convert.py, which name what is wrong with an argument in its errors), called from
// here: no call is refused and retried.

#include <Python.h>
#include <blasnet/checked_size.hpp>
#include <blasnet/losses.hpp>
#include <blasnet/matrix.hpp>
#include <pybind11/numpy.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace blasnet::python {

namespace py = pybind11;

template <typename T>
using CArray = py::array_t<T, py::array::c_style>;

// Whether h is a C-contiguous ndarray of element type E with ndim dimensions.
template <typename E>
bool is_canonical(py::handle h, int ndim) {
  return py::array_t<E, py::array::c_style>::check_(h) &&
         py::detail::array_proxy(h.ptr())->nd == ndim;
}

// The column-major features × samples view of h, if h is a 2-D array of dtype T, aligned,
// whose features are adjacent and whose samples are evenly spaced forward in memory.
template <typename T>
std::optional<MatrixView<const T>> in_place(py::handle h) {
  constexpr auto item = static_cast<py::ssize_t>(sizeof(T));
  if (!py::array_t<T>::check_(h)) return std::nullopt;
  const auto* a = py::detail::array_proxy(h.ptr());
  if (a->nd != 2 || (a->flags & py::detail::npy_api::NPY_ARRAY_ALIGNED_) == 0) return std::nullopt;
  const py::ssize_t n = a->dimensions[0];
  const py::ssize_t d = a->dimensions[1];
  const auto* data = reinterpret_cast<const T*>(a->data);
  if (n == 0 || d == 0) {  // no values: strides mean nothing, and the core names the emptiness
    return MatrixView<const T>{data, static_cast<std::size_t>(d), static_cast<std::size_t>(n),
                               static_cast<std::size_t>(std::max<py::ssize_t>(d, 1))};
  }
  const py::ssize_t feature_stride = d > 1 ? a->strides[1] : item;
  const py::ssize_t sample_stride = n > 1 ? a->strides[0] : std::max<py::ssize_t>(d, 1) * item;
  if (feature_stride != item || sample_stride % item != 0 || sample_stride < d * item) {
    return std::nullopt;
  }
  return MatrixView<const T>{data, static_cast<std::size_t>(d), static_cast<std::size_t>(n),
                             static_cast<std::size_t>(sample_stride / item)};
}

// The package's converter `name` (blasnet/_convert.py).
inline py::object converter(const char* name) {
  return py::module_::import("blasnet._convert").attr(name);
}

// The arrays of one call as the core reads them, in place or converted once; the converted
// copies live as long as this.
template <typename T>
class CallArrays {
 public:
  // Samples of an input: (n_samples, n_features). label() names it, made only to convert.
  template <typename Label>
  MatrixView<const T> samples(py::handle h, const Label& label) {
    if (const auto view = in_place<T>(h)) return *view;
    return checked(keep(converter("as_samples")(h, py::dtype::of<T>(), label())));
  }

  // Float targets (n_samples, units), or int64 class labels (n_samples,) for the one loss
  // that reads labels.
  template <typename Label>
  Targets<T> targets(py::handle h, Loss loss, std::size_t units, const Label& label) {
    if (const std::optional<Targets<T>> t = targets_in_place(h, loss)) return *t;
    const py::handle copy = keep(converter("as_targets")(h, std::string(loss_name(loss)), units,
                                                         py::dtype::of<T>(), label()));
    if (const std::optional<Targets<T>> t = targets_in_place(copy, loss)) return *t;
    throw py::type_error("blasnet._convert.as_targets returned targets the core cannot read");
  }

  // Per-sample weights: None, or any array the converter checks against n samples (its
  // messages name sample_weight, so a given array always goes through it).
  const T* weights(py::handle h, std::size_t n) {
    if (h.is_none()) return nullptr;
    const py::handle copy = keep(converter("as_sample_weight")(h, n, py::dtype::of<T>()));
    if (!is_canonical<T>(copy, 1)) {
      throw py::type_error("blasnet._convert.as_sample_weight returned weights the core cannot read");
    }
    return reinterpret_cast<const T*>(py::detail::array_proxy(copy.ptr())->data);
  }

 private:
  static std::optional<Targets<T>> targets_in_place(py::handle h, Loss loss) {
    if (loss == Loss::softmax_cross_entropy && is_canonical<std::int64_t>(h, 1)) {
      const auto* a = py::detail::array_proxy(h.ptr());
      return Targets<T>::classes(reinterpret_cast<const std::int64_t*>(a->data),
                                 static_cast<std::size_t>(a->dimensions[0]));
    }
    if (const auto view = in_place<T>(h)) return Targets<T>::dense(*view);
    return std::nullopt;
  }
  static MatrixView<const T> checked(py::handle copy) {
    if (const auto view = in_place<T>(copy)) return *view;
    throw py::type_error("blasnet._convert.as_samples returned an array the core cannot read");
  }
  py::handle keep(py::object converted) {
    copies_.push_back(std::move(converted));
    return copies_.back();
  }

  std::vector<py::object> copies_;
};

// An array the core reads as it is, for the bindings whose Python side converts first (the
// perceptron's): a TypeError, not a copy, for anything else.
template <typename T>
MatrixView<const T> as_columns(py::handle h) {
  if (const auto view = in_place<T>(h)) return *view;
  throw py::type_error("_core takes arrays as blasnet._convert.as_samples makes them");
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
