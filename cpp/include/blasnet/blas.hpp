#pragma once
// The only door to BLAS. Everything else in blasnet calls these overloads; the single
// source file that includes cblas.h is src/blas.cpp.

#include <cstddef>

#include "blasnet/matrix.hpp"

namespace blasnet {

enum class Transpose { no, yes };

// C (m×n) = alpha · op(A) · op(B) + beta · C, all column-major; op(A) is m×k, op(B) is k×n.
void gemm(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
          float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb,
          float beta, float* c, std::size_t ldc);
void gemm(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
          double alpha, const double* a, std::size_t lda, const double* b, std::size_t ldb,
          double beta, double* c, std::size_t ldc);

// The same product on views, with the shapes checked: throws std::invalid_argument naming
// the three shapes when op(A)·op(B) does not fit C.
template <typename T>
void gemm(Transpose trans_a, Transpose trans_b, ScalarOf<T> alpha, ReadView<T> a, ReadView<T> b,
          ScalarOf<T> beta, MatrixView<T> c);

// Threads of the BLAS library this build links (OpenBLAS).
void set_num_threads(int n);
int get_num_threads();

// Name of the BLAS implementation and its configuration, for bug reports.
const char* blas_config();

}  // namespace blasnet
