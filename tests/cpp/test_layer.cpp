// layer.hpp: Dense against the note's appendix written as loops over a row-major W
// (n_out×n_in), the layout bind() hands the layer.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "blasnet/layer.hpp"
#include "reference.hpp"

namespace {

using blasnet::Activation;
using blasnet::Dense;
using blasnet_test::Matrix;
using blasnet_test::random_matrix;

template <typename T>
std::vector<T> random_vector(std::size_t size, std::uint64_t seed) {
  return random_matrix<T>(size, 1, seed).data;
}

// A layer n_in = 4 -> n_out = 3 on a batch of 5, its parameters in plain vectors.
template <typename T>
class DenseTest : public ::testing::Test {
 protected:
  static constexpr std::size_t n_in = 4, n_out = 3, batch = 5;
  static constexpr double tol = sizeof(T) == 4 ? 1e-5 : 1e-13;

  DenseTest()
      : W(random_vector<T>(n_out * n_in, 1)),
        b(random_vector<T>(n_out, 2)),
        dW(n_out * n_in, T(0)),
        db(n_out, T(0)),
        layer(n_in, n_out, Activation::tanh, "hidden") {
    layer.bind(W.data(), b.data(), dW.data(), db.data());
  }

  T w(std::size_t i, std::size_t k) const { return W[i * n_in + k]; }  // row-major W_ik

  std::vector<T> W, b, dW, db;
  Dense<T> layer;
};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(DenseTest, Scalars);

TYPED_TEST(DenseTest, Accessors) {
  const Dense<TypeParam>& layer = this->layer;
  EXPECT_EQ(layer.n_in(), 4u);
  EXPECT_EQ(layer.n_out(), 3u);
  EXPECT_EQ(layer.parameter_count(), 3u * 4u + 3u);
  EXPECT_EQ(layer.activation(), Activation::tanh);
  EXPECT_EQ(layer.name(), "hidden");
  // The row-major W read column-major is Wᵀ (n_in×n_out): element (k, i) is W_ik.
  const auto Wt = layer.weights();
  EXPECT_EQ(Wt.rows, 4u);
  EXPECT_EQ(Wt.cols, 3u);
  EXPECT_EQ(Wt(3, 1), this->w(1, 3));
  EXPECT_EQ(layer.bias(), this->b.data());
}

// eq. (1): Z = W·X + b·1ᵀ and eq. (2): Y = tanh(Z), with X (4×5) a view into a taller
// buffer (ld 7) whose padding must not be read.
TYPED_TEST(DenseTest, ForwardMatchesEquationsOneAndTwo) {
  using T = TypeParam;
  const std::size_t n_in = this->n_in, n_out = this->n_out, batch = this->batch;
  Matrix<T> X = random_matrix<T>(n_in, batch, 3, -1, 1, n_in + 3);
  for (std::size_t j = 0; j < batch; ++j) {
    for (std::size_t p = n_in; p < X.ld; ++p) X.data[p + j * X.ld] = std::nan("");
  }
  Matrix<T> Z(n_out, batch), Y(n_out, batch);
  this->layer.forward(X.view(), Z.view(), Y.view());

  for (std::size_t j = 0; j < batch; ++j) {
    for (std::size_t i = 0; i < n_out; ++i) {
      double z = this->b[i];
      for (std::size_t k = 0; k < n_in; ++k) z += double(this->w(i, k)) * double(X(k, j));
      EXPECT_NEAR(Z(i, j), z, this->tol) << i << "," << j;
      EXPECT_NEAR(Y(i, j), std::tanh(z), this->tol) << i << "," << j;
    }
  }
}

// The appendix's backward for a per-sample dZ (3×5):
//   eq. (9): dW = dZ·Xᵀ / n    eq. (8): db = dZ·1 / n    eqs. (6)-(7): dX = Wᵀ·dZ
struct Expected {
  std::vector<double> dW, db;
  Matrix<double> dX;
};

template <typename T>
Expected naive_backward(const std::vector<T>& W, const Matrix<T>& X, const Matrix<T>& dZ) {
  const std::size_t n_in = X.rows, n_out = dZ.rows, n = X.cols;
  Expected e{std::vector<double>(n_out * n_in, 0.0), std::vector<double>(n_out, 0.0),
             Matrix<double>(n_in, n)};
  for (std::size_t i = 0; i < n_out; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      e.db[i] += double(dZ(i, j)) / double(n);
      for (std::size_t k = 0; k < n_in; ++k) {
        e.dW[i * n_in + k] += double(dZ(i, j)) * double(X(k, j)) / double(n);
        e.dX(k, j) += double(W[i * n_in + k]) * double(dZ(i, j));
      }
    }
  }
  return e;
}

