#include "blasnet/gemm_timer.hpp"

#include <chrono>
#include <stdexcept>
#include <string>

namespace blasnet {

template <typename T>
std::vector<double> time_gemm(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n,
                              std::size_t k, std::size_t repeats) {
  if (m == 0 || n == 0 || k == 0 || repeats == 0) {
    throw std::invalid_argument("time_gemm: sizes and repeats must be positive, got m=" +
                                std::to_string(m) + " n=" + std::to_string(n) + " k=" +
                                std::to_string(k) + " repeats=" + std::to_string(repeats));
  }
  // op(A) is m×k and op(B) k×n; stored column-major with the shapes the flags imply.
  const std::size_t lda = trans_a == Transpose::yes ? k : m;
  const std::size_t ldb = trans_b == Transpose::yes ? n : k;
  std::vector<T> a(m * k, T(0.5)), b(k * n, T(0.25)), c(m * n, T(0));
  const auto call = [&] {
    gemm(trans_a, trans_b, m, n, k, T(1), a.data(), lda, b.data(), ldb, T(0), c.data(), m);
  };
  call();
  std::vector<double> seconds;
  seconds.reserve(repeats);
  for (std::size_t r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    call();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return seconds;
}

template std::vector<double> time_gemm<float>(Transpose, Transpose, std::size_t, std::size_t,
                                              std::size_t, std::size_t);
template std::vector<double> time_gemm<double>(Transpose, Transpose, std::size_t, std::size_t,
                                               std::size_t, std::size_t);

}  // namespace blasnet
