#include <blasnet/optimizers.hpp>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bindings.hpp"

namespace py = pybind11;

namespace blasnet::python {
namespace {

// The optimizer to this thread for one call from Python (optimizers.hpp), waited for without
// the GIL: a fit on another thread holds it and takes the GIL for each epoch callback, so a
// wait with the GIL held could deadlock. Every method below that reads or writes the rate or
// the state runs under it.
std::unique_lock<std::recursive_mutex> held(const Optimizer& optimizer) {
  const py::gil_scoped_release release;
  return optimizer.hold();
}

// optimizer.step(params, grads) when params is a float array of element type T: params, 1-D,
// C-contiguous and writable, is updated in place; grads is read as T. The GIL is kept: one
// pass over a buffer is short.
template <typename T>
bool step_if(Optimizer& optimizer, py::handle params, py::handle grads) {
  if (!py::isinstance<py::array_t<T>>(params)) return false;
  auto p = py::reinterpret_borrow<py::array_t<T>>(params);
  if (p.ndim() != 1 || (p.flags() & py::array::c_style) == 0 || !p.writeable()) {
    throw std::invalid_argument(optimizer.describe() +
                                ".step: params must be a writable, C-contiguous 1-D array");
  }
  auto g = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(grads);
  if (!g) throw py::error_already_set();
  if (g.ndim() != 1) {
    throw std::invalid_argument(optimizer.describe() + ".step: grads must be 1-D, got " +
                                std::to_string(g.ndim()) + " dimensions");
  }
  const Span<T> ps{p.mutable_data(), static_cast<std::size_t>(p.size())};
  const Span<const T> gs{g.data(), static_cast<std::size_t>(g.size())};
  optimizer.step(ps, gs);
  return true;
}

// {"steps": int, "<buffer>": ndarray copy, ...}: the buffers only once they exist.
template <typename T>
void copy_buffers(const Optimizer& optimizer, py::dict& out) {
  for (const std::string& name : optimizer.state_names()) {
    const Span<const T> s = optimizer.state<T>(name);
    py::array_t<T> copy(static_cast<py::ssize_t>(s.size));
    std::copy(s.begin(), s.end(), copy.mutable_data());
    out[py::str(name)] = std::move(copy);
  }
}

StrDict state_of(const Optimizer& optimizer) {
  py::dict out;
  out["steps"] = optimizer.steps();
  if (optimizer.holds_state<float>()) copy_buffers<float>(optimizer, out);
  if (optimizer.holds_state<double>()) copy_buffers<double>(optimizer, out);
  return out;
}

template <typename T>
void load_buffers(Optimizer& optimizer, std::size_t steps,
                  const std::vector<std::pair<std::string, py::array>>& arrays) {
  std::vector<py::array_t<T, py::array::c_style>> kept;  // contiguous copies where needed
  std::vector<std::pair<std::string, Span<const T>>> buffers;
  kept.reserve(arrays.size());
  for (const auto& [name, array] : arrays) {
    kept.push_back(py::array_t<T, py::array::c_style>::ensure(array));
    const auto size = static_cast<std::size_t>(kept.back().size());
    buffers.emplace_back(name, Span<const T>{kept.back().data(), size});
  }
  optimizer.load_state<T>(steps, buffers);
}

// Translates state() back: checks the Python types and the dtype, which must be one and the
// same float type for every buffer; the core checks names and lengths.
void load_state_from(Optimizer& optimizer, const py::dict& state) {
  const std::string who = optimizer.describe() + ".load_state: ";
  if (!state.contains("steps")) throw std::invalid_argument(who + "the state has no 'steps'");
  const py::handle steps = state["steps"];
  if (!py::isinstance<py::int_>(steps) || py::isinstance<py::bool_>(steps)) {
    throw py::type_error(who + "'steps' must be an int, got " +
                         std::string(py::str(py::type::handle_of(steps).attr("__name__"))));
  }
  // Compared as Python ints, which have no bounds; the core checks its own limit.
  const auto count = py::reinterpret_borrow<py::int_>(steps);
  if (count < py::int_(0)) {
    throw std::invalid_argument(who + "'steps' must be non-negative, got " +
                                std::string(py::str(steps)));
  }
  if (count > py::int_(std::numeric_limits<std::size_t>::max())) {
    throw std::invalid_argument(who + "'steps' must fit in 64 bits, got " +
                                std::string(py::str(steps)));
  }
  std::vector<std::pair<std::string, py::array>> arrays;
  std::optional<py::dtype> dtype;
  std::string first;
  for (const auto& [key, value] : state) {
    const std::string name = py::str(key);
    if (name == "steps") continue;
    if (!py::isinstance<py::array>(value)) {
      throw py::type_error(who + "buffer '" + name + "' must be a NumPy array, got " +
                           std::string(py::str(py::type::handle_of(value).attr("__name__"))));
    }
    auto array = py::reinterpret_borrow<py::array>(value);
    const py::dtype d = array.dtype();
    if (!d.equal(py::dtype::of<float>()) && !d.equal(py::dtype::of<double>())) {
      throw std::invalid_argument(who + "buffer '" + name + "' must be float32 or float64, got " +
                                  std::string(py::str(d)));
    }
    if (array.ndim() != 1) {
      throw std::invalid_argument(who + "buffer '" + name + "' must be 1-D, got " +
                                  std::to_string(array.ndim()) + " dimensions");
    }
    if (dtype && !dtype->equal(d)) {
      throw std::invalid_argument(who + "buffer '" + name + "' is " + std::string(py::str(d)) +
                                  " but '" + first + "' is " + std::string(py::str(*dtype)));
    }
    if (!dtype) {
      dtype = d;
      first = name;
    }
    arrays.emplace_back(name, std::move(array));
  }
  const auto n = steps.cast<std::size_t>();
  if (dtype && dtype->equal(py::dtype::of<float>())) {
    load_buffers<float>(optimizer, n, arrays);
  } else {
    load_buffers<double>(optimizer, n, arrays);
  }
}

const char* const optimizer_doc = R"doc(
Base class of the update rules: ``fit`` and ``train_step`` take any of them.

An optimizer keeps what its rule needs between steps (the step count, momentum, Adam's
moments), so a second ``fit`` continues where the first stopped; the first step sizes that
state for the network's parameter buffer, and using it with a network of another size or
dtype raises ``ValueError`` (call ``reset()`` first, or use one optimizer per network).

``fit`` and ``train_step`` hold the optimizer while they run: a call from another thread of
a method that reads or writes its rate or state (``lr``, ``steps``, ``step``, ``reset``,
``state``, ``load_state``, ``repr``) waits until that run ends, and two runs that share one
optimizer take turns. An epoch callback, on the thread of its ``fit``, may use the optimizer
freely.

Attributes
----------
lr : float
    The learning rate of the next steps, read and write; a schedule sets it each epoch.
steps : int
    Steps taken since construction, ``reset()`` or ``load_state()``.
state_names : list of str
    The buffers the rule keeps, one value per parameter each.

Examples
--------
>>> import numpy as np
>>> import blasnet as bn
>>> adam = bn.Adam(lr=0.1)
>>> isinstance(adam, bn.Optimizer)
True
>>> theta = np.zeros(3)
>>> adam.step(theta, np.array([1.0, -1.0, 0.0]))
>>> adam.steps, sorted(adam.state())
(1, ['m', 'steps', 'v'])
>>> fresh = bn.Adam(lr=0.1)
>>> fresh.load_state(adam.state())
>>> fresh.steps
1
>>> adam.reset()
>>> adam.state()
{'steps': 0}
)doc";

const char* const sgd_doc = R"doc(
Stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay:
``torch.optim.SGD`` with dampening 0.

Each step, on the flat parameter buffer Θ with gradient ∇J::

