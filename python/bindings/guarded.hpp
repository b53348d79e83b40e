#pragma once
// A model as Python holds it. Its calls run without the GIL, and one model's workspace serves
// one call at a time: the lock makes concurrent calls from Python threads wait instead of
// overwriting each other's activations. Ctrl-C reaches a training loop between epochs.

#include <Python.h>
#include <blasnet/training.hpp>
#include <pybind11/pybind11.h>

#include <mutex>
#include <utility>

namespace blasnet::python {

template <typename Model>
struct Guarded {
  template <typename... Args>
  explicit Guarded(Args&&... args) : model(std::forward<Args>(args)...) {}

  Model model;
  std::mutex busy;
};

using Lock = std::lock_guard<std::mutex>;

// An epoch callback, for a loop running without the GIL, that stops training when Python has
// a pending signal (Ctrl-C) and records that it did; the caller reports the epochs done.
inline EpochCallback stop_on_signal(bool& interrupted) {
  return [&interrupted](std::size_t, double) {
    pybind11::gil_scoped_acquire acquire;
    if (PyErr_CheckSignals() != 0) {
      PyErr_Clear();
      interrupted = true;
      return false;
    }
    return true;
  };
}

}  // namespace blasnet::python
