// blas.hpp: the gemm overloads against a triple loop, the shape check, the thread setting.

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <tuple>

#include "blasnet/blas.hpp"
#include "reference.hpp"

namespace {

using blasnet::Transpose;
using blasnet_test::Matrix;
using blasnet_test::random_matrix;

template <typename T>
class GemmTest : public ::testing::Test {
 protected:
  static constexpr double tol = sizeof(T) == 4 ? 1e-5 : 1e-13;
};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(GemmTest, Scalars);

// op(A) (m×k) · op(B) (k×n) -> C (m×n) with every operand a view into a taller buffer, so a
// mix-up of rows and leading dimension cannot cancel out. The padding rows of C must survive.
template <typename T>
void check_against_loop(Transpose ta, Transpose tb, bool use_views, double tol,
                        std::size_t m = 5, std::size_t n = 4, std::size_t k = 3) {
  const bool at = ta == Transpose::yes, bt = tb == Transpose::yes;
  const Matrix<T> A = random_matrix<T>(at ? k : m, at ? m : k, 1, -1, 1, (at ? k : m) + 2);
  const Matrix<T> B = random_matrix<T>(bt ? n : k, bt ? k : n, 2, -1, 1, (bt ? n : k) + 3);
  Matrix<T> C = random_matrix<T>(m, n, 3, -1, 1, m + 1);
  Matrix<T> expected = C;
  const T alpha = T(1.5), beta = T(0.5);

  blasnet_test::naive_gemm(ta, tb, alpha, A, B, beta, expected);
  if (use_views) {
    blasnet::gemm<T>(ta, tb, alpha, A.view(), B.view(), beta, C.view());
  } else {
    blasnet::gemm(ta, tb, m, n, k, alpha, A.data.data(), A.ld, B.data.data(), B.ld, beta,
                  C.data.data(), C.ld);
  }
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t i = 0; i < m; ++i) EXPECT_NEAR(C(i, j), expected(i, j), tol) << i << "," << j;
    EXPECT_EQ(C.data[m + j * C.ld], expected.data[m + j * C.ld]) << "padding of column " << j;
  }
}

TYPED_TEST(GemmTest, PointerOverloadMatchesLoopForAllTransposes) {
  for (Transpose ta : {Transpose::no, Transpose::yes}) {
    for (Transpose tb : {Transpose::no, Transpose::yes}) {
      SCOPED_TRACE(std::string("trans_a=") + (ta == Transpose::yes ? "T" : "N") +
                   " trans_b=" + (tb == Transpose::yes ? "T" : "N"));
      check_against_loop<TypeParam>(ta, tb, false, TestFixture::tol);
    }
  }
}

TYPED_TEST(GemmTest, ViewOverloadMatchesLoopForAllTransposes) {
  for (Transpose ta : {Transpose::no, Transpose::yes}) {
    for (Transpose tb : {Transpose::no, Transpose::yes}) {
      SCOPED_TRACE(std::string("trans_a=") + (ta == Transpose::yes ? "T" : "N") +
                   " trans_b=" + (tb == Transpose::yes ? "T" : "N"));
      check_against_loop<TypeParam>(ta, tb, true, TestFixture::tol);
    }
  }
}

// One column (a single sample) or one row goes through gemv instead of gemm: every stride of
// the vector cases (a row of A or of C, a transposed B) is checked against the loop.
TYPED_TEST(GemmTest, VectorShapesMatchLoop) {
  for (const auto& [m, n, k] : {std::tuple{5, 1, 3}, std::tuple{1, 4, 3}, std::tuple{1, 1, 3}}) {
    for (Transpose ta : {Transpose::no, Transpose::yes}) {
      for (Transpose tb : {Transpose::no, Transpose::yes}) {
        for (bool views : {false, true}) {
          SCOPED_TRACE(std::to_string(m) + "×" + std::to_string(n) + "×" + std::to_string(k) +
                       (ta == Transpose::yes ? " T" : " N") + (tb == Transpose::yes ? "T" : "N"));
          check_against_loop<TypeParam>(ta, tb, views, TestFixture::tol, m, n, k);
        }
      }
    }
  }
}

