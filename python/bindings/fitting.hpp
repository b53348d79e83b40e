#pragma once
// A training loop as Python runs it: options from keyword arguments, the epoch callback into
// Python, Ctrl-C turned into a stop between steps, and the outcome — never an exception that
// loses the epochs already done — as a dict.

#include <Python.h>
#include <blasnet/training.hpp>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include "arrays.hpp"

#include "bindings.hpp"

namespace blasnet::python {

namespace py = pybind11;

// While alive on the main thread, SIGINT (Ctrl-C) sets stop() instead of reaching Python's
// handler: the loop, running without the GIL, reads it before every step, and the caller
// raises KeyboardInterrupt. Fits on the main thread nest (a fit inside another fit's epoch
// callback), so they form a stack, always left last in first out: the outermost installs the
// handler and puts the previous one back when it ends, and a SIGINT stops every fit on the
// stack, as the KeyboardInterrupt it raises unwinds them all. Fits on other threads never see
// Ctrl-C (Python delivers it to the main thread only) and leave the handler alone.
//
// The stop flags live in static storage, one per nesting level: the signal may be delivered
// on any thread and at any moment, a fit's end included, so the handler must never reach a
// StopOnInterrupt being destroyed. Levels beyond the last flag share it.
class StopOnInterrupt {
 public:
  StopOnInterrupt() {
    const py::module_ threading = py::module_::import("threading");
    if (!threading.attr("current_thread")().is(threading.attr("main_thread")())) return;
    // Only the main thread, holding the GIL, changes the stack: no two constructors race.
    level_ = depth_.load();
    flag_ = &flags_[std::min(level_, levels - 1)];
    if (level_ < levels) flag_->store(false);
    if (level_ == 0) {
      struct sigaction action {};
      action.sa_handler = &StopOnInterrupt::on_signal;
      sigemptyset(&action.sa_mask);
      installed_ = sigaction(SIGINT, &action, &previous_) == 0;
    }
    depth_.store(level_ + 1);
  }
  ~StopOnInterrupt() {
    if (flag_ == nullptr) return;
    depth_.store(level_);
    if (level_ == 0 && installed_) sigaction(SIGINT, &previous_, nullptr);
  }
  StopOnInterrupt(const StopOnInterrupt&) = delete;
  StopOnInterrupt& operator=(const StopOnInterrupt&) = delete;

  // Set by Ctrl-C; null off the main thread, where nothing sets it.
  const std::atomic<bool>* stop() const { return flag_; }

 private:
  static constexpr std::size_t levels = 64;

  // Async-signal-safe: lock-free atomics only.
  static_assert(std::atomic<bool>::is_always_lock_free &&
                std::atomic<std::size_t>::is_always_lock_free);
  static void on_signal(int) {
    const std::size_t active = std::min(depth_.load(), levels);
    for (std::size_t i = 0; i < active; ++i) flags_[i].store(true);
  }

  static inline std::atomic<bool> flags_[levels] = {};
  static inline std::atomic<std::size_t> depth_{0};
  static inline struct sigaction previous_ {};  // the outermost's, put back when it ends
  static inline bool installed_ = false;
  std::size_t level_ = 0;
  std::atomic<bool>* flag_ = nullptr;
};

// A TrainingHook whose gradient(g) and epoch_sums(a) are methods of a Python object (the MPI
// glue of blasnet.distributed): each call takes the GIL, hands NumPy arrays that Python sums in
// place over the processes, and lets any exception it raises end the fit.
class PythonHook : public TrainingHook {
 public:
  PythonHook(py::object hook, py::object graph) : hook_(std::move(hook)), graph_(std::move(graph)) {}

  void gradient(Span<float> g) override { gradient_of(g); }
  void gradient(Span<double> g) override { gradient_of(g); }
  void epoch_sums(Span<double> sums) override {
    py::gil_scoped_acquire acquire;
    py::array_t<double> values(static_cast<py::ssize_t>(sums.size), sums.data);
    hook_.attr("epoch_sums")(values);
    std::copy(values.data(), values.data() + sums.size, sums.data);
  }

 private:
  // The gradient buffer itself, viewed once: its place does not change during a fit.
  template <typename T>
  void gradient_of(Span<T> g) {
    py::gil_scoped_acquire acquire;
    if (!view_) view_ = buffer_view(g, graph_);
    hook_.attr("gradient")(view_);
  }

  py::object hook_, graph_, view_;
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
StrDict run_fit(FitOptions options, const py::object& on_epoch, Run&& run) {
  const StopOnInterrupt interrupt;
  options.stop = interrupt.stop();
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
