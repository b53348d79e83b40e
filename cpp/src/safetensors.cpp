#include "safetensors.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "atomic_file.hpp"
#include "strict_json.hpp"

namespace blasnet {

// The tensors are written and read as the machine holds them: safetensors is little-endian.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "model files are little-endian; this machine is not");

namespace {

using json = nlohmann::json;

std::string errno_text() { return std::strerror(errno); }

void put_u64_le(unsigned char* out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<unsigned char>(value >> (8 * i));
}

std::uint64_t get_u64_le(const unsigned char* in) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value |= std::uint64_t(in[i]) << (8 * i);
  return value;
}

}  // namespace

std::string shape_text(const std::vector<std::uint64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// --- reading ---------------------------------------------------------------------------

void ByteSource::read(std::uint64_t offset, void* out, std::size_t n) {
  if (offset > size_ || n > size_ - offset) {
    throw SafetensorsError("a read past the end of the file");
  }
  read_at(offset, out, n);
}

MemorySource::MemorySource(const void* data, std::size_t size)
    : data_(static_cast<const unsigned char*>(data)) {
  size_ = size;
}

void MemorySource::read_at(std::uint64_t offset, void* out, std::size_t n) {
  if (n > 0) std::memcpy(out, data_ + offset, n);
}

FileSource::FileSource(const std::string& path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw SafetensorsError("cannot open it: " + errno_text());
  struct stat info {};
  if (::fstat(fd_, &info) != 0) {
    const std::string error = errno_text();
    ::close(fd_);
    throw SafetensorsError("cannot read its size: " + error);
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd_);
    throw SafetensorsError("is not a regular file");
  }
  size_ = static_cast<std::uint64_t>(info.st_size);
}

FileSource::~FileSource() { ::close(fd_); }