// The matrix-vector path keeps gemm's promise for beta = 0 too: C's old NaN is not read.
TYPED_TEST(GemmTest, VectorBetaZeroOverwritesNaN) {
  using T = TypeParam;
  const Matrix<T> A = random_matrix<T>(3, 4, 6);
  const Matrix<T> x = random_matrix<T>(3, 1, 7);
  Matrix<T> y(4, 1, 0, std::nan(""));
  Matrix<T> expected(4, 1);
  blasnet_test::naive_gemm(Transpose::yes, Transpose::no, T(1), A, x, T(0), expected);
  blasnet::gemm<T>(Transpose::yes, Transpose::no, T(1), A.view(), x.view(), T(0), y.view());
  for (std::size_t i = 0; i < 4; ++i) EXPECT_NEAR(y(i, 0), expected(i, 0), TestFixture::tol);
}

// beta = 0 must ignore what C held, NaN included (BLAS reads C only when beta ≠ 0).
TYPED_TEST(GemmTest, BetaZeroOverwritesNaN) {
  using T = TypeParam;
  const Matrix<T> A = random_matrix<T>(2, 3, 4);
  const Matrix<T> B = random_matrix<T>(3, 2, 5);
  Matrix<T> C(2, 2, 0, std::nan(""));
  Matrix<T> expected(2, 2);
  blasnet_test::naive_gemm(Transpose::no, Transpose::no, T(1), A, B, T(0), expected);
  blasnet::gemm<T>(Transpose::no, Transpose::no, T(1), A.view(), B.view(), T(0), C.view());
  for (std::size_t j = 0; j < 2; ++j) {
    for (std::size_t i = 0; i < 2; ++i) EXPECT_NEAR(C(i, j), expected(i, j), TestFixture::tol);
  }
}

TYPED_TEST(GemmTest, ShapeMismatchThrowsNamingShapes) {
  using T = TypeParam;
  const Matrix<T> A(2, 3), B(4, 5);  // 2×3 · 4×5: inner sizes differ
  Matrix<T> C(2, 5);
  try {
    blasnet::gemm<T>(Transpose::no, Transpose::no, T(1), A.view(), B.view(), T(0), C.view());
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("2×3"), std::string::npos) << what;
    EXPECT_NE(what.find("4×5"), std::string::npos) << what;
    EXPECT_NE(what.find("2×5"), std::string::npos) << what;
  }
  // Inner sizes fit, C does not: 2×3 · 3×4 is 2×4, not 2×5.
  const Matrix<T> B2(3, 4);
  EXPECT_THROW(
      blasnet::gemm<T>(Transpose::no, Transpose::no, T(1), A.view(), B2.view(), T(0), C.view()),
      std::invalid_argument);
  // The transpose flag changes which sizes must agree: Aᵀ is 3×2, which cannot meet B2 (3×4).
  Matrix<T> C2(3, 4);
  EXPECT_THROW(
      blasnet::gemm<T>(Transpose::yes, Transpose::no, T(1), A.view(), B2.view(), T(0), C2.view()),
      std::invalid_argument);
}

TEST(BlasThreads, NonPositiveCountThrows) {
  EXPECT_THROW(blasnet::set_num_threads(0), std::invalid_argument);
  EXPECT_THROW(blasnet::set_num_threads(-2), std::invalid_argument);
}

TEST(BlasThreads, SetAndGetRoundTrip) {
  const int original = blasnet::get_num_threads();
  ASSERT_GE(original, 1);
  blasnet::set_num_threads(1);
  EXPECT_EQ(blasnet::get_num_threads(), 1);
  blasnet::set_num_threads(2);
  EXPECT_EQ(blasnet::get_num_threads(), 2);
  blasnet::set_num_threads(original);
  EXPECT_EQ(blasnet::get_num_threads(), original);
}

TEST(BlasConfig, NamesTheLibrary) {
  const std::string config = blasnet::blas_config();
  EXPECT_NE(config.find("OpenBLAS"), std::string::npos) << config;
}

}  // namespace
