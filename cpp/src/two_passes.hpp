#pragma once
// A step that changes nothing unless every value it writes is finite: a read-only pass that
// checks, then the pass that writes. Used by the optimizers' rules and by Graph's own
// gradient-descent update.

#include <cstddef>

namespace blasnet {

// Where a step would go wrong: the first index whose new parameter or state value is NaN or
// infinite, and that value; index == size when every one is finite.
struct Overflow {
  std::size_t index;
  double value;
};

// How next(i, mode) treats value i of a step: only check it, write it, or say what it would be.
struct Check {};
struct Write {};
struct Report {
  double* value;
};

// The two passes of a step over n values: next(i, mode) computes value i's update and returns
// the new values OR-ed through not_finite; it writes them only with Write, and with Report
// stores the first that is not finite. The first pass only reads, so that a step that would
// overflow changes nothing; the second, the same arithmetic again, writes. (Reading is cheaper
// than saving the buffers to restore them.) With a bound, the first pass is bound(i) instead —
// nonzero where the update might not be finite, and cheaper than next — and next checks
// exactly only where the bound fails somewhere. Every mode is a type, so that each loop is
// free of branches and vectorizes.
template <typename Bound, typename Next>
Overflow two_passes(std::size_t n, const Bound& bound, const Next& next) {
  decltype(bound(0)) maybe = 0;
  for (std::size_t i = 0; i < n; ++i) maybe |= bound(i);
  if (maybe != 0) {
    decltype(next(0, Check{})) bad = 0;
    for (std::size_t i = 0; i < n; ++i) bad |= next(i, Check{});
    if (bad != 0) {
      for (std::size_t i = 0; i < n; ++i) {
        double value = 0;
        if (next(i, Report{&value}) != 0) return {i, value};
      }
    }
  }
  for (std::size_t i = 0; i < n; ++i) next(i, Write{});
  return {n, 0};
}

template <typename Next>
Overflow two_passes(std::size_t n, const Next& next) {
  return two_passes(n, [&](std::size_t i) { return next(i, Check{}); }, next);
}

}  // namespace blasnet
