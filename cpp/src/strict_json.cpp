#include "strict_json.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace blasnet {

StrictJsonError::StrictJsonError(Reason reason, std::string detail)
    : std::runtime_error(reason == Reason::syntax         ? "not valid JSON: " + detail
                         : reason == Reason::too_deep     ? std::string("nested too deeply")
                                                          : "a repeated key: " + detail),
      reason_(reason),
      detail_(std::move(detail)) {}

namespace {

using json = nlohmann::json;

// Builds the value from the parser's events, each value put straight where it belongs: the
// open array's end or the slot the last key made in the open object. Every event is O(1)
// but a key's, which is O(log n) in its object's size (the duplicate check).
class Builder final : public nlohmann::json_sax<json> {
 public:
  Builder(json& root, std::size_t max_depth) : root_(root), max_depth_(max_depth) {}

  bool null() override { return put(nullptr) != nullptr; }
  bool boolean(bool value) override { return put(value) != nullptr; }
  bool number_integer(number_integer_t value) override { return put(value) != nullptr; }
  bool number_unsigned(number_unsigned_t value) override { return put(value) != nullptr; }
  bool number_float(number_float_t value, const string_t&) override {
    return put(value) != nullptr;
  }
  bool string(string_t& value) override { return put(std::move(value)) != nullptr; }
  bool binary(binary_t& value) override { return put(std::move(value)) != nullptr; }

  bool start_object(std::size_t) override { return open(json::object()); }
  bool key(string_t& key) override {
    auto& members = open_.back()->get_ref<json::object_t&>();
    // try_emplace leaves key as it was when it is there already, to be quoted.
    const auto [slot, inserted] = members.try_emplace(std::move(key));
    if (!inserted) throw StrictJsonError(StrictJsonError::Reason::repeated_key, key);
    slot_ = &slot->second;
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(json::array()); }
  bool end_array() override { return close(); }

  bool parse_error(std::size_t, const std::string&, const json::exception& error) override {
    throw StrictJsonError(StrictJsonError::Reason::syntax, error.what());
  }

 private:
  // Where value went.
  template <typename V>
  json* put(V&& value) {
    if (open_.empty()) {
      root_ = json(std::forward<V>(value));
      return &root_;
    }
    json& parent = *open_.back();
    if (parent.is_array()) {
      auto& elements = parent.get_ref<json::array_t&>();
      elements.emplace_back(std::forward<V>(value));
      return &elements.back();
    }
    *slot_ = json(std::forward<V>(value));
    return slot_;
  }
  // A pointer into an open array stays valid: nothing is added to that array until the
  // container it points to is closed.
  bool open(json&& empty) {
    if (open_.size() == max_depth_) throw StrictJsonError(StrictJsonError::Reason::too_deep, "");
    open_.push_back(put(std::move(empty)));
    return true;
  }
  bool close() {
    open_.pop_back();
    return true;
  }

  json& root_;
  std::size_t max_depth_;
  std::vector<json*> open_;  // the arrays and objects being filled, outermost first
  json* slot_ = nullptr;     // the value of the open object's last key
};

}  // namespace

json parse_strict_json(const std::string& text, std::size_t max_depth) {
  json root;
  Builder builder(root, max_depth);
  json::sax_parse(text, &builder);  // every failure is thrown from the builder
  return root;
}

std::string refusal_text(const StrictJsonError& error, const std::string& what,
                         std::size_t max_depth) {
  switch (error.reason()) {
    case StrictJsonError::Reason::too_deep:
      return what + " nests deeper than " + std::to_string(max_depth) + " levels";
    case StrictJsonError::Reason::repeated_key:
      return what + " repeats the key " + in_quotes(error.detail());
    case StrictJsonError::Reason::syntax:
      break;
  }
  return what + " is not valid JSON: " + error.detail();
}

std::string in_quotes(const std::string& name) {
  constexpr std::size_t shown = 80;
  if (name.size() <= shown) return "'" + name + "'";
  return "'" + name.substr(0, shown) + "...' (" + std::to_string(name.size()) + " bytes)";
}

JsonFields::JsonFields(const json& object, std::string where)
    : object_(object), where_(std::move(where)) {
  if (!object_.is_object()) fail("is not a JSON object");
}

void JsonFields::fail(const std::string& problem) const {
  throw JsonFieldError(where_ + " " + problem);
}

void JsonFields::expect_keys(std::initializer_list<const char*> names) const {
  for (const char* name : names) {
    if (!object_.contains(name)) fail("has no \"" + std::string(name) + "\"");
  }
  for (const auto& item : object_.items()) {
    const bool known = std::any_of(names.begin(), names.end(),
                                   [&](const char* name) { return item.key() == name; });
    if (!known) fail("has an unknown key " + in_quotes(item.key()));
  }
}

const json& JsonFields::at(const char* key) const {
  const auto it = object_.find(key);
  if (it == object_.end()) fail("has no \"" + std::string(key) + "\"");
  return *it;
}

std::string JsonFields::string(const char* key) const {
  const json& value = at(key);
  if (!value.is_string()) fail("has a \"" + std::string(key) + "\" that is not a string");
  return value.get<std::string>();
}

bool JsonFields::boolean(const char* key) const {
  const json& value = at(key);
  if (!value.is_boolean()) fail("has a \"" + std::string(key) + "\" that is not true or false");
  return value.get<bool>();
}

double JsonFields::number(const char* key) const {
  const json& value = at(key);
  if (!value.is_number() || !std::isfinite(value.get<double>())) {
    fail("has a \"" + std::string(key) + "\" that is not a finite number");
  }
  return value.get<double>();
}

std::uint64_t JsonFields::count(const char* key) const {
  const json& value = at(key);
  if (!value.is_number_unsigned()) {
    fail("has a \"" + std::string(key) + "\" that is not a non-negative integer");
  }
  return value.get<std::uint64_t>();
}

const json& JsonFields::array(const char* key) const {
  const json& value = at(key);
  if (!value.is_array()) fail("has a \"" + std::string(key) + "\" that is not an array");
  return value;
}

std::vector<std::string> JsonFields::strings(const char* key) const {
  std::vector<std::string> out;
  for (const json& value : array(key)) {
    if (!value.is_string()) fail("has a \"" + std::string(key) + "\" holding a non-string");
    out.push_back(value.get<std::string>());
  }
  return out;
}

}  // namespace blasnet
