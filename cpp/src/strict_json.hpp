#pragma once
// JSON from a file one does not trust, parsed in time linear in its length and read field by
// field, every refusal a sentence that says where.
//
// nlohmann's parse with a callback (the way to see depth and keys while parsing) copies each
// finished object into its parent and rescans it, so a header of n objects took O(n²): 226 s
// for a 40,000-node architecture. This builds the value from nlohmann's SAX events instead,
// one pass, checking depth and repeated keys as it goes.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

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

// The refusal as a sentence about what was parsed: "<what> nests deeper than 64 levels",
// "<what> repeats the key 'k'" or "<what> is not valid JSON: <nlohmann's message>".
std::string refusal_text(const StrictJsonError& error, const std::string& what,
                         std::size_t max_depth);

// A name from a file in a message: quoted, and cut short if it is long.
std::string in_quotes(const std::string& name);

// "<where> <problem>" ("architecture node 0 has no \"units\""); the caller names the file.
class JsonFieldError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Typed access to one JSON object from a file, each failure a JsonFieldError naming where.
class JsonFields {
 public:
  JsonFields(const nlohmann::json& object, std::string where);

  [[noreturn]] void fail(const std::string& problem) const;

  // Exactly these keys, no other.
  void expect_keys(std::initializer_list<const char*> names) const;

  const nlohmann::json& at(const char* key) const;
  std::string string(const char* key) const;
  bool boolean(const char* key) const;
  double number(const char* key) const;  // finite
  std::uint64_t count(const char* key) const;
  const nlohmann::json& array(const char* key) const;
  std::vector<std::string> strings(const char* key) const;

 private:
  const nlohmann::json& object_;
  std::string where_;
};

}  // namespace blasnet
