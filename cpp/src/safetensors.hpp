#pragma once
// The safetensors container (https://github.com/huggingface/safetensors), apart from what a
// model puts in it:
//   8 bytes    N, the header's length, unsigned little-endian
//   N bytes    a JSON object, padded with spaces to a multiple of 8:
//                {"__metadata__": {"<key>": "<string>", ...},
//                 "<name>": {"dtype": "F32", "shape": [4, 3], "data_offsets": [0, 48]}, ...}
//   the rest   the tensors' bytes, little-endian, one after another
// Reading checks what a header claims before anything it claims is allocated: its length
// (at most max_header_bytes and inside the file), its JSON (at most max_json_depth levels
// deep, no repeated key), each tensor's dtype, shape and byte range, and that the tensors
// cover the data region exactly, without overlap. Writing goes through an AtomicFile.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

namespace blasnet {

// The problem alone ("claims a header of 9 bytes but only 4 follow"); the caller names the file.
class SafetensorsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr std::uint64_t max_header_bytes = 100'000'000;  // as the safetensors package
// Of the header, and of any JSON text its metadata holds.
inline constexpr std::size_t max_json_depth = 64;

// The safetensors dtype of T's tensors.
template <typename T>
const char* safetensors_dtype() {
  return std::is_same<T, float>::value ? "F32" : "F64";
}

// "[4, 3]".
std::string shape_text(const std::vector<std::uint64_t>& shape);

// Bytes to read a container from, by offset; every read is bounds-checked first. Throws
// SafetensorsError.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  std::uint64_t size() const { return size_; }
  void read(std::uint64_t offset, void* out, std::size_t n);

 protected:
  virtual void read_at(std::uint64_t offset, void* out, std::size_t n) = 0;
  std::uint64_t size_ = 0;
};

class MemorySource final : public ByteSource {
 public:
  MemorySource(const void* data, std::size_t size);

 private:
  void read_at(std::uint64_t offset, void* out, std::size_t n) override;
  const unsigned char* data_;
};

// A regular file, opened at construction.
class FileSource final : public ByteSource {
 public:
  explicit FileSource(const std::string& path);
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  ~FileSource() override;

 private:
  void read_at(std::uint64_t offset, void* out, std::size_t n) override;
  int fd_ = -1;
};

// A header read and parsed, its tensors not yet checked.
struct SafetensorsHeader {
  nlohmann::json json;  // the header's object, __metadata__ included
  std::optional<std::map<std::string, std::string>> metadata;  // if the header has one
  std::uint64_t data_start = 0, data_size = 0;  // the data region, in the source
};

// The header's length, JSON and metadata (an object of strings, as safetensors requires).
// Throws SafetensorsError.
SafetensorsHeader read_header(ByteSource& source);

// One tensor of the header.
struct TensorEntry {
  std::string name;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0, end = 0;  // in the data region
};

// Every tensor of the header by name, each of dtype (whose element_size bytes), with its
// shape, its byte range inside the data region and of the shape's size, and the ranges
// together covering the data region exactly. whose names what requires the dtype in the
// refusal of another ("the tensors of <whose> are F32"). Throws SafetensorsError.
std::map<std::string, TensorEntry> read_tensor_entries(const SafetensorsHeader& header,
                                                       const char* dtype,
                                                       std::uint64_t element_size,
                                                       const std::string& whose);

// A tensor to write: bytes of data, as the machine holds them.
struct TensorBytes {
  std::string name;
  const char* dtype;
  std::vector<std::uint64_t> shape;
  const void* data;
  std::uint64_t bytes;
};

// The container of metadata and tensors (their bytes in this order), written to path
// atomically (AtomicFile: path is left as it was on any failure). Refuses two tensors of one
// name, a name that is not UTF-8 and a header longer than max_header_bytes. Throws
// SafetensorsError.
void write_safetensors(const std::string& path, const std::map<std::string, std::string>& metadata,
                       const std::vector<TensorBytes>& tensors);

}  // namespace blasnet
