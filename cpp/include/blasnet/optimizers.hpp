#pragma once
// Rules that move the parameters against their gradient. Each is one loop over the network's
// flat buffers, for float and double alike.

#include <optional>
#include <string>

#include "blasnet/matrix.hpp"

namespace blasnet {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One update of params from grads (same length).
  virtual void step(Span<float> params, Span<const float> grads) = 0;
  virtual void step(Span<double> params, Span<const double> grads) = 0;
  virtual std::string describe() const = 0;

  // α when this optimizer is plain, stateless gradient descent Θ ← Θ − α·∇J, which a network
  // can fold into its backward products; empty otherwise.
  virtual std::optional<double> plain_sgd_rate() const { return std::nullopt; }
};

// Plain gradient descent, the note's Θ ← Θ − α·∇_Θ J.
class SGD final : public Optimizer {
 public:
  // Throws std::invalid_argument unless lr is finite and positive.
  explicit SGD(double lr);

  void step(Span<float> params, Span<const float> grads) override;
  void step(Span<double> params, Span<const double> grads) override;
  std::string describe() const override;
  std::optional<double> plain_sgd_rate() const override { return lr_; }

  double lr() const { return lr_; }
  void set_lr(double lr);

 private:
  template <typename T>
  void update(Span<T> params, Span<const T> grads) const;

  double lr_;
};

}  // namespace blasnet