TYPED_TEST(DenseTest, BackwardMatchesEquationsSixToNine) {
  using T = TypeParam;
  const Matrix<T> X = random_matrix<T>(this->n_in, this->batch, 4);
  const Matrix<T> dZ = random_matrix<T>(this->n_out, this->batch, 5);
  // Stale values from an earlier batch: without accumulate they must be overwritten.
  std::fill(this->dW.begin(), this->dW.end(), T(7));
  std::fill(this->db.begin(), this->db.end(), T(7));
  Matrix<T> dX(this->n_in, this->batch, 0, T(7));
  blasnet::MatrixView<T> dX_view = dX.view();
  this->layer.backward(X.view(), dZ.view(), &dX_view, false);

  const Expected e = naive_backward(this->W, X, dZ);
  for (std::size_t k = 0; k < e.dW.size(); ++k) EXPECT_NEAR(this->dW[k], e.dW[k], this->tol) << k;
  for (std::size_t i = 0; i < e.db.size(); ++i) EXPECT_NEAR(this->db[i], e.db[i], this->tol) << i;
  for (std::size_t k = 0; k < e.dX.data.size(); ++k) {
    EXPECT_NEAR(dX.data[k], e.dX.data[k], this->tol) << k;
  }
  // The layer's gradient views read the same storage, transposed like W.
  EXPECT_EQ(this->layer.weight_gradient()(3, 1), this->dW[1 * this->n_in + 3]);
  EXPECT_EQ(this->layer.bias_gradient(), this->db.data());
}

// Without dX (the first layer) the parameter gradients are the same.
TYPED_TEST(DenseTest, BackwardWithoutInputGradient) {
  using T = TypeParam;
  const Matrix<T> X = random_matrix<T>(this->n_in, this->batch, 4);
  const Matrix<T> dZ = random_matrix<T>(this->n_out, this->batch, 5);
  this->layer.backward(X.view(), dZ.view(), nullptr, false);
  const Expected e = naive_backward(this->W, X, dZ);
  for (std::size_t k = 0; k < e.dW.size(); ++k) EXPECT_NEAR(this->dW[k], e.dW[k], this->tol) << k;
  for (std::size_t i = 0; i < e.db.size(); ++i) EXPECT_NEAR(this->db[i], e.db[i], this->tol) << i;
}

// A weight used twice gets the sum of both gradients (the note's weight association).
TYPED_TEST(DenseTest, AccumulateAddsToExistingGradients) {
  using T = TypeParam;
  const Matrix<T> X = random_matrix<T>(this->n_in, this->batch, 4);
  const Matrix<T> dZ = random_matrix<T>(this->n_out, this->batch, 5);
  const std::vector<T> dW0 = random_vector<T>(this->dW.size(), 6);
  const std::vector<T> db0 = random_vector<T>(this->db.size(), 7);
  this->dW = dW0;
  this->db = db0;
  this->layer.bind(this->W.data(), this->b.data(), this->dW.data(), this->db.data());
  this->layer.backward(X.view(), dZ.view(), nullptr, true);

  const Expected e = naive_backward(this->W, X, dZ);
  for (std::size_t k = 0; k < e.dW.size(); ++k) {
    EXPECT_NEAR(this->dW[k], double(dW0[k]) + e.dW[k], this->tol) << k;
  }
  for (std::size_t i = 0; i < e.db.size(); ++i) {
    EXPECT_NEAR(this->db[i], double(db0[i]) + e.db[i], this->tol) << i;
  }
}

TEST(Dense, ZeroSizesThrow) {
  EXPECT_THROW(Dense<double>(0, 3, Activation::relu, "a"), std::invalid_argument);
  EXPECT_THROW(Dense<float>(3, 0, Activation::relu, "a"), std::invalid_argument);
}

}  // namespace
