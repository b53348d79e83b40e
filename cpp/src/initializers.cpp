#include "blasnet/initializers.hpp"

#include <cmath>

namespace blasnet {

Init default_init(Activation a) {
  return a == Activation::relu ? Init::he_uniform : Init::glorot_uniform;
}

template <typename T>
void initialize_weights(Init init, Span<T> W, std::size_t fan_in, std::size_t fan_out, Rng& rng) {
  const double limit = init == Init::he_uniform ? std::sqrt(6.0 / double(fan_in))
                                                : std::sqrt(6.0 / double(fan_in + fan_out));
  for (T& w : W) w = static_cast<T>(rng.uniform(-limit, limit));
}

template void initialize_weights<float>(Init, Span<float>, std::size_t, std::size_t, Rng&);
template void initialize_weights<double>(Init, Span<double>, std::size_t, std::size_t, Rng&);

}  // namespace blasnet