    g ← ∇J + weight_decay·Θ
    v ← momentum·v + g                  (v ← g at the first step)
    Θ ← Θ − lr·(g + momentum·v)         if nesterov, else Θ ← Θ − lr·v

With ``momentum=0`` and ``weight_decay=0`` this is plain gradient descent Θ ← Θ − lr·∇J,
which keeps no state and which networks fold into their backward products.

Parameters
----------
lr : float
    Learning rate, positive and finite.
momentum : float, default 0.0
    In [0, 1). Keeps the buffer ``"momentum"``.
nesterov : bool, default False
    Nesterov momentum; needs ``momentum > 0``.
weight_decay : float, default 0.0
    L2 penalty added to the gradient, non-negative.

Examples
--------
>>> import numpy as np
>>> import blasnet as bn
>>> sgd = bn.SGD(lr=0.1, momentum=0.9)
>>> sgd
SGD(lr=0.1, momentum=0.9, nesterov=False, weight_decay=0.0)
>>> theta = np.array([1.0, -2.0])
>>> sgd.step(theta, np.array([0.5, 0.5]))  # v = 0.5
>>> sgd.step(theta, np.array([0.5, 0.5]))  # v = 0.9·0.5 + 0.5 = 0.95
>>> theta
array([ 0.855, -2.145])
)doc";

