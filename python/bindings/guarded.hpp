#pragma once
// A model as Python holds it. Its calls run without the GIL, and one model's workspace serves
// one call at a time: the lock makes concurrent calls from Python threads wait instead of
// overwriting each other's activations. It is recursive because fit calls back into Python
// between epochs, holding it, and a callback may use the model on that same thread (the next
// epoch recomputes every activation it needs).

#include <mutex>
#include <utility>

namespace blasnet::python {

template <typename Model>
struct Guarded {
  template <typename... Args>
  explicit Guarded(Args&&... args) : model(std::forward<Args>(args)...) {}

  Model model;
  std::recursive_mutex busy;
};

using Lock = std::lock_guard<std::recursive_mutex>;

}  // namespace blasnet::python
