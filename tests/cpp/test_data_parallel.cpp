// training.hpp's data-parallel fit: RowShard's parts, and fit over several "processes" — here
// threads, each with its own copy of the network and optimizer, whose TrainingHook sums over
// shared memory as an MPI application's would with MPI_Allreduce — ends on every rank with the
// single process's weights (to rounding) and records, and refuses a NaN on one rank on all.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "blasnet/training.hpp"
#include "reference.hpp"

namespace {

using blasnet::Activation;
using blasnet::Adam;
using blasnet::FitOptions;
using blasnet::FitResult;
using blasnet::Loss;
using blasnet::Network;
using blasnet::RowShard;
using blasnet::SGD;
using blasnet::Span;
using blasnet::Targets;
using blasnet::TrainingDiverged;
using blasnet::TrainingHook;

// An in-place sum over `size` threads: each adds its values into a shared total, waits for the
// others, then copies the total back, like MPI_Allreduce(MPI_IN_PLACE, ..., MPI_SUM).
class SharedSum {
 public:
  explicit SharedSum(std::size_t size) : size_(size) {}

  template <typename T>
  void sum(Span<T> values) {
    std::unique_lock<std::mutex> lock(mutex_);
    const std::size_t round = round_;
    if (arrived_ == 0) total_.assign(values.size, 0.0);
    // Added in rank order would be MPI's choice too; any fixed order gives every rank the
    // same total, which is what the test needs.
    for (std::size_t i = 0; i < values.size; ++i) total_[i] += double(values[i]);
    if (++arrived_ == size_) {
      result_ = total_;
      arrived_ = 0;
      ++round_;
      done_.notify_all();
    } else {
      done_.wait(lock, [&] { return round_ != round; });
    }
    for (std::size_t i = 0; i < values.size; ++i) values[i] = static_cast<T>(result_[i]);
  }

 private:
  std::size_t size_;
  std::mutex mutex_;
  std::condition_variable done_;
  std::size_t arrived_ = 0, round_ = 0;
  std::vector<double> total_, result_;
};

class SumHook : public TrainingHook {
 public:
  explicit SumHook(SharedSum& sum) : sum_(sum) {}
  void gradient(Span<float> g) override { sum_.sum(g), ++gradients; }
  void gradient(Span<double> g) override { sum_.sum(g), ++gradients; }
  void epoch_sums(Span<double> sums) override { sum_.sum(sums); }
  std::size_t gradients = 0;

 private:
  SharedSum& sum_;
};

struct Data {
  std::vector<double> X, T;
  std::size_t n;
};

Data regression(std::size_t n) {
  Data d{std::vector<double>(3 * n), std::vector<double>(n), n};
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t i = 0; i < 3; ++i) d.X[3 * j + i] = std::sin(double(7 * j + 3 * i + 1));
    d.T[j] = d.X[3 * j] - 2 * d.X[3 * j + 1] + 0.5 * d.X[3 * j + 2] * d.X[3 * j];
  }
  return d;
}

Network<double> small_net() {
  return Network<double>(3, {{8, Activation::tanh, "h"}, {1, Activation::identity, "y"}}, 11);
}

// fit of a fresh network on `ranks` threads (0: no shard, no hook), each with optimizer
// make_optimizer(); the parameters and records of every rank.
template <typename MakeOptimizer>
std::vector<std::pair<std::vector<double>, FitResult>> train(std::size_t ranks, const Data& d,
                                                             FitOptions options,
                                                             MakeOptimizer make_optimizer) {
  const std::size_t processes = std::max<std::size_t>(ranks, 1);
  std::vector<std::pair<std::vector<double>, FitResult>> out(processes);
  SharedSum sum(processes);
  std::vector<std::thread> threads;
  for (std::size_t r = 0; r < processes; ++r) {
    threads.emplace_back([&, r] {
      Network<double> net = small_net();
      auto optimizer = make_optimizer();
      SumHook hook(sum);
      FitOptions mine = options;
      if (ranks > 0) {
        mine.shard = RowShard{r, processes};
        mine.hook = &hook;
      }
      const blasnet::MatrixView<const double> X{d.X.data(), 3, d.n};
      const Targets<double> T = Targets<double>::dense({d.T.data(), 1, d.n});
      out[r].second = blasnet::fit(net, X, Loss::mse, T, optimizer, mine);
      const Span<double> p = net.parameters();
      out[r].first.assign(p.begin(), p.end());
    });
  }
  for (std::thread& t : threads) t.join();
  return out;
}