const char* const adam_doc = R"doc(
Adam (Kingma & Ba, 2015), as ``torch.optim.Adam``.

At step t, on the flat parameter buffer Θ with gradient ∇J::

    g ← ∇J + weight_decay·Θ
    m ← beta_1·m + (1 − beta_1)·g
    v ← beta_2·v + (1 − beta_2)·g²
    Θ ← Θ − (lr / (1 − beta_1ᵗ))·m / (√v / √(1 − beta_2ᵗ) + epsilon)

Parameters
----------
lr : float, default 1e-3
    Learning rate, positive and finite.
beta_1, beta_2 : float, default 0.9, 0.999
    Decay rates of the moment estimates, in [0, 1). The buffers are ``"m"`` and ``"v"``.
epsilon : float, default 1e-8
    Added to the denominator, positive.
weight_decay : float, default 0.0
    L2 penalty added to the gradient (see ``AdamW`` for the decoupled kind), non-negative.

Examples
--------
>>> import numpy as np
>>> import blasnet as bn
>>> adam = bn.Adam(lr=0.01)
>>> adam
Adam(lr=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-08, weight_decay=0.0)
>>> theta = np.array([1.0, 1.0])
>>> adam.step(theta, np.array([3.0, -0.5]))  # the first step moves each weight by about lr
>>> theta
array([0.99, 1.01])
)doc";

const char* const adamw_doc = R"doc(
AdamW (Loshchilov & Hutter, 2019), as ``torch.optim.AdamW``: Adam with decoupled weight decay.

At step t, first Θ ← Θ·(1 − lr·weight_decay), then Adam's update with g = ∇J.

Parameters
----------
lr : float, default 1e-3
    Learning rate, positive and finite.
beta_1, beta_2 : float, default 0.9, 0.999
    Decay rates of the moment estimates, in [0, 1). The buffers are ``"m"`` and ``"v"``.
epsilon : float, default 1e-8
    Added to the denominator, positive.
weight_decay : float, default 0.01
    Decoupled decay rate, non-negative.

Examples
--------
>>> import numpy as np
>>> import blasnet as bn
>>> adamw = bn.AdamW(lr=0.1, weight_decay=0.5)
>>> adamw
AdamW(lr=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-08, weight_decay=0.5)
>>> theta = np.array([2.0])
>>> adamw.step(theta, np.array([0.0]))  # no gradient: only the decay, 2·(1 − 0.1·0.5)
>>> theta
array([1.9])
)doc";

const char* const step_doc = R"doc(
One update of ``params`` (a writable, C-contiguous 1-D float32 or float64 array, changed in
place) from ``grads`` (as many values, read in the same dtype).

Examples
--------
>>> import numpy as np
>>> import blasnet as bn
>>> sgd = bn.SGD(lr=0.5)
>>> theta = np.array([1.0, -1.0])
>>> sgd.step(theta, np.array([0.2, -0.4]))  # Θ − 0.5·∇J
>>> theta
array([ 0.9, -0.8])
>>> sgd.steps
1
)doc";

const char* const reset_doc = R"doc(
Forgets the step count and the state buffers; the next step starts afresh.

Examples
--------
>>> import numpy as np
>>> import blasnet as bn
>>> sgd = bn.SGD(lr=0.1, momentum=0.9)
>>> sgd.step(np.zeros(2), np.ones(2))
>>> sgd.state()
{'steps': 1, 'momentum': array([1., 1.])}
>>> sgd.reset()
>>> sgd.state()
{'steps': 0}
)doc";

const char* const state_doc = R"doc(
The state, for saving: ``{"steps": int, "<buffer>": ndarray, ...}``, the buffers (copies)
only once a step has sized them.

Examples
--------
>>> import numpy as np
>>> import blasnet as bn
>>> adam = bn.Adam(lr=0.1)
>>> adam.state()
{'steps': 0}
>>> adam.step(np.zeros(2), np.array([1.0, -1.0]))
>>> adam.state()  # m = (1 − β₁)·g, v = (1 − β₂)·g²
{'steps': 1, 'm': array([ 0.1, -0.1]), 'v': array([0.001, 0.001])}
)doc";

const char* const load_state_doc = R"doc(
Replaces the state by one ``state()`` returned: every buffer of ``state_names`` or none, one
float dtype and one length; the next step must be on parameters of that dtype and length.
Raises ValueError (TypeError for a non-array), changing nothing.

