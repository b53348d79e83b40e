#include "blasnet/gemm_timer.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>

#include "blasnet/checked_size.hpp"

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
  std::vector<T> a, b, c;
  const auto size = [](std::size_t rows, std::size_t cols, const char* name) {
    return checked_mul(rows, cols, [&] {
      return "time_gemm: " + std::string(name) + " of " + std::to_string(rows) + " × " +
             std::to_string(cols);
    });
  };
  // Every size checked before any is allocated.
  const std::size_t size_a = size(m, k, "A"), size_b = size(k, n, "B"), size_c = size(m, n, "C");
  allocate(a, size_a, "time_gemm: A");
  allocate(b, size_b, "time_gemm: B");
  allocate(c, size_c, "time_gemm: C");
  std::fill(a.begin(), a.end(), T(0.5));
  std::fill(b.begin(), b.end(), T(0.25));
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
