#include "blasnet/model_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "atomic_file.hpp"
#include "strict_json.hpp"

namespace blasnet {

namespace {

// s with every byte that is not part of a well-formed UTF-8 sequence written as \xHH, and
// NUL too: what() is read up to the first NUL, which would cut a path that holds one.
std::string valid_utf8(const std::string& s) {
  std::string out;
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = byte(i);
    std::size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (c == 0) length = 0;
    bool ok = length > 0 && i + length <= s.size();
    for (std::size_t k = 1; ok && k < length; ++k) ok = (byte(i + k) >> 6) == 0x2;
    if (ok) {
      out.append(s, i, length);
      i += length;
      continue;
    }
    static const char hex[] = "0123456789abcdef";
    out += "\\x";
    out += hex[c >> 4];
    out += hex[c & 0xf];
    ++i;
  }
  return out;
}

}  // namespace

ModelFileError::ModelFileError(const std::string& path, const std::string& problem)
    : std::runtime_error(valid_utf8("model file '" + path + "': " + problem)) {}

// The tensors are written and read as the machine holds them: safetensors is little-endian.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "model files are little-endian; this machine is not");

namespace {

using json = nlohmann::json;

constexpr std::uint64_t max_header_bytes = 100'000'000;  // as the safetensors package
constexpr std::size_t max_json_depth = 64;
constexpr std::uint64_t max_size = std::uint64_t(1) << 31;  // of any input, node or dimension
const std::string optimizer_prefix = "__optimizer__.";

template <typename T>
const char* tensor_dtype() {
  return std::is_same<T, float>::value ? "F32" : "F64";
}

template <typename T>
const char* dtype_name() {
  return std::is_same<T, float>::value ? "float32" : "float64";
}

// A name from a file in a message: quoted, and cut short if it is long.
std::string in_quotes(const std::string& name) {
  constexpr std::size_t shown = 80;
  if (name.size() <= shown) return "'" + name + "'";
  return "'" + name.substr(0, shown) + "...' (" + std::to_string(name.size()) + " bytes)";
}

std::string shape_text(const std::vector<std::uint64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

std::vector<std::uint64_t> shape_of(const ParameterInfo& p) {
  if (p.cols == 0) return {p.rows};
  return {p.rows, p.cols};
}

std::string errno_text() { return std::strerror(errno); }

// The system reads a path up to its first NUL byte: "fresh\0.safetensors" would name "fresh".
void check_path(const std::string& path) {
  const std::size_t nul = path.find('\0');
  if (nul != std::string::npos) {
    throw ModelFileError(path, "the path holds a NUL byte (at byte " + std::to_string(nul) +
                                   "), which no file name can hold");
  }
}

// --- JSON, strictly --------------------------------------------------------------------

// Parses text as JSON, refusing nesting deeper than max_json_depth and a key repeated within
// one object (which a plain parse would let the last one win), in time linear in its length.
json parse_json(const std::string& text, const std::string& label, const std::string& what) {
  try {
    return parse_strict_json(text, max_json_depth);
  } catch (const StrictJsonError& e) {
    switch (e.reason()) {
      case StrictJsonError::Reason::too_deep:
        throw ModelFileError(label, what + " nests deeper than " + std::to_string(max_json_depth) +
                                        " levels");
      case StrictJsonError::Reason::repeated_key:
        throw ModelFileError(label, what + " repeats the key " + in_quotes(e.detail()));
      case StrictJsonError::Reason::syntax:
        break;
    }
    throw ModelFileError(label, what + " is not valid JSON: " + e.detail());
  }
}

// Typed access to one JSON object from a file, each failure a ModelFileError naming where.
class Fields {
 public:
  Fields(const json& object, std::string where, const std::string& label)
      : object_(object), where_(std::move(where)), label_(label) {
    if (!object_.is_object()) fail("is not a JSON object");
  }

  [[noreturn]] void fail(const std::string& problem) const {
    throw ModelFileError(label_, where_ + " " + problem);
  }

  // Exactly these keys, no other.
  void expect_keys(std::initializer_list<const char*> names) const {
    for (const char* name : names) {
      if (!object_.contains(name)) fail("has no \"" + std::string(name) + "\"");
    }
    for (const auto& item : object_.items()) {
      const bool known = std::any_of(names.begin(), names.end(),
                                     [&](const char* name) { return item.key() == name; });
      if (!known) fail("has an unknown key " + in_quotes(item.key()));
    }
  }

  const json& at(const char* key) const {
    const auto it = object_.find(key);
    if (it == object_.end()) fail("has no \"" + std::string(key) + "\"");
    return *it;
  }
  std::string string(const char* key) const {
    const json& value = at(key);
    if (!value.is_string()) fail("has a \"" + std::string(key) + "\" that is not a string");
    return value.get<std::string>();
  }
  bool boolean(const char* key) const {
    const json& value = at(key);
    if (!value.is_boolean()) fail("has a \"" + std::string(key) + "\" that is not true or false");
    return value.get<bool>();
  }
  double number(const char* key) const {
    const json& value = at(key);
    if (!value.is_number() || !std::isfinite(value.get<double>())) {
      fail("has a \"" + std::string(key) + "\" that is not a finite number");
    }
    return value.get<double>();
  }
  std::uint64_t count(const char* key) const {
    const json& value = at(key);
    if (!value.is_number_unsigned()) {
      fail("has a \"" + std::string(key) + "\" that is not a non-negative integer");
    }
    return value.get<std::uint64_t>();
  }
  // A size of an input or node: at least 1, below max_size.
  std::size_t size(const char* key) const {
    const std::uint64_t value = count(key);
    if (value == 0 || value >= max_size) {
      fail("has \"" + std::string(key) + "\": " + std::to_string(value) +
           "; sizes must be in [1, 2^31)");
    }
    return static_cast<std::size_t>(value);
  }
  const json& array(const char* key) const {
    const json& value = at(key);
    if (!value.is_array()) fail("has a \"" + std::string(key) + "\" that is not an array");
    return value;
  }
  std::vector<std::string> strings(const char* key) const {
    std::vector<std::string> out;
    for (const json& value : array(key)) {
      if (!value.is_string()) fail("has a \"" + std::string(key) + "\" holding a non-string");
      out.push_back(value.get<std::string>());
    }
    return out;
  }

 private:
  const json& object_;
  std::string where_;
  const std::string& label_;
};

// --- the architecture as JSON ----------------------------------------------------------

json architecture_json(const GraphPlan& plan) {
  json inputs = json::array(), nodes = json::array(), outputs = json::array();
  for (const InputSpec& input : plan.spec.inputs) {
    inputs.push_back({{"name", input.name}, {"dim", input.dim}});
  }
  for (const NodeSpec& node : plan.spec.nodes) {
    nodes.push_back({{"name", node.name},
                     {"inputs", node.inputs},
                     {"units", node.units},
                     {"activation", std::string(activation_name(node.activation))},
                     {"share", node.share},
                     {"transpose", node.transpose},
                     {"dropout", node.dropout}});
  }
  // The spec's outputs in order, each with its loss of now (Graph::set_loss changes it).
  for (std::size_t i = 0; i < plan.spec.outputs.size(); ++i) {
    const OutputSpec& out = plan.spec.outputs[i];
    outputs.push_back({{"node", out.node},
                       {"loss", std::string(loss_name(plan.outputs.at(i).loss))},
                       {"weight", out.weight},
                       {"target", out.target}});
  }
  return {{"inputs", inputs}, {"nodes", nodes}, {"outputs", outputs}};
}

GraphSpec architecture_from_json(const json& j, const std::string& label) {
  const Fields architecture(j, "architecture", label);
  architecture.expect_keys({"inputs", "nodes", "outputs"});
  GraphSpec spec;
  const json& inputs = architecture.array("inputs");
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Fields f(inputs[i], "architecture input " + std::to_string(i), label);
    f.expect_keys({"name", "dim"});
    spec.inputs.push_back({f.string("name"), f.size("dim")});
  }
  const json& nodes = architecture.array("nodes");
  for (std::size_t k = 0; k < nodes.size(); ++k) {
    const Fields f(nodes[k], "architecture node " + std::to_string(k), label);
    f.expect_keys({"name", "inputs", "units", "activation", "share", "transpose", "dropout"});
    NodeSpec node;
    node.name = f.string("name");
    node.inputs = f.strings("inputs");
    node.units = f.size("units");
    try {
      node.activation = parse_activation(f.string("activation"));
    } catch (const std::invalid_argument& e) {
      f.fail(std::string("has an ") + e.what());
    }
    node.share = f.string("share");
    node.transpose = f.boolean("transpose");
    node.dropout = f.number("dropout");
    spec.nodes.push_back(std::move(node));
  }
  const json& outputs = architecture.array("outputs");
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const Fields f(outputs[i], "architecture output " + std::to_string(i), label);
    f.expect_keys({"node", "loss", "weight", "target"});
    OutputSpec out;
    out.node = f.string("node");
    try {
      out.loss = parse_loss(f.string("loss"));
    } catch (const std::invalid_argument& e) {
      f.fail(std::string("has an ") + e.what());
    }
    out.weight = f.number("weight");
    out.target = f.string("target");
    spec.outputs.push_back(std::move(out));
  }
  return spec;
}

