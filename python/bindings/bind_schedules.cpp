#include <blasnet/schedules.hpp>

#include "bindings.hpp"

namespace py = pybind11;

namespace blasnet::python {
namespace {

const char* const schedule_doc = R"doc(
Base class of the learning-rate schedules: the rate of each epoch, from the optimizer's
initial rate α₀ (its ``lr`` when the schedule first sees it) and the training so far.

A schedule counts the epochs and samples it was told of, so it continues across calls to
``fit``. ``fit`` calls ``begin_epoch(optimizer)`` before each epoch and
``end_epoch(samples, monitored)`` after it; they can be called by hand as well.

Attributes
----------
epochs : int
    Epochs completed so far.
samples : int
    Samples seen so far.

Examples
--------
>>> import blasnet as bn
>>> from blasnet import schedules
>>> sgd = bn.SGD(lr=0.1)
>>> schedule = schedules.StepDecay(step_size=2, gamma=0.5)
>>> isinstance(schedule, schedules.Schedule)
True
>>> rates = []
>>> for epoch in range(5):
...     schedule.begin_epoch(sgd)
...     rates.append(sgd.lr)
...     schedule.end_epoch(samples=100, monitored=1.0)
>>> rates
[0.1, 0.1, 0.05, 0.05, 0.025]
>>> schedule.epochs, schedule.samples
(5, 500)
)doc";

const char* const constant_doc = R"doc(
The initial rate every epoch: α = α₀.

Examples
--------
>>> import blasnet as bn
>>> from blasnet import schedules
>>> sgd = bn.SGD(lr=0.1)
>>> schedule = schedules.Constant()
>>> for epoch in range(3):
...     schedule.begin_epoch(sgd)
...     schedule.end_epoch(samples=100, monitored=1.0)
>>> sgd.lr, schedule.epochs, schedule.samples
(0.1, 3, 300)
)doc";

const char* const inverse_scaling_doc = R"doc(
scikit-learn's ``"invscaling"``, which counts samples: α = α₀ / (1 + samples seen)^power.

Parameters
----------
power : float, default 0.5
    The exponent, finite and non-negative.

Examples
--------
>>> import blasnet as bn
>>> from blasnet import schedules
>>> sgd = bn.SGD(lr=0.1)
>>> schedule = schedules.InverseScaling(power=0.5)
>>> rates = []
>>> for samples in (3, 12, 48):
...     schedule.begin_epoch(sgd)
...     rates.append(sgd.lr)
...     schedule.end_epoch(samples=samples, monitored=1.0)
>>> rates  # after 0, 3 and 15 samples: 0.1 / √1, 0.1 / √4, 0.1 / √16
[0.1, 0.05, 0.025]
)doc";

const char* const step_decay_doc = R"doc(
The rate falls by ``gamma`` every ``step_size`` epochs: α = α₀·γ^⌊epochs / step_size⌋.

Parameters
----------
step_size : int
    Epochs between decays, at least 1.
gamma : float, default 0.1
    The factor of each decay, in (0, 1].

Examples
--------
>>> import blasnet as bn
>>> from blasnet import schedules
>>> sgd = bn.SGD(lr=1.0)
>>> schedule = schedules.StepDecay(step_size=3, gamma=0.5)
>>> rates = []
>>> for epoch in range(7):
...     schedule.begin_epoch(sgd)
...     rates.append(sgd.lr)
...     schedule.end_epoch(samples=10, monitored=1.0)
>>> rates
[1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
)doc";

const char* const cosine_doc = R"doc(
Cosine annealing from α₀ down to ``min_lr`` over ``period`` epochs, then ``min_lr``:
α = min_lr + (α₀ − min_lr)·(1 + cos(π·min(epochs, period) / period)) / 2.

Parameters
----------
period : int
    Epochs of the descent, at least 1.
min_lr : float, default 0.0
    The rate at its end and afterwards, finite and non-negative (0 freezes the parameters).

Examples
--------
>>> import blasnet as bn
>>> from blasnet import schedules
>>> sgd = bn.SGD(lr=1.0)
>>> schedule = schedules.Cosine(period=4)
>>> rates = []
>>> for epoch in range(6):
...     schedule.begin_epoch(sgd)
...     rates.append(round(sgd.lr, 4))
...     schedule.end_epoch(samples=10, monitored=1.0)
>>> rates
[1.0, 0.8536, 0.5, 0.1464, 0.0, 0.0]
)doc";

const char* const plateau_doc = R"doc(
Reduces the rate when the monitored loss (the validation loss if there is one, else the
training loss) stops improving.

An epoch improves when its loss is below the best so far by more than ``min_delta``. After
``patience`` epochs without improvement the current rate is multiplied by ``factor`` (not
below ``min_lr``, and never raised to it), and the next ``cooldown`` epochs are not counted.

Parameters
----------
factor : float, default 0.1
    The factor of each reduction, in (0, 1).
patience : int, default 10
    Epochs without improvement before a reduction (0: reduce after each one).
min_delta : float, default 1e-4
    The least decrease of the loss that counts as an improvement, absolute, non-negative.
cooldown : int, default 0
    Epochs after a reduction that are not counted.
min_lr : float, default 0.0
    The floor of the rate, finite and non-negative.

