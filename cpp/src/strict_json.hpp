#pragma once
// JSON from a file one does not trust, parsed in time linear in its length.
//
// nlohmann's parse with a callback (the way to see depth and keys while parsing) copies each
// finished object into its parent and rescans it, so a header of n objects took O(n²): 226 s
// for a 40,000-node architecture. This builds the value from nlohmann's SAX events instead,
// one pass, checking depth and repeated keys as it goes.

#include <cstddef>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace blasnet {

// Why a text was refused; the caller knows what the text is and names it.
class StrictJsonError : public std::runtime_error {
 public:
  enum class Reason {
    syntax,        // not JSON (detail: nlohmann's message, with the byte position)
    too_deep,      // more arrays and objects inside one another than allowed
    repeated_key,  // a key twice in one object (detail: the key), which a plain parse lets
                   // the last one win
  };
  StrictJsonError(Reason reason, std::string detail);
  Reason reason() const { return reason_; }
  const std::string& detail() const { return detail_; }

 private:
  Reason reason_;
  std::string detail_;
};

// The value text holds, with at most max_depth arrays and objects inside one another (a
// scalar at the top is depth 0, {"a": [1]} depth 2). Throws StrictJsonError.
nlohmann::json parse_strict_json(const std::string& text, std::size_t max_depth);

}  // namespace blasnet
