#pragma once
// Times gemm calls alone, for the benchmarks' floor: a training step can be no faster than the
// sum of its products.

#include <cstddef>
#include <vector>

#include "blasnet/blas.hpp"

namespace blasnet {

// Seconds taken by each of `repeats` calls of C (m×n) = op(A)·op(B) (beta = 0) on fixed,
// already-touched operands, after one untimed warm-up call. Throws std::invalid_argument for
// a zero size or repeat count.
template <typename T>
std::vector<double> time_gemm(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n,
                              std::size_t k, std::size_t repeats);

}  // namespace blasnet
