#include "blasnet/optimizers.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace blasnet {
namespace {

double checked_lr(double lr) {
  if (!(std::isfinite(lr) && lr > 0)) {
    std::ostringstream msg;
    msg << "SGD: learning rate must be positive and finite, got " << lr;
    throw std::invalid_argument(msg.str());
  }
  return lr;
}

}  // namespace

SGD::SGD(double lr) : lr_(checked_lr(lr)) {}

void SGD::set_lr(double lr) { lr_ = checked_lr(lr); }

template <typename T>
void SGD::update(Span<T> params, Span<const T> grads) const {
  if (params.size != grads.size) {
    throw std::invalid_argument("SGD: " + std::to_string(params.size) + " parameters but " +
                                std::to_string(grads.size) + " gradients");
  }
  const T alpha = static_cast<T>(lr_);
  for (std::size_t i = 0; i < params.size; ++i) params[i] -= alpha * grads[i];
}

void SGD::step(Span<float> params, Span<const float> grads) { update(params, grads); }
void SGD::step(Span<double> params, Span<const double> grads) { update(params, grads); }

std::string SGD::describe() const {
  std::ostringstream out;
  out << "SGD(lr=" << lr_ << ")";
  return out.str();
}

}  // namespace blasnet