void expect_close(const std::vector<double>& a, const std::vector<double>& b, double rel) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_NEAR(a[i], b[i], rel * std::max(1.0, std::abs(b[i]))) << "parameter " << i;
  }
}

TEST(RowShard, PartsAreContiguousNearEqualAndCoverTheBatch) {
  for (const std::size_t size : {1, 2, 3, 4}) {
    for (const std::size_t count : {1, 2, 3, 10, 103}) {
      std::size_t next = 0, largest = 0, smallest = count;
      for (std::size_t r = 0; r < size; ++r) {
        const auto [first, n] = RowShard{r, size}.part(count);
        EXPECT_EQ(first, next);
        next += n;
        largest = std::max(largest, n), smallest = std::min(smallest, n);
      }
      EXPECT_EQ(next, count);
      EXPECT_LE(largest - smallest, 1u);
    }
  }
  const RowShard second{1, 2};
  EXPECT_EQ(second.part(1), std::make_pair(std::size_t(1), std::size_t(0)));
}

TEST(DataParallelFit, EqualsOneProcessForSgdWithMomentumAndForAdam) {
  const Data d = regression(101);  // batches of 16 leave a last one of 5
  FitOptions options(4, 16, true, 3);
  const auto alone_sgd = train(0, d, options, [] { return SGD(0.05, 0.9); });
  const auto alone_adam = train(0, d, options, [] { return Adam(0.01); });
  for (const std::size_t ranks : {2, 3}) {
    const auto sgd = train(ranks, d, options, [] { return SGD(0.05, 0.9); });
    const auto adam = train(ranks, d, options, [] { return Adam(0.01); });
    for (std::size_t r = 0; r < ranks; ++r) {
      expect_close(sgd[r].first, alone_sgd[0].first, 1e-12);
      expect_close(adam[r].first, alone_adam[0].first, 1e-12);
      EXPECT_EQ(sgd[r].first, sgd[0].first) << "rank " << r << " differs from rank 0";
      ASSERT_EQ(adam[r].second.epochs.size(), 4u);
      for (std::size_t e = 0; e < 4; ++e) {
        EXPECT_NEAR(adam[r].second.epochs[e].loss, alone_adam[0].second.epochs[e].loss, 1e-12);
        EXPECT_EQ(adam[r].second.epochs[e].loss, adam[0].second.epochs[e].loss);
      }
    }
  }
}

TEST(DataParallelFit, ABatchSmallerThanTheRanksLeavesSomeEmpty) {
  const Data d = regression(7);
  FitOptions options(3, 2, false, 0);  // batches of 2 over 3 ranks: the last rank has none
  const auto alone = train(0, d, options, [] { return SGD(0.1); });
  const auto three = train(3, d, options, [] { return SGD(0.1); });
  for (const auto& rank : three) expect_close(rank.first, alone[0].first, 1e-12);
}

TEST(DataParallelFit, EarlyStoppingAndValidationDecideAlike) {
  const Data d = regression(60), held = regression(23);
  FitOptions options(50, 8, true, 1);
  options.early_stopping = blasnet::EarlyStopping{2, 0.0, true};
  // Validation data: each rank evaluates its part, the hook adds the sums.
  std::vector<std::pair<std::vector<double>, FitResult>> results[2];
  for (const std::size_t ranks : {0, 2}) {
    const std::size_t processes = std::max<std::size_t>(ranks, 1);
    SharedSum sum(processes);
    std::vector<std::thread> threads;
    auto& out = results[ranks == 0 ? 0 : 1];
    out.resize(processes);
    for (std::size_t r = 0; r < processes; ++r) {
      threads.emplace_back([&, r] {
        Network<double> net = small_net();
        SGD sgd(0.2, 0.9);
        SumHook hook(sum);
        FitOptions mine = options;
        if (ranks > 0) mine.shard = RowShard{r, processes}, mine.hook = &hook;
        const Targets<double> vt = Targets<double>::dense({held.T.data(), 1, held.n});
        const blasnet::MatrixView<const double> vx{held.X.data(), 3, held.n};
        net.graph().set_loss(0, Loss::mse);
        const blasnet::Batch<double> validation{{&vx, 1}, {&vt, 1}, nullptr};
        const blasnet::MatrixView<const double> X{d.X.data(), 3, d.n};
        const Targets<double> T = Targets<double>::dense({d.T.data(), 1, d.n});
        out[r].second = blasnet::fit(net, X, Loss::mse, T, sgd, mine, &validation);
        out[r].first.assign(net.parameters().begin(), net.parameters().end());
      });
    }
    for (std::thread& t : threads) t.join();
  }
  const FitResult& alone = results[0][0].second;
  for (const auto& rank : results[1]) {
    EXPECT_EQ(rank.second.best_epoch, alone.best_epoch);
    EXPECT_EQ(rank.second.stopped, alone.stopped);
    ASSERT_EQ(rank.second.epochs.size(), alone.epochs.size());
    for (std::size_t e = 0; e < alone.epochs.size(); ++e) {
      EXPECT_NEAR(*rank.second.epochs[e].val_loss, *alone.epochs[e].val_loss, 1e-12);
    }
    expect_close(rank.first, results[0][0].first, 1e-12);
  }
}