// --- the optimizer ---------------------------------------------------------------------

// The rule and hyperparameters of an optimizer, without its buffers.
OptimizerRecord rule_of(const Optimizer& optimizer) {
  OptimizerRecord record;
  record.lr = optimizer.lr();
  record.steps = optimizer.steps();
  if (const auto* sgd = dynamic_cast<const SGD*>(&optimizer)) {
    record.name = "SGD";
    record.hyperparameters = {{"momentum", sgd->momentum()},
                              {"nesterov", sgd->nesterov() ? 1.0 : 0.0},
                              {"weight_decay", sgd->weight_decay()}};
  } else if (const auto* adam = dynamic_cast<const AdamFamily*>(&optimizer)) {
    record.name = dynamic_cast<const AdamW*>(&optimizer) != nullptr ? "AdamW" : "Adam";
    record.hyperparameters = {{"beta_1", adam->beta_1()},
                              {"beta_2", adam->beta_2()},
                              {"epsilon", adam->epsilon()},
                              {"weight_decay", adam->weight_decay()}};
  } else {
    throw std::invalid_argument("model file: cannot record the optimizer " +
                                optimizer.describe() + "; only SGD, Adam and AdamW");
  }
  return record;
}

json optimizer_json(const OptimizerRecord& record, const std::vector<std::string>& state) {
  json hyperparameters = json::object();
  for (const auto& [key, value] : record.hyperparameters) {
    if (key == "nesterov") {
      hyperparameters[key] = value != 0;
    } else {
      hyperparameters[key] = value;
    }
  }
  return {{"name", record.name},
          {"lr", record.lr},
          {"hyperparameters", hyperparameters},
          {"steps", record.steps},
          {"state", state}};
}

