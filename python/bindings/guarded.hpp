#pragma once
// A model as Python holds it. Its calls run without the GIL. Most of them (forward, evaluate,
// backward, training, fit) write the model's workspace or parameters and need it to
// themselves; predict writes only its own thread's scratch and its fresh output arrays, so any
// number of predictions may run at once. A reader/writer lock keeps the two apart: predict
// shares it, every other call holds it alone, so a prediction never sees a half-made training
// step and concurrent predictions do not wait for each other.
//
// The lock is recursive for its exclusive holder, because fit calls back into Python between
// epochs holding it, and a callback may use the model on that same thread (forward or predict;
// the next epoch recomputes every activation it needs). A waiting writer goes ahead of new
// readers, so a stream of predictions cannot starve training. Nothing waits for the lock while
// holding the GIL, and a reader never calls into Python, so the GIL and the lock cannot
// deadlock. Graphs over another graph's buffers (an RNN's unrolled lengths) share its lock.

#include <blasnet/graph.hpp>

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <utility>

namespace blasnet::python {

// Exclusive (lock/unlock, recursive on the holding thread) and shared (lock_shared/
// unlock_shared) access to one model; lock_shared on the thread holding it exclusively nests.
class ModelLock {
 public:
  void lock() {
    std::unique_lock<std::mutex> guard(mutex_);
    const std::thread::id me = std::this_thread::get_id();
    if (depth_ > 0 && writer_ == me) {
      ++depth_;
      return;
    }
    ++waiting_writers_;
    changed_.wait(guard, [&] { return depth_ == 0 && readers_ == 0; });
    --waiting_writers_;
    writer_ = me;
    depth_ = 1;
  }
  void unlock() {
    std::lock_guard<std::mutex> guard(mutex_);
    if (--depth_ == 0) {
      writer_ = std::thread::id();
      changed_.notify_all();
    }
  }
  void lock_shared() {
    std::unique_lock<std::mutex> guard(mutex_);
    if (depth_ > 0 && writer_ == std::this_thread::get_id()) {
      ++depth_;  // a callback of fit predicting on fit's thread
      return;
    }
    changed_.wait(guard, [&] { return depth_ == 0 && waiting_writers_ == 0; });
    ++readers_;
  }
  void unlock_shared() {
    std::lock_guard<std::mutex> guard(mutex_);
    if (depth_ > 0 && writer_ == std::this_thread::get_id()) {
      if (--depth_ == 0) {
        writer_ = std::thread::id();
        changed_.notify_all();
      }
      return;
    }
    if (--readers_ == 0) changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::thread::id writer_;
  std::size_t depth_ = 0;  // nested exclusive holds of writer_
  std::size_t readers_ = 0;
  std::size_t waiting_writers_ = 0;
};

// Constructor tag: the new model views another's buffers and shares its lock.
struct ShareLock {
  std::shared_ptr<ModelLock> lock;
};

template <typename Model>
struct Guarded {
  template <typename... Args>
  explicit Guarded(Args&&... args) : model(std::forward<Args>(args)...) {}
  template <typename... Args>
  explicit Guarded(ShareLock with, Args&&... args)
      : model(std::forward<Args>(args)...), lock(std::move(with.lock)) {}

  Model model;
  std::shared_ptr<ModelLock> lock = std::make_shared<ModelLock>();
  ModelLock& busy = *lock;
};

// Exclusive use of a model, for every call but predict.
using Lock = std::lock_guard<ModelLock>;
// Shared use, for predict.
using ReadLock = std::shared_lock<ModelLock>;

// The scratch of this thread's predictions (of any model of element type T). It grows to the
// largest batch the thread has predicted and lives as long as the thread.
template <typename T>
InferenceScratch<T>& thread_scratch() {
  thread_local InferenceScratch<T> scratch;
  return scratch;
}

}  // namespace blasnet::python
