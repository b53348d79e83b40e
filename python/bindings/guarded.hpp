#pragma once
// A model as Python holds it. Its calls run without the GIL, and one model's workspace serves
// one call at a time: the lock makes concurrent calls from Python threads wait instead of
// overwriting each other's activations.


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

}  // namespace blasnet::python