// The record a file describes, without the buffers' values; state holds their names.
OptimizerRecord optimizer_from_json(const json& j, std::vector<std::string>& state,
                                    const std::string& label) {
  const Fields f(j, "optimizer", label);
  f.expect_keys({"name", "lr", "hyperparameters", "steps", "state"});
  OptimizerRecord record;
  record.name = f.string("name");
  record.lr = f.number("lr");
  record.steps = f.count("steps");
  state = f.strings("state");
  const Fields hyper(f.at("hyperparameters"), "optimizer hyperparameters", label);
  for (const auto& item : f.at("hyperparameters").items()) {
    if (item.key() == "nesterov") {
      record.hyperparameters[item.key()] = hyper.boolean("nesterov") ? 1.0 : 0.0;
    } else {
      record.hyperparameters[item.key()] = hyper.number(item.key().c_str());
    }
  }
  return record;
}

// --- writing ---------------------------------------------------------------------------

void put_u64_le(unsigned char* out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<unsigned char>(value >> (8 * i));
}

std::uint64_t get_u64_le(const unsigned char* in) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value |= std::uint64_t(in[i]) << (8 * i);
  return value;
}

// --- reading ---------------------------------------------------------------------------

// Bytes to read a model from, by offset; every read is bounds-checked first.
class ByteSource {
 public:
  explicit ByteSource(std::string label) : label_(std::move(label)) {}
  virtual ~ByteSource() = default;
  std::uint64_t size() const { return size_; }
  const std::string& label() const { return label_; }
  void read(std::uint64_t offset, void* out, std::size_t n) {
    if (offset > size_ || n > size_ - offset) {
      throw ModelFileError(label_, "a read past the end of the file");
    }
    read_at(offset, out, n);
  }

 protected:
  virtual void read_at(std::uint64_t offset, void* out, std::size_t n) = 0;
  std::uint64_t size_ = 0;
  std::string label_;
};