void FileSource::read_at(std::uint64_t offset, void* out, std::size_t n) {
  char* bytes = static_cast<char*>(out);
  while (n > 0) {
    const ssize_t got =
        ::pread(fd_, bytes, std::min<std::size_t>(n, 1 << 30), static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw SafetensorsError("reading failed: " + errno_text());
    if (got == 0) throw SafetensorsError("ended early: it changed while being read");
    bytes += got;
    offset += static_cast<std::uint64_t>(got);
    n -= static_cast<std::size_t>(got);
  }
}

SafetensorsHeader read_header(ByteSource& source) {
  const std::uint64_t size = source.size();
  if (size < 8) {
    throw SafetensorsError("is " + std::to_string(size) +
                           " bytes long; a model file starts with an 8-byte header length");
  }
  unsigned char length_bytes[8];
  source.read(0, length_bytes, 8);
  const std::uint64_t header_size = get_u64_le(length_bytes);
  if (header_size > max_header_bytes) {
    throw SafetensorsError("claims a header of " + std::to_string(header_size) +
                           " bytes; the limit is " + std::to_string(max_header_bytes));
  }
  if (header_size > size - 8) {
    throw SafetensorsError("claims a header of " + std::to_string(header_size) +
                           " bytes but only " + std::to_string(size - 8) + " follow");
  }
  std::string text(static_cast<std::size_t>(header_size), '\0');
  source.read(8, text.data(), text.size());
  SafetensorsHeader header;
  header.data_start = 8 + header_size;
  header.data_size = size - header.data_start;

  try {
    header.json = parse_strict_json(text, max_json_depth);
  } catch (const StrictJsonError& e) {
    throw SafetensorsError(refusal_text(e, "the header", max_json_depth));
  }
  if (!header.json.is_object()) throw SafetensorsError("has a header that is not a JSON object");

  // __metadata__: strings only, as safetensors requires.
  const auto metadata = header.json.find("__metadata__");
  if (metadata == header.json.end()) return header;
  if (!metadata->is_object()) throw SafetensorsError("__metadata__ is not a JSON object");
  header.metadata.emplace();
  for (const auto& item : metadata->items()) {
    if (!item.value().is_string()) {
      throw SafetensorsError("__metadata__ holds " + in_quotes(item.key()) +
                             ", which is not a string");
    }
    header.metadata->emplace(item.key(), item.value().get<std::string>());
  }
  return header;
}

namespace {

// One tensor of the header, checked on its own.
TensorEntry tensor_entry(const std::string& name, const json& j, const char* dtype,
                         std::uint64_t element_size, const std::string& whose,
                         std::uint64_t data_size) {
  const JsonFields f(j, "tensor " + in_quotes(name));
  f.expect_keys({"dtype", "shape", "data_offsets"});
  TensorEntry entry{name, {}, 0, 0};
  const std::string type = f.string("dtype");
  if (type != dtype) {
    f.fail("has dtype " + in_quotes(type) + "; the tensors of " + whose + " are " + dtype);
  }
  std::uint64_t elements = 1;
  for (const json& dim : f.array("shape")) {
    if (!dim.is_number_unsigned()) f.fail("has a shape entry that is not a non-negative integer");
    const std::uint64_t d = dim.get<std::uint64_t>();
    entry.shape.push_back(d);
    if (__builtin_mul_overflow(elements, d, &elements)) f.fail("has a shape too large to hold");
  }
  std::uint64_t bytes = 0;
  if (__builtin_mul_overflow(elements, element_size, &bytes)) {
    f.fail("has a shape too large to hold");
  }
  const json& offsets = f.array("data_offsets");
  if (offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned()) {
    f.fail("has \"data_offsets\" that are not two non-negative integers");
  }
  entry.begin = offsets[0].get<std::uint64_t>();
  entry.end = offsets[1].get<std::uint64_t>();
  if (entry.begin > entry.end || entry.end > data_size) {
    f.fail("has data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) +
           "] outside the data region of " + std::to_string(data_size) + " bytes");
  }
  if (entry.end - entry.begin != bytes) {
    f.fail("has shape " + shape_text(entry.shape) + " (" + std::to_string(bytes) +
           " bytes) but data_offsets spanning " + std::to_string(entry.end - entry.begin) +
           " bytes");
  }
  return entry;
}

// Every byte of the data region belongs to exactly one tensor.
void check_layout(std::vector<const TensorEntry*> tensors, std::uint64_t data_size) {
  std::sort(tensors.begin(), tensors.end(), [](const TensorEntry* a, const TensorEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  std::uint64_t at = 0;
  const TensorEntry* previous = nullptr;
  for (const TensorEntry* t : tensors) {
    if (t->begin < at) {
      throw SafetensorsError("tensors " + in_quotes(previous->name) + " and " +
                             in_quotes(t->name) + " overlap");
    }
    if (t->begin > at) {
      throw SafetensorsError("the " + std::to_string(t->begin - at) + " bytes before tensor " +
                             in_quotes(t->name) + " belong to no tensor");
    }
    at = t->end;
    previous = t;
  }
  if (at != data_size) {
    throw SafetensorsError("the last " + std::to_string(data_size - at) +
                           " bytes of the file belong to no tensor");
  }
}

}  // namespace

std::map<std::string, TensorEntry> read_tensor_entries(const SafetensorsHeader& header,
                                                       const char* dtype,
                                                       std::uint64_t element_size,
                                                       const std::string& whose) {
  // The tensors, each on its own, then together.
  std::map<std::string, TensorEntry> tensors;
  try {
    for (const auto& item : header.json.items()) {
      if (item.key() == "__metadata__") continue;
      tensors.emplace(item.key(), tensor_entry(item.key(), item.value(), dtype, element_size,
                                               whose, header.data_size));
    }
  } catch (const JsonFieldError& e) {
    throw SafetensorsError(e.what());
  }
  std::vector<const TensorEntry*> entries;
  for (const auto& [name, entry] : tensors) entries.push_back(&entry);
  check_layout(entries, header.data_size);
  return tensors;
}

// --- writing ---------------------------------------------------------------------------

void write_safetensors(const std::string& path, const std::map<std::string, std::string>& metadata,
                       const std::vector<TensorBytes>& tensors) {
  std::string text;
  try {
    json header = json::object();
    header["__metadata__"] = metadata;
    std::uint64_t offset = 0;
    for (const TensorBytes& tensor : tensors) {
      if (header.contains(tensor.name)) {
        throw SafetensorsError("two tensors would be named " + in_quotes(tensor.name));
      }
      header[tensor.name] = {{"dtype", tensor.dtype},
                             {"shape", tensor.shape},
                             {"data_offsets", {offset, offset + tensor.bytes}}};
      offset += tensor.bytes;
    }
    text = header.dump();
  } catch (const json::exception& e) {
    // dump() refuses a name that is not UTF-8.
    throw SafetensorsError(std::string("cannot be written as JSON: ") + e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  // A reader refuses such a file: better to keep the previous one.
  if (text.size() > max_header_bytes) {
    throw SafetensorsError("not saved: its header would be " + std::to_string(text.size()) +
                           " bytes; a model file's header is at most " +
                           std::to_string(max_header_bytes));
  }

  try {
    AtomicFile file(path);
    unsigned char length[8];
    put_u64_le(length, text.size());
    file.write(length, sizeof length);
    file.write(text.data(), text.size());
    for (const TensorBytes& tensor : tensors) file.write(tensor.data, tensor.bytes);
    file.commit();
  } catch (const AtomicFileError& e) {
    throw SafetensorsError(e.what());
  }
}

}  // namespace blasnet
