#pragma once
// Python's repr of a float (the shortest digits that read back as the same double; fixed
// notation for decimal exponents in [-4, 16), else scientific), so that describe() shows
// what the Python user typed: "Adam(lr=0.001, ..., epsilon=1e-08, weight_decay=0.0)".

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

namespace blasnet {

inline std::string float_repr(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  const std::string sign = std::signbit(x) ? "-" : "";
  if (x == 0) return sign + "0.0";

  // Shortest round-trip digits in scientific form: "d[.ddd]e±XX".
  char buf[64];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, std::fabs(x),
                                               std::chars_format::scientific);
  const std::string sci(buf, r.ptr);
  const std::size_t e = sci.find('e');
  const int exponent = std::atoi(sci.c_str() + e + 1);
  if (exponent < -4 || exponent >= 16) return sign + sci;

  std::string digits = sci.substr(0, e);
  if (digits.size() > 1) digits.erase(1, 1);  // drop the point
  std::string out;
  if (exponent < 0) {
    out = "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
  } else {
    const auto whole = static_cast<std::size_t>(exponent) + 1;
    if (digits.size() <= whole) {
      out = digits + std::string(whole - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, whole) + "." + digits.substr(whole);
    }
  }
  return sign + out;
}

}  // namespace blasnet
