#include "blasnet/checked_size.hpp"

#include <cstdio>

namespace blasnet {

void throw_size_overflow(const std::string& what, std::size_t a, const char* op, std::size_t b) {
  throw std::overflow_error(what + ": " + std::to_string(a) + " " + op + " " + std::to_string(b) +
                            " does not fit in a 64-bit size");
}

std::string bytes_text(double bytes) {
  if (bytes < 1e6) return std::to_string(static_cast<unsigned long long>(bytes)) + " bytes";
  char text[32];
  std::snprintf(text, sizeof text, "%.1e", bytes);
  // "8.0e+18" -> "8.0e18"
  std::string out(text);
  const std::size_t plus = out.find("e+");
  if (plus != std::string::npos) out.erase(plus + 1, 1);
  return out + " bytes";
}

}  // namespace blasnet
