#pragma once
// Starting weights. Uniform forms only, so that they come from Rng alone and are identical on
// every platform.

#include <cstddef>

#include "blasnet/activations.hpp"
#include "blasnet/matrix.hpp"
#include "blasnet/random.hpp"

namespace blasnet {

enum class Init {
  glorot_uniform,  // U(−a, a), a = √(6 / (fan_in + fan_out))   (Glorot & Bengio, 2010)
  he_uniform,      // U(−a, a), a = √(6 / fan_in)               (He et al., 2015)
};

// He for relu units, whose half-zero outputs halve the variance; Glorot for the rest.
Init default_init(Activation a);

// Fills W (fan_out × fan_in values) from rng.
template <typename T>
void initialize_weights(Init init, Span<T> W, std::size_t fan_in, std::size_t fan_out, Rng& rng);

}  // namespace blasnet