TEST(DataParallelFit, TheHookSeesEveryStepsGradient) {
  const Data d = regression(40);
  SharedSum sum(1);
  SumHook hook(sum);
  Network<double> net = small_net();
  SGD sgd(0.1);
  FitOptions options(2, 16, false, 0);
  options.hook = &hook;  // one process with a hook: gradient clipping or logging would do this
  const blasnet::MatrixView<const double> X{d.X.data(), 3, d.n};
  blasnet::fit(net, X, Loss::mse, Targets<double>::dense({d.T.data(), 1, d.n}), sgd, options);
  EXPECT_EQ(hook.gradients, 2u * 3u);  // 40 samples in batches of 16: 3 steps an epoch
}

TEST(DataParallelFit, ANonFiniteLossOnOneRankStopsEveryRankUnchanged) {
  Data d = regression(12);
  d.T[11] = 1e300;  // on the last rank's part of the first batch of 12
  FitOptions options(1, 12, false, 0);
  SharedSum sum(2);
  std::vector<std::string> messages(2);
  std::vector<int> unchanged(2);  // not vector<bool>: its bits share a word between threads
  std::vector<std::thread> threads;
  for (std::size_t r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      Network<double> net = small_net();
      const std::vector<double> before(net.parameters().begin(), net.parameters().end());
      SGD sgd(0.1);
      SumHook hook(sum);
      FitOptions mine = options;
      mine.shard = RowShard{r, 2}, mine.hook = &hook;
      const blasnet::MatrixView<const double> X{d.X.data(), 3, d.n};
      try {
        blasnet::fit(net, X, Loss::mse, Targets<double>::dense({d.T.data(), 1, d.n}), sgd, mine);
      } catch (const TrainingDiverged& e) {
        messages[r] = e.what();
      }
      unchanged[r] = std::equal(before.begin(), before.end(), net.parameters().begin());
    });
  }
  for (std::thread& t : threads) t.join();
  for (std::size_t r = 0; r < 2; ++r) {
    EXPECT_NE(messages[r].find("the summed gradient is NaN or infinite; no parameter was changed"),
              std::string::npos)
        << messages[r];
    EXPECT_TRUE(unchanged[r]);
  }
}

TEST(DataParallelFit, AShardIsCheckedBeforeTraining) {
  const Data d = regression(8);
  Network<double> net = small_net();
  SGD sgd(0.1);
  const blasnet::MatrixView<const double> X{d.X.data(), 3, d.n};
  const Targets<double> T = Targets<double>::dense({d.T.data(), 1, d.n});
  FitOptions options(1, 4, false, 0);
  options.shard = RowShard{0, 2};
  EXPECT_THROW(
      {
        try {
          blasnet::fit(net, X, Loss::mse, T, sgd, options);
        } catch (const std::invalid_argument& e) {
          EXPECT_STREQ(e.what(), "fit: a shard of 2 processes needs a hook that sums their gradients");
          throw;
        }
      },
      std::invalid_argument);
  options.shard = RowShard{2, 2};
  EXPECT_THROW(blasnet::fit(net, X, Loss::mse, T, sgd, options), std::invalid_argument);
  options.shard = RowShard{0, 0};
  EXPECT_THROW(blasnet::fit(net, X, Loss::mse, T, sgd, options), std::invalid_argument);
  EXPECT_EQ(sgd.steps(), 0u);
}

}  // namespace
