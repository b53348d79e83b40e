#pragma once
// Sizes are products and sums of counts a user chose: units × inputs, batch × units, the
// parameters of every node. size_t arithmetic wraps without a word (2^32 × (2^32 − 1) + 2^32
// is 0), and a buffer of the wrapped size is then allocated and written past. Every such
// combination goes through checked_mul and checked_add, which throw instead, naming what was
// being sized; and a size that fits but that the machine cannot provide is refused by
// allocate, which says what it was for and how many bytes were asked.

#include <cstddef>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace blasnet {

// A size that cannot be allocated: a std::bad_alloc (MemoryError in Python) that says what
// was asked.
class AllocationError : public std::bad_alloc {
 public:
  explicit AllocationError(std::string message) : message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

// std::overflow_error "<what>: a <op> b does not fit in a 64-bit size".
[[noreturn]] void throw_size_overflow(const std::string& what, std::size_t a, const char* op,
                                      std::size_t b);

// A byte count as "8.0e18 bytes" (exact below 10^6: "4096 bytes").
std::string bytes_text(double bytes);

// What was being sized: a string, or a callable that builds one, so that a check that passes
// allocates nothing (a training step's steady state allocates nothing at all).
template <typename What>
std::string describe(const What& what) {
  if constexpr (std::is_invocable_v<const What&>) {
    return what();
  } else {
    return std::string(what);
  }
}

template <typename What>
std::size_t checked_mul(std::size_t a, std::size_t b, const What& what) {
  std::size_t product = 0;
  if (__builtin_mul_overflow(a, b, &product)) throw_size_overflow(describe(what), a, "×", b);
  return product;
}

template <typename What>
std::size_t checked_add(std::size_t a, std::size_t b, const What& what) {
  std::size_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) throw_size_overflow(describe(what), a, "+", b);
  return sum;
}

// The message of a refused allocation of bytes: refused(bytes) if refused takes the byte
// count, else "<what> needs N bytes, more memory than could be allocated".
template <typename Refused>
std::string refusal(const Refused& refused, double bytes) {
  if constexpr (std::is_invocable_v<const Refused&, double>) {
    return refused(bytes);
  } else {
    return describe(refused) + " needs " + bytes_text(bytes) +
           ", more memory than could be allocated";
  }
}

// v.assign(n, T()), or v.resize(n) if keep, throwing AllocationError with refusal(refused, bytes)
// if n values cannot be addressed or the allocator refuses them. refused is a string, a
// callable of no arguments naming what is allocated, or one of the byte count giving the
// whole message; it runs only on failure.
template <typename T, typename Refused>
void allocate(std::vector<T>& v, std::size_t n, const Refused& refused, bool keep = false) {
  const double bytes = double(n) * double(sizeof(T));
  if (n > v.max_size()) throw AllocationError(refusal(refused, bytes));
  try {
    if (keep) {
      v.resize(n);
    } else {
      v.assign(n, T());
    }
  } catch (const std::bad_alloc&) {
    throw AllocationError(refusal(refused, bytes));
  }
}

}  // namespace blasnet
