#include "blasnet/model_file.hpp"

#include <algorithm>
#include <set>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "atomic_file.hpp"
#include "finite.hpp"
#include "safetensors.hpp"
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

namespace {

using json = nlohmann::json;

constexpr std::uint64_t max_size = std::uint64_t(1) << 31;  // of any input, node or dimension
const std::string optimizer_prefix = "__optimizer__.";

template <typename T>
const char* dtype_name() {
  return std::is_same<T, float>::value ? "float32" : "float64";
}

std::vector<std::uint64_t> shape_of(const ParameterInfo& p) {
  if (p.cols == 0) return {p.rows};
  return {p.rows, p.cols};
}

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
    throw ModelFileError(label, refusal_text(e, what, max_json_depth));
  }
}

// A size of an input or node: at least 1, below max_size.
std::size_t size_field(const JsonFields& f, const char* key) {
  const std::uint64_t value = f.count(key);
  if (value == 0 || value >= max_size) {
    f.fail("has \"" + std::string(key) + "\": " + std::to_string(value) +
           "; sizes must be in [1, 2^31)");
  }
  return static_cast<std::size_t>(value);
}

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

GraphSpec architecture_from_json(const json& j) {
  const JsonFields architecture(j, "architecture");
  architecture.expect_keys({"inputs", "nodes", "outputs"});
  GraphSpec spec;
  const json& inputs = architecture.array("inputs");
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const JsonFields f(inputs[i], "architecture input " + std::to_string(i));
    f.expect_keys({"name", "dim"});
    spec.inputs.push_back({f.string("name"), size_field(f, "dim")});
  }
  const json& nodes = architecture.array("nodes");
  for (std::size_t k = 0; k < nodes.size(); ++k) {
    const JsonFields f(nodes[k], "architecture node " + std::to_string(k));
    f.expect_keys({"name", "inputs", "units", "activation", "share", "transpose", "dropout"});
    NodeSpec node;
    node.name = f.string("name");
    node.inputs = f.strings("inputs");
    node.units = size_field(f, "units");
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
    const JsonFields f(outputs[i], "architecture output " + std::to_string(i));
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
OptimizerRecord optimizer_from_json(const json& j, std::vector<std::string>& state) {
  const JsonFields f(j, "optimizer");
  f.expect_keys({"name", "lr", "hyperparameters", "steps", "state"});
  OptimizerRecord record;
  record.name = f.string("name");
  record.lr = f.number("lr");
  record.steps = f.count("steps");
  state = f.strings("state");
  const JsonFields hyper(f.at("hyperparameters"), "optimizer hyperparameters");
  for (const auto& item : f.at("hyperparameters").items()) {
    if (item.key() == "nesterov") {
      record.hyperparameters[item.key()] = hyper.boolean("nesterov") ? 1.0 : 0.0;
    } else {
      record.hyperparameters[item.key()] = hyper.number(item.key().c_str());
    }
  }
  return record;
}

// --- reading ---------------------------------------------------------------------------

template <typename T>
LoadedModel read_tensors(ByteSource& source, const std::string& label, std::uint64_t data_start,
                         ModelFile file, GraphPlan plan,
                         const std::map<std::string, TensorEntry>& tensors,
                         const std::vector<std::string>& state) {
  Graph<T> graph(std::move(plan), 0);
  Span<T> params = graph.parameters();
  // A weight or a moment that is NaN or infinite would poison every prediction and step.
  const auto check_finite = [&](const std::string& name, const T* values, std::size_t count) {
    const std::size_t i = first_not_finite(values, count);
    if (i < count) {
      throw ModelFileError(label, "tensor " + in_quotes(name) + " holds NaN or Inf (value " +
                                      std::to_string(i) + ")");
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

LoadedModel read_model(ByteSource& source, const std::string& label) {
  const SafetensorsHeader header = read_header(source);

  // __metadata__: ours is "blasnet".
  if (!header.metadata) {
    throw ModelFileError(label, "has no __metadata__; it is not a blasnet model file");
  }
  const std::map<std::string, std::string>& metadata = *header.metadata;
  const auto format = metadata.find("format");
  const auto blasnet = metadata.find("blasnet");
  if (format == metadata.end() || format->second != "blasnet" || blasnet == metadata.end()) {
    throw ModelFileError(label, "has no blasnet description in its __metadata__; it is not a "
                                "blasnet model file");
  }
  const json description = parse_json(blasnet->second, label, "the blasnet metadata");
  const JsonFields meta(description, "blasnet metadata");
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
  file.spec = architecture_from_json(meta.at("architecture"));
  std::vector<std::string> state;
  if (!meta.at("optimizer").is_null()) {
    file.optimizer = optimizer_from_json(meta.at("optimizer"), state);
  }

  const std::map<std::string, TensorEntry> tensors = read_tensor_entries(
      header, is_float ? safetensors_dtype<float>() : safetensors_dtype<double>(),
      is_float ? sizeof(float) : sizeof(double), "a " + file.dtype + " model");

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
    return read_tensors<float>(source, label, header.data_start, std::move(file), std::move(plan),
                               tensors, state);
  }
  return read_tensors<double>(source, label, header.data_start, std::move(file), std::move(plan),
                              tensors, state);
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
    if (any_not_finite(values.data + p.offset, p.size())) {
      throw ModelFileError(path, "not saved: parameter " + in_quotes(p.name) +
                                     " holds NaN or Inf");
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
  std::vector<TensorBytes> tensors;
  const Span<const T> params = graph.parameters();
  for (const ParameterInfo& p : plan.parameters) {
    tensors.push_back({p.name, safetensors_dtype<T>(), shape_of(p), params.data + p.offset,
                       p.size() * sizeof(T)});
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
        const Span<const T> values = optimizer->state<T>(name);
        tensors.push_back({optimizer_prefix + name, safetensors_dtype<T>(), {params.size},
                           values.data, values.size * sizeof(T)});
      }
    }
    description["optimizer"] = optimizer_json(rule, state);
  }

  std::map<std::string, std::string> metadata;
  try {
    metadata = {{"format", "blasnet"}, {"blasnet", description.dump()}};
  } catch (const json::exception& e) {
    // dump() refuses a name that is not UTF-8.
    throw ModelFileError(path, std::string("cannot be written as JSON: ") + e.what());
  }
  try {
    write_safetensors(path, metadata, tensors);
  } catch (const SafetensorsError& e) {
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

// read(), which reads a model, with whatever else a bad file may set off turned into a
// ModelFileError naming label.
template <typename Read>
LoadedModel checked_read(const std::string& label, Read read) {
  try {
    return read();
  } catch (const ModelFileError&) {
    throw;
  } catch (const SafetensorsError& e) {
    throw ModelFileError(label, e.what());
  } catch (const JsonFieldError& e) {
    throw ModelFileError(label, e.what());
  } catch (const json::exception& e) {
    throw ModelFileError(label, std::string("is malformed: ") + e.what());
  } catch (const std::invalid_argument& e) {
    throw ModelFileError(label, e.what());
  }
}

}  // namespace

LoadedModel load(const std::string& path) {
  check_path(path);
  return checked_read(path, [&] {
    FileSource source(path);
    return read_model(source, path);
  });
}

LoadedModel load_from_memory(const void* data, std::size_t size, const std::string& label) {
  return checked_read(label, [&] {
    MemorySource source(data, size);
    return read_model(source, label);
  });
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