Attributes
----------
best : float
    The lowest monitored loss so far (``inf`` before the first epoch).
bad_epochs : int
    Epochs counted without improvement since the last improvement or reduction.
cooldown_left : int
    Epochs of the current cooldown still to come.

Examples
--------
>>> import blasnet as bn
>>> from blasnet import schedules
>>> sgd = bn.SGD(lr=1.0)
>>> schedule = schedules.ReduceOnPlateau(factor=0.5, patience=2)
>>> rates = []
>>> for loss in [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.5]:
...     schedule.begin_epoch(sgd)
...     rates.append(sgd.lr)
...     schedule.end_epoch(samples=10, monitored=loss)
>>> rates  # two epochs at 0.9 after the best 0.9: halved, and again
[1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.25]
>>> schedule.best
0.5
)doc";

const char* const begin_epoch_doc = R"doc(
Sets the optimizer's rate for the coming epoch (the first call takes its ``lr`` as the
initial rate).

Examples
--------
>>> import blasnet as bn
>>> from blasnet import schedules
>>> sgd = bn.SGD(lr=0.1)
>>> schedule = schedules.StepDecay(step_size=1, gamma=0.5)
>>> schedule.begin_epoch(sgd)  # epoch 0: α₀
>>> sgd.lr
0.1
>>> schedule.end_epoch(samples=32, monitored=0.7)
>>> schedule.begin_epoch(sgd)  # epoch 1: α₀·0.5
>>> sgd.lr
0.05
)doc";

const char* const end_epoch_doc = R"doc(
Records a completed epoch: the samples its steps saw and the loss to watch.

Examples
--------
>>> from blasnet import schedules
>>> schedule = schedules.ReduceOnPlateau()
>>> schedule.end_epoch(samples=32, monitored=0.7)
>>> schedule.epochs, schedule.samples, schedule.best
(1, 32, 0.7)
)doc";

}  // namespace

void bind_schedules(py::module_& m) {
  py::class_<Schedule>(m, "Schedule", schedule_doc)
      // Without the GIL: the optimizer's hold may be another thread's fit's (optimizers.hpp).
      .def("begin_epoch", &Schedule::begin_epoch, py::arg("optimizer"),
           py::call_guard<py::gil_scoped_release>(), begin_epoch_doc)
      .def("end_epoch", &Schedule::end_epoch, py::arg("samples"), py::arg("monitored"),
           end_epoch_doc)
      .def_property_readonly("epochs", &Schedule::epochs, "Epochs completed so far.")
      .def_property_readonly("samples", &Schedule::samples, "Samples seen so far.")
      .def("__repr__", &Schedule::describe);

  py::class_<Constant, Schedule>(m, "Constant", constant_doc).def(py::init<>());

  py::class_<InverseScaling, Schedule>(m, "InverseScaling", inverse_scaling_doc)
      .def(py::init<double>(), py::arg("power") = 0.5)
      .def_property_readonly("power", &InverseScaling::power, "The exponent of the decay.");

  py::class_<StepDecay, Schedule>(m, "StepDecay", step_decay_doc)
      .def(py::init<std::size_t, double>(), py::arg("step_size"), py::arg("gamma") = 0.1)
      .def_property_readonly("step_size", &StepDecay::step_size, "Epochs between decays.")
      .def_property_readonly("gamma", &StepDecay::gamma, "The factor of each decay.");

  py::class_<Cosine, Schedule>(m, "Cosine", cosine_doc)
      .def(py::init<std::size_t, double>(), py::arg("period"), py::arg("min_lr") = 0.0)
      .def_property_readonly("period", &Cosine::period, "Epochs of the descent.")
      .def_property_readonly("min_lr", &Cosine::min_lr, "The rate at the end and afterwards.");

  py::class_<ReduceOnPlateau, Schedule>(m, "ReduceOnPlateau", plateau_doc)
      .def(py::init<double, std::size_t, double, std::size_t, double>(), py::arg("factor") = 0.1,
           py::arg("patience") = 10, py::arg("min_delta") = 1e-4, py::arg("cooldown") = 0,
           py::arg("min_lr") = 0.0)
      .def_property_readonly("factor", &ReduceOnPlateau::factor, "The factor of each reduction.")
      .def_property_readonly("patience", &ReduceOnPlateau::patience,
                             "Epochs without improvement before a reduction.")
      .def_property_readonly("min_delta", &ReduceOnPlateau::min_delta,
                             "The least decrease of the loss that counts as an improvement.")
      .def_property_readonly("cooldown", &ReduceOnPlateau::cooldown,
                             "Epochs after a reduction that are not counted.")
      .def_property_readonly("min_lr", &ReduceOnPlateau::min_lr, "The floor of the rate.")
      .def_property_readonly("best", &ReduceOnPlateau::best,
                             "The lowest monitored loss so far (``inf`` before the first epoch).")
      .def_property_readonly("bad_epochs", &ReduceOnPlateau::bad_epochs,
                             "Epochs counted without improvement since the last improvement or "
                             "reduction.")
      .def_property_readonly("cooldown_left", &ReduceOnPlateau::cooldown_left,
                             "Epochs of the current cooldown still to come.");
}

}  // namespace blasnet::python
