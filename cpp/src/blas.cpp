// The one translation unit that includes cblas.h.
//
// The wheel links the OpenBLAS of the scipy-openblas32 wheel, whose header declares only
// prefixed names (scipy_cblas_sgemm, ...); its build defines BLAS_SYMBOL_PREFIX=scipy_.
// A plain CMake build links the system OpenBLAS, whose names carry no prefix.

#include "blasnet/blas.hpp"

#include <cblas.h>

#include <climits>
#include <stdexcept>
#include <string>

#ifdef BLAS_SYMBOL_PREFIX
#define BLASNET_CONCAT_(a, b) a##b
#define BLASNET_CONCAT(a, b) BLASNET_CONCAT_(a, b)
#define BLASNET_BLAS(name) BLASNET_CONCAT(BLAS_SYMBOL_PREFIX, name)
#else
#define BLASNET_BLAS(name) name
#endif

namespace blasnet {
namespace {

CBLAS_TRANSPOSE to_cblas(Transpose t) { return t == Transpose::yes ? CblasTrans : CblasNoTrans; }

// The LP64 interface takes 32-bit sizes; a larger matrix must fail loudly, not wrap around.
blasint to_blasint(std::size_t v) {
  if (v > static_cast<std::size_t>(INT_MAX)) {
    throw std::invalid_argument("gemm: dimension " + std::to_string(v) +
                                " exceeds the 32-bit range of this BLAS");
  }
  return static_cast<blasint>(v);
}

// BLAS rejects a leading dimension of 0 even for empty matrices.
blasint to_ld(std::size_t v) { return to_blasint(v == 0 ? 1 : v); }

// The routines of one precision, so that the dispatch below is written once.
struct SingleRoutines {
  static constexpr auto gemm = &BLASNET_BLAS(cblas_sgemm);
  static constexpr auto gemv = &BLASNET_BLAS(cblas_sgemv);
};
struct DoubleRoutines {
  static constexpr auto gemm = &BLASNET_BLAS(cblas_dgemm);
  static constexpr auto gemv = &BLASNET_BLAS(cblas_dgemv);
};

// A product with a single column (one sample) or a single row is a matrix-vector product.
// gemm would still pack the whole matrix for it, which made a one-sample forward through a
// 64×64 layer cost ~1.7 µs instead of ~0.1 µs; gemv reads it once. beta = 0 promises that C is
// not read, so C is cleared first and the product added to it.
template <typename Routines, typename T>
void product(Transpose ta, Transpose tb, std::size_t m, std::size_t n, std::size_t k, T alpha,
             const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c,
             std::size_t ldc) {
  const bool no_a = ta == Transpose::no;
  const bool no_b = tb == Transpose::no;
  if (k > 0 && (n == 1 || m == 1)) {
    const std::size_t c_stride = n == 1 ? 1 : ldc;
    const std::size_t length = n == 1 ? m : n;
    if (beta == T(0)) {
      for (std::size_t i = 0; i < length; ++i) c[i * c_stride] = T(0);
      beta = T(1);
    }
    if (n == 1) {
      // C (m×1) = op(A) (m×k) · op(B), op(B) a k-vector
      Routines::gemv(CblasColMajor, to_cblas(ta), to_blasint(no_a ? m : k),
                     to_blasint(no_a ? k : m), alpha, a, to_ld(lda), b,
                     to_blasint(no_b ? 1 : ldb), beta, c, 1);
    } else {
      // Cᵀ (n×1) = op(B)ᵀ (n×k) · op(A)ᵀ, op(A) a k-vector stored as a row of A or a column
      Routines::gemv(CblasColMajor, no_b ? CblasTrans : CblasNoTrans, to_blasint(no_b ? k : n),
                     to_blasint(no_b ? n : k), alpha, b, to_ld(ldb), a,
                     to_blasint(no_a ? lda : 1), beta, c, to_blasint(ldc));
    }
    return;
  }
  Routines::gemm(CblasColMajor, to_cblas(ta), to_cblas(tb), to_blasint(m), to_blasint(n),
                 to_blasint(k), alpha, a, to_ld(lda), b, to_ld(ldb), beta, c, to_ld(ldc));
}

}  // namespace

void gemm(Transpose ta, Transpose tb, std::size_t m, std::size_t n, std::size_t k, float alpha,
          const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
          std::size_t ldc) {
  product<SingleRoutines>(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(Transpose ta, Transpose tb, std::size_t m, std::size_t n, std::size_t k, double alpha,
          const double* a, std::size_t lda, const double* b, std::size_t ldb, double beta,
          double* c, std::size_t ldc) {
  product<DoubleRoutines>(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <typename T>
void gemm(Transpose ta, Transpose tb, ScalarOf<T> alpha, ReadView<T> a, ReadView<T> b,
          ScalarOf<T> beta, MatrixView<T> c) {
  const std::size_t m = ta == Transpose::yes ? a.cols : a.rows;
  const std::size_t k = ta == Transpose::yes ? a.rows : a.cols;
  const std::size_t kb = tb == Transpose::yes ? b.cols : b.rows;
  const std::size_t n = tb == Transpose::yes ? b.rows : b.cols;
  if (k != kb || m != c.rows || n != c.cols) {
    throw std::invalid_argument("gemm: op(A) " + std::to_string(m) + "×" + std::to_string(k) +
                                " times op(B) " + std::to_string(kb) + "×" + std::to_string(n) +
                                " does not give C " + shape_string(c));
  }
  gemm(ta, tb, m, n, k, alpha, a.data, a.ld, b.data, b.ld, beta, c.data, c.ld);
}

template void gemm<float>(Transpose, Transpose, float, MatrixView<const float>,
                          MatrixView<const float>, float, MatrixView<float>);
template void gemm<double>(Transpose, Transpose, double, MatrixView<const double>,
                           MatrixView<const double>, double, MatrixView<double>);

void set_num_threads(int n) {
  if (n < 1) {
    throw std::invalid_argument("set_num_threads: need at least 1 thread, got " +
                                std::to_string(n));
  }
  BLASNET_BLAS(openblas_set_num_threads)(n);
}

int get_num_threads() { return BLASNET_BLAS(openblas_get_num_threads)(); }

const char* blas_config() { return BLASNET_BLAS(openblas_get_config)(); }

}  // namespace blasnet
