// safetensors.hpp: a container written is read back byte for byte, with its metadata and every
// tensor's dtype, shape and range; what a header claims is checked against the file before
// use; and refusals are the problem alone, for the caller to name the file.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "safetensors.hpp"
#include "temp_dir.hpp"

namespace {

using blasnet::FileSource;
using blasnet::MemorySource;
using blasnet::read_header;
using blasnet::read_tensor_entries;
using blasnet::SafetensorsError;
using blasnet::SafetensorsHeader;
using blasnet::TensorBytes;
using blasnet::TensorEntry;
using blasnet::write_safetensors;
using blasnet_test::read_bytes;
using blasnet_test::TempDir;
using json = nlohmann::json;

// A container of header (JSON text, padded to 8 bytes as a writer pads it) and data.
std::string container(const std::string& header, const std::string& data) {
  std::string text = header;
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  const std::uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(n >> (8 * i));
  return out + text + data;
}

// The refusal of bytes, by read_header and then read_tensor_entries (tensors of F32).
std::string refusal(const std::string& bytes) {
  try {
    MemorySource source(bytes.data(), bytes.size());
    read_tensor_entries(read_header(source), "F32", 4, "the test");
  } catch (const SafetensorsError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted";
  return "";
}

TEST(Safetensors, WhatIsWrittenIsReadBack) {
  TempDir dir;
  const std::vector<float> w = {1, 2, 3, 4, 5, 6};
  const std::vector<float> b = {-1, -2};
  write_safetensors(dir / "t.safetensors", {{"format", "test"}, {"note", "é"}},
                    {{"w", "F32", {2, 3}, w.data(), w.size() * sizeof(float)},
                     {"b", "F32", {2}, b.data(), b.size() * sizeof(float)}});
  const std::string bytes = read_bytes(dir / "t.safetensors");
  // Header length, then the header padded to a multiple of 8, then the tensors in order.
  std::uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= std::uint64_t(static_cast<unsigned char>(bytes[i])) << (8 * i);
  EXPECT_EQ(n % 8, 0u);
  ASSERT_EQ(bytes.size(), 8 + n + 32);
  EXPECT_EQ(std::memcmp(bytes.data() + 8 + n, w.data(), 24), 0);
  EXPECT_EQ(std::memcmp(bytes.data() + 8 + n + 24, b.data(), 8), 0);

  FileSource source(dir / "t.safetensors");
  const SafetensorsHeader header = read_header(source);
  EXPECT_EQ(header.data_start, 8 + n);
  EXPECT_EQ(header.data_size, 32u);
  ASSERT_TRUE(header.metadata);
  EXPECT_EQ(*header.metadata, (std::map<std::string, std::string>{{"format", "test"},
                                                                  {"note", "é"}}));
  const std::map<std::string, TensorEntry> tensors = read_tensor_entries(header, "F32", 4, "x");
  ASSERT_EQ(tensors.size(), 2u);
  EXPECT_EQ(tensors.at("w").shape, (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(tensors.at("w").begin, 0u);
  EXPECT_EQ(tensors.at("w").end, 24u);
  EXPECT_EQ(tensors.at("b").shape, (std::vector<std::uint64_t>{2}));
  EXPECT_EQ(tensors.at("b").begin, 24u);
  std::vector<float> read(2);
  source.read(header.data_start + tensors.at("b").begin, read.data(), 8);
  EXPECT_EQ(read, b);
}

TEST(Safetensors, AHeaderWithoutMetadataHasNone) {
  const std::string bytes = container("{}", "");
  MemorySource empty(bytes.data(), bytes.size());
  const SafetensorsHeader header = read_header(empty);
  EXPECT_FALSE(header.metadata);
  EXPECT_TRUE(read_tensor_entries(header, "F32", 4, "x").empty());
}

TEST(Safetensors, AWriteThatFailsLeavesTheTargetAsItWas) {
  TempDir dir;
  std::ofstream(dir / "t", std::ios::binary) << "old";
  const float x = 1;
  try {
    write_safetensors(dir / "t", {}, {{"a", "F32", {1}, &x, 4}, {"a", "F32", {1}, &x, 4}});
    ADD_FAILURE() << "two tensors of one name written";
  } catch (const SafetensorsError& e) {
    EXPECT_STREQ(e.what(), "two tensors would be named 'a'");
  }
  try {
    write_safetensors(dir / "t", {}, {{"\xff", "F32", {1}, &x, 4}});
    ADD_FAILURE() << "a name that is not UTF-8 written";
  } catch (const SafetensorsError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("cannot be written as JSON: ", 0), 0u) << e.what();
  }
  EXPECT_EQ(read_bytes(dir / "t"), "old");
  EXPECT_THROW(write_safetensors(dir.path() + "/no folder/t", {}, {}), SafetensorsError);
}

TEST(Safetensors, WhatTheHeaderClaimsIsCheckedAgainstTheFile) {
  EXPECT_EQ(refusal("abc"), "is 3 bytes long; a model file starts with an 8-byte header length");
  EXPECT_EQ(refusal(std::string("\x10\0\0\0\0\0\0\0{}", 10)),
            "claims a header of 16 bytes but only 2 follow");
  EXPECT_EQ(refusal(std::string("\0\0\0\0\0\0\0\x01", 8)),
            "claims a header of 72057594037927936 bytes; the limit is 100000000");
  EXPECT_EQ(refusal(container("[1]", "")), "has a header that is not a JSON object");
  EXPECT_EQ(refusal(container(R"({"a": 1, "a": 2})", "")), "the header repeats the key 'a'");
  EXPECT_EQ(refusal(container(std::string(65, '[') + std::string(65, ']'), "")),
            "the header nests deeper than 64 levels");
  EXPECT_EQ(refusal(container(R"({"__metadata__": {"k": 1}})", "")),
            "__metadata__ holds 'k', which is not a string");
  EXPECT_EQ(refusal(container(R"({"__metadata__": []})", "")), "__metadata__ is not a JSON object");
}

TEST(Safetensors, EveryTensorIsCheckedThenTheLayout) {
  const auto one = [](const std::string& entry, std::size_t data_bytes) {
    return refusal(container(R"({"t": )" + entry + "}", std::string(data_bytes, '\0')));
  };
  EXPECT_EQ(one(R"({"dtype": "F64", "shape": [1], "data_offsets": [0, 8]})", 8),
            "tensor 't' has dtype 'F64'; the tensors of the test are F32");
  EXPECT_EQ(one(R"({"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "x": 0})", 4),
            "tensor 't' has an unknown key 'x'");
  EXPECT_EQ(one(R"({"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 4]})",
                4),
            "tensor 't' has a shape too large to hold");
  EXPECT_EQ(one(R"({"dtype": "F32", "shape": [1], "data_offsets": [0, 8]})", 4),
            "tensor 't' has data_offsets [0, 8] outside the data region of 4 bytes");
  EXPECT_EQ(one(R"({"dtype": "F32", "shape": [2], "data_offsets": [0, 4]})", 4),
            "tensor 't' has shape [2] (8 bytes) but data_offsets spanning 4 bytes");
  EXPECT_EQ(one(R"({"dtype": "F32", "shape": [1], "data_offsets": [0, 4]})", 8),
            "the last 4 bytes of the file belong to no tensor");
  EXPECT_EQ(one(R"({"dtype": "F32", "shape": [1], "data_offsets": [4, 8]})", 8),
            "the 4 bytes before tensor 't' belong to no tensor");
  EXPECT_EQ(refusal(container(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                  "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                              std::string(8, '\0'))),
            "tensors 'a' and 'b' overlap");
}

TEST(Safetensors, AReadPastTheEndIsRefused) {
  const char bytes[4] = {1, 2, 3, 4};
  MemorySource source(bytes, sizeof bytes);
  char out[4];
  EXPECT_NO_THROW(source.read(0, out, 4));
  EXPECT_NO_THROW(source.read(4, out, 0));
  EXPECT_THROW(source.read(1, out, 4), SafetensorsError);
  EXPECT_THROW(source.read(5, out, 0), SafetensorsError);
  EXPECT_THROW(source.read(UINT64_MAX, out, 2), SafetensorsError);
}

TEST(Safetensors, AFileSourceOpensOnlyARegularFile) {
  TempDir dir;
  try {
    FileSource source(dir / "missing");
    ADD_FAILURE() << "opened";
  } catch (const SafetensorsError& e) {
    EXPECT_STREQ(e.what(), "cannot open it: No such file or directory");
  }
  try {
    FileSource source(dir.path());
    ADD_FAILURE() << "opened";
  } catch (const SafetensorsError& e) {
    EXPECT_STREQ(e.what(), "is not a regular file");
  }
}

}  // namespace
