#pragma once
// A training loop as Python runs it: options from keyword arguments, the epoch callback into
// Python, Ctrl-C turned into a stop between steps, and the outcome — never an exception that
// loses the epochs already done — as a dict.

#include <Python.h>
#include <blasnet/training.hpp>
#include <pybind11/pybind11.h>

#include <atomic>
#include <csignal>
#include <optional>
#include <string>

namespace blasnet::python {

namespace py = pybind11;

// While alive on the main thread, SIGINT (Ctrl-C) sets `stop` instead of reaching Python's
// handler: the loop, running without the GIL, reads it before every step. The previous
// handler comes back afterwards, and the caller raises KeyboardInterrupt.
class StopOnInterrupt {
 public:
  StopOnInterrupt() {
    const py::module_ threading = py::module_::import("threading");
    if (!threading.attr("current_thread")().is(threading.attr("main_thread")())) return;
    active_ = this;
    struct sigaction action {};
    action.sa_handler = &StopOnInterrupt::on_signal;
    sigemptyset(&action.sa_mask);
    installed_ = sigaction(SIGINT, &action, &previous_) == 0;
  }
  ~StopOnInterrupt() {
    if (installed_) sigaction(SIGINT, &previous_, nullptr);
    if (active_ == this) active_ = nullptr;
  }
  StopOnInterrupt(const StopOnInterrupt&) = delete;
  StopOnInterrupt& operator=(const StopOnInterrupt&) = delete;

  std::atomic<bool> stop{false};

 private:
  static void on_signal(int) {
    if (StopOnInterrupt* self = active_) self->stop.store(true, std::memory_order_relaxed);
  }

  static inline StopOnInterrupt* active_ = nullptr;
  struct sigaction previous_ {};
  bool installed_ = false;
};

inline py::object optional_float(const std::optional<double>& v) {
  return v ? py::object(py::float_(*v)) : py::object(py::none());
}

inline py::dict record_dict(const EpochRecord& r) {
  py::dict d;
  d["epoch"] = r.epoch;
  d["loss"] = r.loss;
  d["accuracy"] = optional_float(r.accuracy);
  d["val_loss"] = optional_float(r.val_loss);
  d["val_accuracy"] = optional_float(r.val_accuracy);
  d["lr"] = r.lr;
  d["seconds"] = r.seconds;
  return d;
}

inline const char* stop_name(StopReason reason) {
  switch (reason) {
    case StopReason::completed: return "completed";
    case StopReason::early_stopping: return "early_stopping";
    case StopReason::callback: return "callback";
    case StopReason::interrupted: return "interrupted";
  }
  return "?";
}

// FitOptions from fit's keyword arguments; patience None means no early stopping.
inline FitOptions fit_options(std::size_t epochs, std::size_t batch_size, bool shuffle,
                              std::uint64_t seed, std::optional<std::size_t> patience,
                              double min_delta, bool restore_best, Schedule* schedule) {
  FitOptions options(epochs, batch_size, shuffle, seed);
  if (patience) options.early_stopping = EarlyStopping{*patience, min_delta, restore_best};
  options.schedule = schedule;
  return options;
}

// Runs run(options, on_epoch) without the GIL and returns {"records": [...], "stopped": ...,
// "best_epoch": ..., "error": message or None}. on_epoch(record dict) -> bool (False stops)
// runs with the GIL after each epoch; an exception it raises propagates. The records went to
// on_epoch, so "records" lists them only when on_epoch is None: building them twice cost more
// than a training step of a small network, for every epoch.
template <typename Run>
py::dict run_fit(FitOptions options, const py::object& on_epoch, Run&& run) {
  StopOnInterrupt interrupt;
  options.stop = &interrupt.stop;
  EpochCallback callback;
  if (!on_epoch.is_none()) {
    callback = [&on_epoch](const EpochRecord& record) {
      py::gil_scoped_acquire acquire;
      return on_epoch(record_dict(record)).cast<bool>();
    };
  }
  FitResult result;
  std::optional<std::string> error;
  {
    py::gil_scoped_release release;
    try {
      result = run(options, callback);
    } catch (const TrainingDiverged& e) {
      result = e.result();
      error = e.what();
    }
  }
  py::list records;
  if (on_epoch.is_none()) {
    for (const EpochRecord& r : result.epochs) records.append(record_dict(r));
  }
  py::dict out;
  out["records"] = records;
  out["stopped"] = error ? "diverged" : stop_name(result.stopped);
  out["best_epoch"] = result.best_epoch ? py::object(py::int_(*result.best_epoch)) : py::none();
  out["error"] = error ? py::object(py::str(*error)) : py::none();
  return out;
}

}  // namespace blasnet::python
