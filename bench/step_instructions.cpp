// The C++ training step of the benchmark's configurations xor, digits, mnist and mnist-adam, for
// counting its instructions under callgrind: a build before a change against one after, free
// of the machine's noise. Build it against an installed blasnet (its include/ and lib/) and
// the OpenBLAS that blasnet was built with (-lopenblas for the system's; the Python package's
// is scipy-openblas32's libscipy_openblas), then count only what train_step runs:
//
//   g++ -O2 -std=c++17 -I PREFIX/include bench/step_instructions.cpp PREFIX/lib/libblasnet.a
//       -lopenblas -o step
//   valgrind --tool=callgrind --toggle-collect='*train_step*' ./step digits float32 300
//
// Each configuration as bench/README.md describes it: its layers, activations and loss, one
// batch of seeded data (class labels for softmax), SGD at lr 0.01 (the folded update) or Adam
// at lr 0.001, one BLAS thread. Prints the BLAS build (OpenBLAS names the kernel it chose in it).

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "blasnet/blas.hpp"
#include "blasnet/training.hpp"

namespace {

using namespace blasnet;

template <typename T>
int run(const std::string& config, std::size_t steps) {
  std::vector<std::size_t> sizes;
  Activation hidden = Activation::relu, output = Activation::softmax;
  Loss loss = Loss::softmax_cross_entropy;
  std::size_t batch = 0;
  if (config == "xor") {
    sizes = {2, 2, 1};
    hidden = output = Activation::sigmoid;
    loss = Loss::binary_cross_entropy;
    batch = 4;
  } else if (config == "digits") {
    sizes = {64, 64, 10};
    batch = 32;
  } else if (config == "mnist" || config == "mnist-adam") {
    sizes = {784, 256, 256, 10};
    batch = 128;
  } else {
    std::fprintf(stderr, "unknown configuration %s (xor, digits, mnist, mnist-adam)\n",
                 config.c_str());
    return 2;
  }
  std::vector<DenseSpec> layers;
  for (std::size_t k = 1; k < sizes.size(); ++k) {
    layers.push_back({sizes[k], k + 1 == sizes.size() ? output : hidden, ""});
  }
  Network<T> net(sizes[0], layers, 0);
  std::mt19937_64 rng(0);
  std::normal_distribution<double> normal;
  std::vector<T> X(sizes[0] * batch), Y(sizes.back() * batch);
  for (T& x : X) x = static_cast<T>(normal(rng));
  std::vector<std::int64_t> labels(batch);
  for (std::size_t j = 0; j < batch; ++j) {
    labels[j] = static_cast<std::int64_t>(rng() % sizes.back());
    Y[j] = static_cast<T>(rng() % 2);
  }
  const MatrixView<const T> x{X.data(), sizes[0], batch};
  const Targets<T> targets = loss == Loss::softmax_cross_entropy
                                 ? Targets<T>::classes(labels.data(), batch)
                                 : Targets<T>::dense({Y.data(), sizes.back(), batch});
  SGD sgd(0.01);
  Adam adam(1e-3);
  Optimizer& optimizer = config == "mnist-adam" ? static_cast<Optimizer&>(adam) : sgd;
  double J = 0;
  for (std::size_t s = 0; s < steps; ++s) J = train_step(net, x, loss, targets, optimizer);
  std::printf("%s %s: %zu steps, last loss %.6g; %s\n", config.c_str(),
              sizeof(T) == 4 ? "float32" : "float64", steps, J, blas_config());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s xor|digits|mnist|mnist-adam float32|float64 STEPS\n",
                 argv[0]);
    return 2;
  }
  blasnet::set_num_threads(1);
  const std::string dtype = argv[2];
  const std::size_t steps = std::strtoull(argv[3], nullptr, 10);
  return dtype == "float32" ? run<float>(argv[1], steps) : run<double>(argv[1], steps);
}
