// training.hpp, network.hpp and graph.hpp promise a steady state without heap traffic: once
// the workspace has grown to a batch size, a step allocates nothing. This executable replaces
// the global operator new with a counting one to hold them to it.

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

#include "blasnet/training.hpp"
#include "reference.hpp"

namespace {

std::atomic<long> allocations{0};

void* counted_alloc(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}

}  // namespace

// libstdc++'s array and nothrow forms forward to these.
void* operator new(std::size_t size) { return counted_alloc(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using blasnet::Activation;
using blasnet::Batch;
using blasnet::Graph;
using blasnet::GraphSpec;
using blasnet::Loss;
using blasnet::Network;
using blasnet::Targets;
using blasnet_test::Matrix;

// Heap allocations made by f.
template <typename F>
long count_allocations(F f) {
  const long before = allocations.load();
  f();
  return allocations.load() - before;
}

// The counter must see the library's own allocations, or every test below passes vacuously.
TEST(Allocations, CounterSeesTheLibrary) {
  EXPECT_GE(count_allocations([] { Network<float> net(2, {{3, Activation::tanh, ""}}, 0); }), 2)
      << "parameter and gradient buffers";
}

// An MNIST-shaped net, 784 -> 64 (relu) -> 10 (softmax), on batches of 32 with labels.
class SteadyState : public ::testing::Test {
 protected:
  static constexpr std::size_t batch = 32;

  SteadyState()
      : net(784, {{64, Activation::relu, ""}, {10, Activation::softmax, ""}}, 0),
        X(blasnet_test::random_matrix<float>(784, batch, 1, 0, 1)),
        labels(batch),
        targets(Targets<float>::classes(labels.data(), batch)),
        sgd(0.01) {
    for (std::size_t j = 0; j < batch; ++j) labels[j] = static_cast<std::int64_t>(j % 10);
    for (int i = 0; i < 3; ++i) {
      blasnet::train_step(net, X.cview(), Loss::softmax_cross_entropy, targets, sgd);
    }
  }

  Network<float> net;
  Matrix<float> X;
  std::vector<std::int64_t> labels;
  Targets<float> targets;
  blasnet::SGD sgd;
};

// The loop fit runs per batch (checks done once up front): backward without checks and the
// optimizer step.
TEST_F(SteadyState, UncheckedBackwardAndStepAllocateNothing) {
  const long n = count_allocations([&] {
    for (int i = 0; i < 5; ++i) {
      net.backward(X.view(), Loss::softmax_cross_entropy, targets, blasnet::Checks::off);
      sgd.step(net.parameters(), {net.gradients().data, net.gradients().size});
    }
  });
  EXPECT_EQ(n, 0);
}

// The public one-step call, with its argument checks, after warm-up.
TEST_F(SteadyState, TrainStepAllocatesNothing) {
  const long n = count_allocations([&] {
    for (int i = 0; i < 5; ++i) {
      blasnet::train_step(net, X.cview(), Loss::softmax_cross_entropy, targets, sgd);
    }
  });
  EXPECT_EQ(n, 0) << "allocations in 5 train_step calls";
}

// A smaller batch fits in the workspace already grown: no allocation either.
TEST_F(SteadyState, SmallerBatchReusesTheWorkspace) {
  const long n = count_allocations([&] {
    net.backward(X.view().columns(0, 7), Loss::softmax_cross_entropy, targets.columns(0, 7),
                 blasnet::Checks::off);
    net.forward(X.view().columns(0, 5), blasnet::Checks::off);
  });
  EXPECT_EQ(n, 0);
}

// fit allocates its bookkeeping once per call, not once per batch or epoch: 10 epochs of 4
// batches cost what 1 epoch costs.
TEST_F(SteadyState, FitAllocationsDoNotGrowWithSteps) {
  const Matrix<float> data = blasnet_test::random_matrix<float>(784, 4 * batch, 2, 0, 1);
  std::vector<std::int64_t> all(4 * batch);
  for (std::size_t j = 0; j < all.size(); ++j) all[j] = static_cast<std::int64_t>(j % 10);
  const Targets<float> t = Targets<float>::classes(all.data(), all.size());
  const auto run = [&](std::size_t epochs) {
    return count_allocations([&] {
      blasnet::fit(net, data.view(), Loss::softmax_cross_entropy, t, sgd,
                   blasnet::FitOptions{epochs, batch, true, 0});
    });
  };
  const long one = run(1);
  EXPECT_EQ(run(10), one);
}

// A graph with two inputs, fan-out, an output that another node reads, a tied decoder (so each
// SGD step takes the unfolded path) and an output reconstructing an input, on batches of 32.
// Its inputs have descriptive names, as a user would give them.
class GraphSteadyState : public ::testing::Test {
 protected:
  static constexpr std::size_t batch = 32;

  static GraphSpec spec() {
    GraphSpec s;
    s.inputs = {{"observations", 20}, {"context_features", 6}};
    s.nodes = {{"encoder", {"observations"}, 16, Activation::tanh, "", false},
               {"mixer", {"encoder", "context_features"}, 12, Activation::sigmoid, "", false},
               {"decoder", {"encoder"}, 20, Activation::identity, "encoder", true},
               {"classes", {"mixer", "encoder"}, 4, Activation::softmax, "", false}};
    s.outputs = {{"decoder", Loss::mse, 0.5, "observations"},
                 {"mixer", Loss::binary_cross_entropy, 1.0, ""},
                 {"classes", Loss::softmax_cross_entropy, 1.0, ""}};
    return s;
  }

  GraphSteadyState()
      : graph(spec(), 0),
        X(blasnet_test::random_matrix<float>(20, batch, 1)),
        C(blasnet_test::random_matrix<float>(6, batch, 2)),
        M(blasnet_test::random_matrix<float>(12, batch, 3, 0, 1)),
        labels(batch),
        inputs{X.cview(), C.cview()},
        targets{Targets<float>{}, Targets<float>::dense(M.cview()),
                Targets<float>::classes(labels.data(), batch)},
        sgd(0.01) {
    for (std::size_t j = 0; j < batch; ++j) labels[j] = static_cast<std::int64_t>(j % 4);
    for (int i = 0; i < 3; ++i) blasnet::train_step(graph, data(), sgd);
  }

  Batch<float> data() const {
    return {{inputs.data(), inputs.size()}, {targets.data(), targets.size()}};
  }

  Graph<float> graph;
  Matrix<float> X, C, M;
  std::vector<std::int64_t> labels;
  std::vector<blasnet::MatrixView<const float>> inputs;
  std::vector<Targets<float>> targets;
  blasnet::SGD sgd;
};

TEST_F(GraphSteadyState, UncheckedBackwardAndSgdStepAllocateNothing) {
  ASSERT_TRUE(graph.plan().shares_parameters);
  const Batch<float> b = data();
  const long n = count_allocations([&] {
    for (int i = 0; i < 5; ++i) {
      graph.backward(b, blasnet::Checks::off);
      graph.sgd_step(b, 0.01f, blasnet::Checks::off);
    }
  });
  EXPECT_EQ(n, 0);
}

// The public calls with their argument checks: checks that pass allocate nothing either. The
// input names are longer than std::string's small buffer, so an error message built before
// it is needed shows up here.
TEST_F(GraphSteadyState, CheckedStepsAllocateNothing) {
  const Batch<float> b = data();
  const long n = count_allocations([&] {
    for (int i = 0; i < 5; ++i) {
      blasnet::train_step(graph, b, sgd);
      graph.backward(b);
      graph.forward(b.inputs);
    }
  });
  EXPECT_EQ(n, 0) << "allocations in 5 checked train_step, backward and forward calls";
}

// predict into the caller's matrices: once its scratch has grown, the checked call allocates
// nothing, for the same batch or a smaller one.
TEST_F(GraphSteadyState, PredictAllocatesNothing) {
  Matrix<float> D(20, batch), M_(12, batch), K(4, batch);
  const std::vector<blasnet::MatrixView<float>> outputs{D.view(), M_.view(), K.view()};
  blasnet::InferenceScratch<float> scratch;
  const Graph<float>& g = graph;
  g.predict({inputs.data(), inputs.size()}, {outputs.data(), outputs.size()}, scratch);
  const std::vector<blasnet::MatrixView<const float>> few{X.cview().columns(0, 5),
                                                          C.cview().columns(0, 5)};
  const std::vector<blasnet::MatrixView<float>> few_outputs{
      D.view().columns(0, 5), M_.view().columns(0, 5), K.view().columns(0, 5)};
  const long n = count_allocations([&] {
    for (int i = 0; i < 5; ++i) {
      g.predict({inputs.data(), inputs.size()}, {outputs.data(), outputs.size()}, scratch);
      g.predict({few.data(), few.size()}, {few_outputs.data(), few_outputs.size()}, scratch);
    }
  });
  EXPECT_EQ(n, 0) << "allocations in 10 checked predict calls";
}

}  // namespace