Examples
--------
>>> import numpy as np
>>> import blasnet as bn
>>> adam = bn.Adam(lr=0.1)
>>> adam.step(np.zeros(2), np.array([1.0, -1.0]))
>>> resumed = bn.Adam(lr=0.1)
>>> resumed.load_state(adam.state())
>>> a, b = np.zeros(2), np.zeros(2)
>>> adam.step(a, np.array([1.0, -1.0]))
>>> resumed.step(b, np.array([1.0, -1.0]))  # the same second step
>>> bool((a == b).all()), resumed.steps
(True, 2)
)doc";

}  // namespace

void bind_optimizers(py::module_& m) {
  py::class_<Optimizer>(m, "Optimizer", optimizer_doc)
      .def_property(
          "lr",
          [](const Optimizer& o) {
            const auto hold = held(o);
            return o.lr();
          },
          [](Optimizer& o, double lr) {
            const auto hold = held(o);
            o.set_lr(lr);
          },
          "The learning rate of the next steps; a schedule sets it each epoch.")
      .def_property_readonly(
          "steps",
          [](const Optimizer& o) {
            const auto hold = held(o);
            return o.steps();
          },
          "Steps taken since construction, ``reset()`` or ``load_state()``.")
      .def_property_readonly("state_names", &Optimizer::state_names,
                             "The buffers the rule keeps, one value per parameter each.")
      .def(
          "step",
          [](Optimizer& o, py::handle params, py::handle grads) {
            const auto hold = held(o);
            if (!step_if<double>(o, params, grads) && !step_if<float>(o, params, grads)) {
              throw py::type_error(o.describe() +
                                   ".step: params must be a float32 or float64 NumPy array");
            }
          },
          py::arg("params"), py::arg("grads"), step_doc)
      .def(
          "reset",
          [](Optimizer& o) {
            const auto hold = held(o);
            o.reset();
          },
          reset_doc)
      .def(
          "state",
          [](const Optimizer& o) {
            const auto hold = held(o);
            return state_of(o);
          },
          state_doc)
      .def(
          "load_state",
          [](Optimizer& o, const StrDict& state) {
            const auto hold = held(o);
            load_state_from(o, state);
          },
          py::arg("state"), load_state_doc)
      .def("__repr__", [](const Optimizer& o) {
        const auto hold = held(o);
        return o.describe();
      });

  py::class_<SGD, Optimizer>(m, "SGD", sgd_doc)
      .def(py::init<double, double, bool, double>(), py::arg("lr"), py::arg("momentum") = 0.0,
           py::arg("nesterov") = false, py::arg("weight_decay") = 0.0)
      .def_property_readonly("momentum", &SGD::momentum, "The momentum coefficient, in [0, 1).")
      .def_property_readonly("nesterov", &SGD::nesterov, "Whether the momentum is Nesterov's.")
      .def_property_readonly("weight_decay", &SGD::weight_decay,
                             "The L2 penalty added to the gradient.");

  // Adam and AdamW share their hyperparameters, and one update (optimizers.hpp).
  py::class_<AdamFamily, Optimizer>(m, "_AdamLike")
      .def_property_readonly("beta_1", &AdamFamily::beta_1,
                             "The decay rate of the first moment estimate ``m``.")
      .def_property_readonly("beta_2", &AdamFamily::beta_2,
                             "The decay rate of the second moment estimate ``v``.")
      .def_property_readonly("epsilon", &AdamFamily::epsilon,
                             "The term added to the update's denominator.")
      .def_property_readonly("weight_decay", &AdamFamily::weight_decay,
                             "The weight decay: an L2 penalty for Adam, decoupled for AdamW.");

  py::class_<Adam, AdamFamily>(m, "Adam", adam_doc)
      .def(py::init<double, double, double, double, double>(), py::arg("lr") = 1e-3,
           py::arg("beta_1") = 0.9, py::arg("beta_2") = 0.999, py::arg("epsilon") = 1e-8,
           py::arg("weight_decay") = 0.0);

  py::class_<AdamW, AdamFamily>(m, "AdamW", adamw_doc)
      .def(py::init<double, double, double, double, double>(), py::arg("lr") = 1e-3,
           py::arg("beta_1") = 0.9, py::arg("beta_2") = 0.999, py::arg("epsilon") = 1e-8,
           py::arg("weight_decay") = 0.01);
}

}  // namespace blasnet::python
