// Uses blasnet as an installed package: learns XOR (the note's Figure 4) and exits non-zero
// unless all four corners come out right.

#include <blasnet/blasnet.hpp>
#include <cstdio>
#include <vector>

int main() {
  // X (2×4): the corners as columns; T (1×4): their XOR.
  const std::vector<double> X{0, 0, 0, 1, 1, 0, 1, 1};
  const std::vector<double> T{0, 1, 1, 0};
  const blasnet::MatrixView<const double> x(X.data(), 2, 4);
  const blasnet::MatrixView<const double> t(T.data(), 1, 4);

  blasnet::Network<double> net(
      2, {{8, blasnet::Activation::tanh, ""}, {1, blasnet::Activation::sigmoid, ""}}, 0);
  blasnet::SGD sgd(0.5);
  const std::vector<double> history =
      blasnet::fit(net, x, blasnet::Loss::binary_cross_entropy, blasnet::Targets<double>::dense(t),
                   sgd, blasnet::FitOptions{2000, 4, true, 0});

  const blasnet::MatrixView<const double> y = net.forward(x);
  int correct = 0;
  for (std::size_t j = 0; j < 4; ++j) correct += (y(0, j) > 0.5) == (T[j] > 0.5);
  std::printf("blasnet consumer: XOR loss %.4f, %d/4 correct (%s)\n", history.back(), correct,
              blasnet::blas_config());
  return correct == 4 ? 0 : 1;
}