class MemorySource final : public ByteSource {
 public:
  MemorySource(const void* data, std::size_t size, std::string label)
      : ByteSource(std::move(label)), data_(static_cast<const unsigned char*>(data)) {
    size_ = size;
  }

 private:
  void read_at(std::uint64_t offset, void* out, std::size_t n) override {
    if (n > 0) std::memcpy(out, data_ + offset, n);
  }
  const unsigned char* data_;
};

class FileSource final : public ByteSource {
 public:
  explicit FileSource(const std::string& path) : ByteSource(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw ModelFileError(path, "cannot open it: " + errno_text());
    struct stat info {};
    if (::fstat(fd_, &info) != 0) {
      const std::string error = errno_text();
      ::close(fd_);
      throw ModelFileError(path, "cannot read its size: " + error);
    }
    if (!S_ISREG(info.st_mode)) {
      ::close(fd_);
      throw ModelFileError(path, "is not a regular file");
    }
    size_ = static_cast<std::uint64_t>(info.st_size);
  }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  ~FileSource() override { ::close(fd_); }

 private:
  void read_at(std::uint64_t offset, void* out, std::size_t n) override {
    char* bytes = static_cast<char*>(out);
    while (n > 0) {
      const ssize_t got =
          ::pread(fd_, bytes, std::min<std::size_t>(n, 1 << 30), static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw ModelFileError(label_, "reading failed: " + errno_text());
      if (got == 0) throw ModelFileError(label_, "ended early: it changed while being read");
      bytes += got;
      offset += static_cast<std::uint64_t>(got);
      n -= static_cast<std::size_t>(got);
    }
  }
  int fd_ = -1;
};

// One tensor of the header, checked on its own.
struct TensorEntry {
  std::string name;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0, end = 0;  // in the data region
};

TensorEntry tensor_entry(const std::string& name, const json& j, const char* dtype,
                         const char* model_dtype, std::uint64_t element_size,
                         std::uint64_t data_size, const std::string& label) {
  const Fields f(j, "tensor " + in_quotes(name), label);
  f.expect_keys({"dtype", "shape", "data_offsets"});
  TensorEntry entry{name, {}, 0, 0};
  const std::string type = f.string("dtype");
  if (type != dtype) {
    f.fail("has dtype " + in_quotes(type) + "; the tensors of a " + model_dtype + " model are " +
           dtype);
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
void check_layout(std::vector<const TensorEntry*> tensors, std::uint64_t data_size,
                  const std::string& label) {
  std::sort(tensors.begin(), tensors.end(), [](const TensorEntry* a, const TensorEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  std::uint64_t at = 0;
  const TensorEntry* previous = nullptr;
  for (const TensorEntry* t : tensors) {
    if (t->begin < at) {
      throw ModelFileError(label, "tensors " + in_quotes(previous->name) + " and " +
                                      in_quotes(t->name) + " overlap");
    }
    if (t->begin > at) {
      throw ModelFileError(label, "the " + std::to_string(t->begin - at) + " bytes before tensor " +
                                      in_quotes(t->name) + " belong to no tensor");
    }
    at = t->end;
    previous = t;
  }
  if (at != data_size) {
    throw ModelFileError(label, "the last " + std::to_string(data_size - at) +
                                    " bytes of the file belong to no tensor");
  }
}

template <typename T>
LoadedModel read_tensors(ByteSource& source, std::uint64_t data_start, ModelFile file,
                         GraphPlan plan, const std::map<std::string, TensorEntry>& tensors,
                         const std::vector<std::string>& state) {
  const std::string& label = source.label();
  Graph<T> graph(std::move(plan), 0);
  Span<T> params = graph.parameters();
  // A weight or a moment that is NaN or infinite would poison every prediction and step.
  const auto check_finite = [&](const std::string& name, const T* values, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      if (!std::isfinite(values[i])) {
        throw ModelFileError(label, "tensor " + in_quotes(name) + " holds NaN or Inf (value " +
                                        std::to_string(i) + ")");
      }
    }
  };
  for (const ParameterInfo& p : graph.parameter_info()) {
    const TensorEntry& t = tensors.at(p.name);
    source.read(data_start + t.begin, params.data + p.offset, p.size() * sizeof(T));
    check_finite(p.name, params.data + p.offset, p.size());
  }
  if (file.optimizer) {
    for (const std::string& name : state) {
      const TensorEntry& t = tensors.at(optimizer_prefix + name);
      std::vector<T> values(params.size);
      source.read(data_start + t.begin, values.data(), values.size() * sizeof(T));
      check_finite(optimizer_prefix + name, values.data(), values.size());
      file.optimizer->buffers.emplace_back(name, std::move(values));
    }
    try {
      make_optimizer(*file.optimizer);  // every check the rule makes, now rather than later
    } catch (const std::invalid_argument& e) {
      throw ModelFileError(label, std::string("has an optimizer that cannot be rebuilt: ") +
                                      e.what());
    }
  }
  return LoadedModel{std::move(file), std::variant<Graph<float>, Graph<double>>(std::move(graph))};
}

LoadedModel read_model(ByteSource& source) {
  const std::string& label = source.label();
  const std::uint64_t size = source.size();
  if (size < 8) {
    throw ModelFileError(label, "is " + std::to_string(size) +
                                    " bytes long; a model file starts with an 8-byte header "
                                    "length");
  }
  unsigned char length_bytes[8];
  source.read(0, length_bytes, 8);
  const std::uint64_t header_size = get_u64_le(length_bytes);
  if (header_size > max_header_bytes) {
    throw ModelFileError(label, "claims a header of " + std::to_string(header_size) +
                                    " bytes; the limit is " + std::to_string(max_header_bytes));
  }
  if (header_size > size - 8) {
    throw ModelFileError(label, "claims a header of " + std::to_string(header_size) +
                                    " bytes but only " + std::to_string(size - 8) + " follow");
  }
  std::string text(static_cast<std::size_t>(header_size), '\0');
  source.read(8, text.data(), text.size());
  const std::uint64_t data_start = 8 + header_size;
  const std::uint64_t data_size = size - data_start;

  const json header = parse_json(text, label, "the header");
  if (!header.is_object()) throw ModelFileError(label, "has a header that is not a JSON object");

  // __metadata__: strings only, as safetensors requires; ours is "blasnet".
  const auto metadata = header.find("__metadata__");
  if (metadata == header.end()) {
    throw ModelFileError(label, "has no __metadata__; it is not a blasnet model file");
  }
  const Fields meta_fields(*metadata, "__metadata__", label);
  for (const auto& item : metadata->items()) {
    if (!item.value().is_string()) {
      meta_fields.fail("holds " + in_quotes(item.key()) + ", which is not a string");
    }
  }
  if (!metadata->contains("format") || metadata->at("format") != "blasnet" ||
      !metadata->contains("blasnet")) {
    throw ModelFileError(label, "has no blasnet description in its __metadata__; it is not a "
                                "blasnet model file");
  }
  const json description = parse_json(meta_fields.string("blasnet"), label,
                                       "the blasnet metadata");
  const Fields meta(description, "blasnet metadata", label);
  const std::uint64_t version = meta.count("format_version");
  if (version != model_file_version) {
    throw ModelFileError(label, "has format version " + std::to_string(version) +
                                    "; this blasnet reads version " +
                                    std::to_string(model_file_version));
  }
  meta.expect_keys({"format_version", "kind", "dtype", "architecture", "optimizer", "extra"});

  ModelFile file;
  file.kind = meta.string("kind");
  if (file.kind.empty()) meta.fail("has an empty \"kind\"");
  file.dtype = meta.string("dtype");
  if (file.dtype != "float32" && file.dtype != "float64") {
    meta.fail("has dtype " + in_quotes(file.dtype) + "; blasnet models are float32 or float64");
  }
  const bool is_float = file.dtype == "float32";
  if (!meta.at("extra").is_object()) meta.fail("has an \"extra\" that is not a JSON object");
  file.extra = meta.at("extra").dump();
  file.spec = architecture_from_json(meta.at("architecture"), label);
  std::vector<std::string> state;
  if (!meta.at("optimizer").is_null()) {
    file.optimizer = optimizer_from_json(meta.at("optimizer"), state, label);
  }

  // The tensors, each on its own, then together.
  std::map<std::string, TensorEntry> tensors;
  for (const auto& item : header.items()) {
    if (item.key() == "__metadata__") continue;
    tensors.emplace(item.key(),
                    tensor_entry(item.key(), item.value(), is_float ? "F32" : "F64",
                                 file.dtype.c_str(), is_float ? 4 : 8, data_size, label));
  }
  std::vector<const TensorEntry*> entries;
  for (const auto& [name, entry] : tensors) entries.push_back(&entry);
  check_layout(entries, data_size, label);

  // The architecture, with every check a graph makes.
  GraphPlan plan;
  try {
    plan = GraphPlan::build(file.spec);
  } catch (const std::invalid_argument& e) {
    throw ModelFileError(label, std::string("has an invalid architecture: ") + e.what());
  } catch (const std::overflow_error& e) {  // sizes in range whose sum is not
    throw ModelFileError(label, std::string("has an invalid architecture: ") + e.what());
  }

  // Exactly the plan's parameters and the optimizer's buffers, each of its shape.
  std::vector<std::pair<std::string, std::vector<std::uint64_t>>> expected;
  for (const ParameterInfo& p : plan.parameters) expected.emplace_back(p.name, shape_of(p));
  std::set<std::string> state_seen;
  for (const std::string& name : state) {
    if (!state_seen.insert(name).second) {
      throw ModelFileError(label, "lists optimizer buffer " + in_quotes(name) + " twice");
    }
    expected.emplace_back(optimizer_prefix + name,
                          std::vector<std::uint64_t>{plan.parameter_count});
  }
  std::set<std::string> expected_names;
  for (const auto& [name, shape] : expected) {
    if (!expected_names.insert(name).second) {
      throw ModelFileError(label, "has two tensors to be named " + in_quotes(name));
    }
    const auto it = tensors.find(name);
    if (it == tensors.end()) throw ModelFileError(label, "has no tensor " + in_quotes(name));
    if (it->second.shape != shape) {
      throw ModelFileError(label, "has tensor " + in_quotes(name) + " of shape " +
                                      shape_text(it->second.shape) + "; the " +
                                      (name.rfind(optimizer_prefix, 0) == 0
                                           ? "optimizer needs "
                                           : "architecture needs ") +
                                      shape_text(shape));
    }
  }
  for (const auto& [name, entry] : tensors) {
    if (expected_names.count(name) == 0) {
      throw ModelFileError(label, "has tensor " + in_quotes(name) +
                                      ", which is neither a parameter of the architecture nor "
                                      "an optimizer buffer");
    }
  }

  // Only now, with every size checked against the file, is anything allocated.
  if (is_float) {
    return read_tensors<float>(source, data_start, std::move(file), std::move(plan), tensors,
                               state);
  }
  return read_tensors<double>(source, data_start, std::move(file), std::move(plan), tensors,
                              state);
}

}  // namespace

// --- optimizer records ------------------------------------------------------------------

OptimizerRecord record_optimizer(const Optimizer& optimizer) {
  const auto held = optimizer.hold();  // one state, not a fit's steps apart
  OptimizerRecord record = rule_of(optimizer);
  if (!optimizer.has_state()) return record;
  for (const std::string& name : optimizer.state_names()) {
    if (optimizer.holds_state<float>()) {
      const Span<const float> values = optimizer.state<float>(name);
      record.buffers.emplace_back(name, std::vector<float>(values.begin(), values.end()));
    } else {
      const Span<const double> values = optimizer.state<double>(name);
      record.buffers.emplace_back(name, std::vector<double>(values.begin(), values.end()));
    }
  }
  return record;
}

namespace {

template <typename T>
void load_buffers(Optimizer& optimizer, const OptimizerRecord& record) {
  std::vector<std::pair<std::string, Span<const T>>> buffers;
  for (const auto& [name, values] : record.buffers) {
    const auto* typed = std::get_if<std::vector<T>>(&values);
    if (typed == nullptr) {
      throw std::invalid_argument("optimizer record: buffers of mixed types");
    }
    buffers.emplace_back(name, Span<const T>{typed->data(), typed->size()});
  }
  optimizer.load_state<T>(record.steps, buffers);
}

}  // namespace

std::unique_ptr<Optimizer> make_optimizer(const OptimizerRecord& record) {
  const auto& h = record.hyperparameters;
  auto expect = [&](std::initializer_list<const char*> names) {
    for (const char* name : names) {
      if (h.count(name) == 0) {
        throw std::invalid_argument("optimizer record: " + record.name + " needs hyperparameter " +
                                    name);
      }
    }
    if (h.size() != names.size()) {
      for (const auto& item : h) {
        if (std::none_of(names.begin(), names.end(),
                         [&](const char* name) { return item.first == name; })) {
          throw std::invalid_argument("optimizer record: " + record.name +
                                      " has no hyperparameter " + in_quotes(item.first));
        }
      }
    }
  };
  // Constructors refuse a rate of 0, which a schedule may have reached: restored below.
  const double constructible_lr = record.lr > 0 ? record.lr : 1.0;
  std::unique_ptr<Optimizer> optimizer;
  if (record.name == "SGD") {
    expect({"momentum", "nesterov", "weight_decay"});
    const double nesterov = h.at("nesterov");
    if (nesterov != 0 && nesterov != 1) {
      throw std::invalid_argument("optimizer record: SGD's nesterov must be 0 or 1");
    }
    optimizer = std::make_unique<SGD>(constructible_lr, h.at("momentum"), nesterov == 1,
                                      h.at("weight_decay"));
  } else if (record.name == "Adam" || record.name == "AdamW") {
    expect({"beta_1", "beta_2", "epsilon", "weight_decay"});
    if (record.name == "Adam") {
      optimizer = std::make_unique<Adam>(constructible_lr, h.at("beta_1"), h.at("beta_2"),
                                         h.at("epsilon"), h.at("weight_decay"));
    } else {
      optimizer = std::make_unique<AdamW>(constructible_lr, h.at("beta_1"), h.at("beta_2"),
                                          h.at("epsilon"), h.at("weight_decay"));
    }
  } else {
    throw std::invalid_argument("optimizer record: unknown optimizer " + in_quotes(record.name) +
                                "; known: SGD, Adam, AdamW");
  }
  optimizer->restore_lr(record.lr);  // a schedule may have left it at 0
  if (!record.buffers.empty() &&
      std::holds_alternative<std::vector<double>>(record.buffers.front().second)) {
    load_buffers<double>(*optimizer, record);
  } else {
    load_buffers<float>(*optimizer, record);
  }
  return optimizer;
}

// --- save ------------------------------------------------------------------------------

template <typename T>
void save(const std::string& path, const Graph<T>& graph, const std::string& kind,
          const Optimizer* optimizer, const std::string& extra) {
  check_path(path);
  if (kind.empty()) throw ModelFileError(path, "cannot be saved with an empty kind");
  const GraphPlan& plan = graph.plan();
  // load refuses such a file: better to keep the previous one than to write it.
  const Span<const T> values = graph.parameters();
  for (const ParameterInfo& p : plan.parameters) {
    for (std::size_t i = p.offset; i < p.offset + p.size(); ++i) {
      if (!std::isfinite(values[i])) {
        throw ModelFileError(path, "not saved: parameter " + in_quotes(p.name) +
                                       " holds NaN or Inf");
      }
    }
  }

  json description = {{"format_version", model_file_version},
                      {"kind", kind},
                      {"dtype", dtype_name<T>()},
                      {"architecture", architecture_json(plan)},
                      {"optimizer", nullptr},
                      {"extra", parse_json(extra, path, "extra")}};
  if (!description["extra"].is_object()) {
    throw ModelFileError(path, "extra must be the text of a JSON object, got " + in_quotes(extra));
  }

  // The tensors in the order of their bytes: parameters, then the optimizer's buffers.
  std::vector<std::pair<std::string, Span<const T>>> tensors;
  std::vector<std::vector<std::uint64_t>> shapes;
  const Span<const T> params = graph.parameters();
  for (const ParameterInfo& p : plan.parameters) {
    tensors.emplace_back(p.name, Span<const T>{params.data + p.offset, p.size()});
    shapes.push_back(shape_of(p));
  }
  if (optimizer != nullptr) {
    OptimizerRecord rule;
    try {
      rule = rule_of(*optimizer);
    } catch (const std::invalid_argument& e) {
      throw ModelFileError(path, e.what());
    }
    std::vector<std::string> state;
    if (optimizer->has_state()) {
      if (!optimizer->holds_state<T>() || optimizer->state_size() != params.size) {
        throw ModelFileError(path, "the optimizer's state belongs to another network: " +
                                       std::to_string(optimizer->state_size()) +
                                       " values, this one has " + std::to_string(params.size) +
                                       " " + dtype_name<T>() + " parameters");
      }
      state = optimizer->state_names();
      for (const std::string& name : state) {
        tensors.emplace_back(optimizer_prefix + name, optimizer->state<T>(name));
        shapes.push_back({params.size});
      }
    }
    description["optimizer"] = optimizer_json(rule, state);
  }

  std::string text;
  try {
    json header = json::object();
    header["__metadata__"] = {{"format", "blasnet"}, {"blasnet", description.dump()}};
    std::uint64_t offset = 0;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      if (header.contains(tensors[i].first)) {
        throw ModelFileError(path, "two tensors would be named " + in_quotes(tensors[i].first));
      }
      const std::uint64_t bytes = tensors[i].second.size * sizeof(T);
      header[tensors[i].first] = {{"dtype", tensor_dtype<T>()},
                                  {"shape", shapes[i]},
                                  {"data_offsets", {offset, offset + bytes}}};
      offset += bytes;
    }
    text = header.dump();
  } catch (const json::exception& e) {
    // dump() refuses a name that is not UTF-8.
    throw ModelFileError(path, std::string("cannot be written as JSON: ") + e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  // load refuses such a file, as it refuses NaN weights: better to keep the previous one.
  if (text.size() > max_header_bytes) {
    throw ModelFileError(path, "not saved: its header would be " + std::to_string(text.size()) +
                                   " bytes; a model file's header is at most " +
                                   std::to_string(max_header_bytes));
  }

  try {
    AtomicFile file(path);
    unsigned char length[8];
    put_u64_le(length, text.size());
    file.write(length, sizeof length);
    file.write(text.data(), text.size());
    for (const auto& tensor : tensors) {
      file.write(tensor.second.data, tensor.second.size * sizeof(T));
    }
    file.commit();
  } catch (const AtomicFileError& e) {
    throw ModelFileError(path, e.what());
  }
}

template <typename T>
void save(const std::string& path, const Network<T>& net, const Optimizer* optimizer,
          const std::string& extra) {
  save(path, net.graph(), "sequential", optimizer, extra);
}

void write_atomically(const std::string& path, const void* data, std::size_t size) {
  check_path(path);
  try {
    AtomicFile file(path);
    file.write(data, size);
    file.commit();
  } catch (const AtomicFileError& e) {
    throw ModelFileError(path, e.what());
  }
}

// --- load ------------------------------------------------------------------------------

namespace {

// read_model, with whatever else a bad file may set off turned into a ModelFileError.
LoadedModel checked_read(ByteSource& source) {
  try {
    return read_model(source);
  } catch (const ModelFileError&) {
    throw;
  } catch (const json::exception& e) {
    throw ModelFileError(source.label(), std::string("is malformed: ") + e.what());
  } catch (const std::invalid_argument& e) {
    throw ModelFileError(source.label(), e.what());
  }
}

}  // namespace

LoadedModel load(const std::string& path) {
  check_path(path);
  FileSource source(path);
  return checked_read(source);
}

LoadedModel load_from_memory(const void* data, std::size_t size, const std::string& label) {
  MemorySource source(data, size, label);
  return checked_read(source);
}

template <typename T>
Graph<T> load_graph(const std::string& path) {
  LoadedModel model = load(path);
  if (model.file.dtype != dtype_name<T>()) {
    throw ModelFileError(path, "holds a " + model.file.dtype + " model, not " + dtype_name<T>());
  }
  return std::get<Graph<T>>(std::move(model.graph));
}

template <typename T>
Network<T> load_network(const std::string& path) {
  LoadedModel model = load(path);
  if (model.file.kind != "sequential") {
    throw ModelFileError(path, "holds a model of kind " + in_quotes(model.file.kind) +
                                   ", not a sequential network");
  }
  if (model.file.dtype != dtype_name<T>()) {
    throw ModelFileError(path, "holds a " + model.file.dtype + " model, not " + dtype_name<T>());
  }
  try {
    return Network<T>(std::get<Graph<T>>(std::move(model.graph)));
  } catch (const std::invalid_argument& e) {
    throw ModelFileError(path, e.what());
  }
}

#define BLASNET_MODEL_FILE(T)                                                               \
  template void save<T>(const std::string&, const Graph<T>&, const std::string&,           \
                        const Optimizer*, const std::string&);                             \
  template void save<T>(const std::string&, const Network<T>&, const Optimizer*,           \
                        const std::string&);                                               \
  template Graph<T> load_graph<T>(const std::string&);                                     \
  template Network<T> load_network<T>(const std::string&);
BLASNET_MODEL_FILE(float)
BLASNET_MODEL_FILE(double)
#undef BLASNET_MODEL_FILE

}  // namespace blasnet
