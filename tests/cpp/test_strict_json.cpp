// strict_json.hpp: the same values as nlohmann's own parse, and the refusals a plain parse does
// not make (nesting deeper than the limit, a key twice in one object), each with its reason;
// each refusal and each field that is missing, unknown or of the wrong type, in a sentence.

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "strict_json.hpp"

namespace {

using blasnet::JsonFieldError;
using blasnet::JsonFields;
using blasnet::parse_strict_json;
using blasnet::StrictJsonError;
using json = nlohmann::json;
using Reason = StrictJsonError::Reason;

// The reason text was refused for, failing the test if it was not.
Reason refusal(const std::string& text, std::size_t max_depth = 64, std::string* detail = nullptr) {
  try {
    parse_strict_json(text, max_depth);
  } catch (const StrictJsonError& e) {
    if (detail != nullptr) *detail = e.detail();
    return e.reason();
  }
  ADD_FAILURE() << "accepted: " << text.substr(0, 80);
  return Reason::syntax;
}

TEST(StrictJson, ValuesAreThoseOfAPlainParse) {
  const char* texts[] = {
      "null", "true", "-7", "18446744073709551615", "2.5e-3", "\"h\\u00e9\"", "[]", "{}",
      R"({"b": [1, -2, 3.5, "x", null, false, {"c": {}}], "a": {"d": [[[]]]}, "e": 1e300})",
      R"([{"a": 1}, {"a": 2}, [{"a": [3]}]])",
  };
  for (const char* text : texts) {
    SCOPED_TRACE(text);
    const json strict = parse_strict_json(text, 64);
    const json plain = json::parse(text);
    EXPECT_EQ(strict, plain);
    EXPECT_EQ(strict.dump(), plain.dump());
    // Kinds of number, which == compares across.
    EXPECT_EQ(strict.type(), plain.type());
  }
  const json numbers = parse_strict_json("[1, -1, 1.0]", 64);
  EXPECT_TRUE(numbers[0].is_number_unsigned());
  EXPECT_TRUE(numbers[1].is_number_integer() && !numbers[1].is_number_unsigned());
  EXPECT_TRUE(numbers[2].is_number_float());
}

TEST(StrictJson, DepthCountsArraysAndObjectsInsideOneAnother) {
  EXPECT_NO_THROW(parse_strict_json("7", 0));
  EXPECT_NO_THROW(parse_strict_json(R"({"a": [1]})", 2));
  EXPECT_EQ(refusal(R"({"a": [1]})", 1), Reason::too_deep);
  EXPECT_EQ(refusal(R"({"a": [[]]})", 2), Reason::too_deep);
  // Siblings do not add up.
  EXPECT_NO_THROW(parse_strict_json(R"([[1], [2], {"a": [3]}, [[]]])", 3));

  const std::string deepest = std::string(64, '[') + std::string(64, ']');
  EXPECT_NO_THROW(parse_strict_json(deepest, 64));
  EXPECT_EQ(refusal("[" + deepest + "]", 64), Reason::too_deep);
  // Refused at the first level too many, without reading (or recursing into) the rest.
  EXPECT_EQ(refusal(std::string(10'000'000, '['), 64), Reason::too_deep);
}

TEST(StrictJson, AKeyTwiceInOneObjectIsRefusedAndNamed) {
  std::string key;
  EXPECT_EQ(refusal(R"({"a": 1, "b": 2, "a": 3})", 64, &key), Reason::repeated_key);
  EXPECT_EQ(key, "a");
  EXPECT_EQ(refusal(R"({"x": {"k": {}, "k": []}})", 64, &key), Reason::repeated_key);
  EXPECT_EQ(key, "k");
  // The same key in different objects is no repetition.
  EXPECT_NO_THROW(parse_strict_json(R"({"a": {"a": {"a": 1}}, "b": [{"a": 1}, {"a": 2}]})", 64));
}

TEST(StrictJson, WhatIsNotJsonIsRefusedWithTheParsersMessage) {
  for (const char* text : {"", "{not json", "{} x", "[1, 2", "{\"a\" 1}", "\"\xff\xfe\"",
                           "[1e999]", "// comment\n{}"}) {
    SCOPED_TRACE(text);
    std::string detail;
    EXPECT_EQ(refusal(text, 64, &detail), Reason::syntax);
    EXPECT_EQ(detail.rfind("[json.exception.", 0), 0u) << detail;
  }
}

// The sentence refusal_text makes of text's refusal.
std::string refusal_sentence(const std::string& text) {
  try {
    parse_strict_json(text, 2);
  } catch (const StrictJsonError& e) {
    return blasnet::refusal_text(e, "the header", 2);
  }
  ADD_FAILURE() << "accepted: " << text;
  return "";
}

TEST(StrictJson, ARefusalIsASentenceAboutWhatWasParsed) {
  EXPECT_EQ(refusal_sentence("[[[]]]"), "the header nests deeper than 2 levels");
  EXPECT_EQ(refusal_sentence(R"({"k": 1, "k": 2})"), "the header repeats the key 'k'");
  EXPECT_EQ(refusal_sentence("{x").rfind("the header is not valid JSON: [json.exception.", 0), 0u);
}

TEST(StrictJson, ALongNameIsQuotedShort) {
  EXPECT_EQ(blasnet::in_quotes("h.W"), "'h.W'");
  EXPECT_EQ(blasnet::in_quotes(std::string(80, 'a')), "'" + std::string(80, 'a') + "'");
  EXPECT_EQ(blasnet::in_quotes(std::string(81, 'a')),
            "'" + std::string(80, 'a') + "...' (81 bytes)");
}

// What reading a field of object refuses, or "" if it accepts.
template <typename Read>
std::string field_refusal(const std::string& object, Read read) {
  try {
    read(JsonFields(json::parse(object), "node 3"));
  } catch (const JsonFieldError& e) {
    return e.what();
  }
  return "";
}

TEST(StrictJson, FieldsAreReadByTypeAndRefusedSayingWhere) {
  const json object = json::parse(R"({"s": "x", "b": true, "n": -2.5, "c": 7, "a": ["p", "q"]})");
  const JsonFields f(object, "node 3");
  EXPECT_EQ(f.string("s"), "x");
  EXPECT_TRUE(f.boolean("b"));
  EXPECT_EQ(f.number("n"), -2.5);
  EXPECT_EQ(f.number("c"), 7.0);
  EXPECT_EQ(f.count("c"), 7u);
  EXPECT_EQ(f.strings("a"), (std::vector<std::string>{"p", "q"}));
  EXPECT_EQ(f.array("a").size(), 2u);
  EXPECT_NO_THROW(f.expect_keys({"s", "b", "n", "c", "a"}));

  EXPECT_EQ(field_refusal("[1]", [](const JsonFields&) {}), "node 3 is not a JSON object");
  EXPECT_EQ(field_refusal(R"({"a": 1})", [](const JsonFields& g) { g.expect_keys({"a", "b"}); }),
            "node 3 has no \"b\"");
  EXPECT_EQ(field_refusal(R"({"a": 1, "z": 2})", [](const JsonFields& g) { g.expect_keys({"a"}); }),
            "node 3 has an unknown key 'z'");
  EXPECT_EQ(field_refusal("{}", [](const JsonFields& g) { g.at("k"); }), "node 3 has no \"k\"");
  EXPECT_EQ(field_refusal(R"({"k": 1})", [](const JsonFields& g) { g.string("k"); }),
            "node 3 has a \"k\" that is not a string");
  EXPECT_EQ(field_refusal(R"({"k": 1})", [](const JsonFields& g) { g.boolean("k"); }),
            "node 3 has a \"k\" that is not true or false");
  EXPECT_EQ(field_refusal(R"({"k": "1"})", [](const JsonFields& g) { g.number("k"); }),
            "node 3 has a \"k\" that is not a finite number");
  EXPECT_EQ(field_refusal(R"({"k": -1})", [](const JsonFields& g) { g.count("k"); }),
            "node 3 has a \"k\" that is not a non-negative integer");
  EXPECT_EQ(field_refusal(R"({"k": 1.0})", [](const JsonFields& g) { g.count("k"); }),
            "node 3 has a \"k\" that is not a non-negative integer");
  EXPECT_EQ(field_refusal(R"({"k": {}})", [](const JsonFields& g) { g.array("k"); }),
            "node 3 has a \"k\" that is not an array");
  EXPECT_EQ(field_refusal(R"({"k": ["a", 1]})", [](const JsonFields& g) { g.strings("k"); }),
            "node 3 has a \"k\" holding a non-string");
  EXPECT_EQ(field_refusal(R"({"k": 1})", [](const JsonFields& g) { g.fail("is odd"); }),
            "node 3 is odd");
}

}  // namespace
