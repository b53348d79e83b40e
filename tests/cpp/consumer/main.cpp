// Uses blasnet as an installed package: learns XOR (the note's Figure 4) with a Network, and
// trains a tied-weight autoencoder Graph; exits non-zero unless both learn.

#include <blasnet/blasnet.hpp>
#include <cstdio>
#include <string>
#include <vector>

namespace {

bool learns_xor() {
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
                   sgd, blasnet::FitOptions{2000, 4, true, 0}).losses();

  const blasnet::MatrixView<const double> y = net.forward(x);
  int correct = 0;
  for (std::size_t j = 0; j < 4; ++j) correct += (y(0, j) > 0.5) == (T[j] > 0.5);
  std::printf("blasnet consumer: XOR loss %.4f, %d/4 correct (%s)\n", history.back(), correct,
              blasnet::blas_config());

  // Saved and loaded again, the network predicts the same numbers from another thread's scratch.
  const std::string path = "consumer_xor.safetensors";
  blasnet::save(path, net, &sgd);
  const blasnet::Network<double> loaded = blasnet::load_network<double>(path);
  std::remove(path.c_str());
  std::vector<double> again(4);
  blasnet::InferenceScratch<double> scratch;
  loaded.predict(x, blasnet::MatrixView<double>(again.data(), 1, 4), scratch);
  bool same = true;
  for (std::size_t j = 0; j < 4; ++j) same = same && again[j] == y(0, j);
  std::printf("blasnet consumer: saved, loaded and predicted again: %s\n", same ? "equal" : "DIFFERENT");
  return correct == 4 && same;
}

bool learns_tied_autoencoder() {
  // 4-D points on a 2-D plane, encoded to 2 units and decoded by the encoder's Wᵀ.
  std::vector<float> X;
  for (int j = 0; j < 64; ++j) {
    const float u = float(j % 8) / 8 - 0.5f, v = float(j / 8) / 8 - 0.5f;
    X.insert(X.end(), {u, v, u + v, u - v});
  }
  blasnet::GraphSpec spec;
  spec.inputs = {{"x", 4}};
  spec.nodes = {{"code", {"x"}, 2, blasnet::Activation::identity},
                {"decoded", {"code"}, 4, blasnet::Activation::identity, "code", true}};
  spec.outputs = {{"decoded", blasnet::Loss::mse, 1.0, "x"}};
  blasnet::Graph<float> graph(spec, 0);

  const blasnet::MatrixView<const float> x(X.data(), 4, 64);
  const blasnet::Targets<float> none{};
  blasnet::SGD sgd(0.1);
  const std::vector<double> history =
      blasnet::fit(graph, blasnet::Batch<float>{{&x, 1}, {&none, 1}}, sgd,
                   blasnet::FitOptions{300, 8, true, 0}).losses();
  std::printf("blasnet consumer: tied autoencoder loss %.5f -> %.5f\n", history.front(),
              history.back());
  return history.back() < 0.01 * history.front();
}

}  // namespace

int main() {
  const bool xor_ok = learns_xor();
  const bool autoencoder_ok = learns_tied_autoencoder();
  return xor_ok && autoencoder_ok ? 0 : 1;
}
