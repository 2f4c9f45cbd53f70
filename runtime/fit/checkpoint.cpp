// Checkpoints: a length-and-checksum line, then JSON with every double as a hex float string.
#include "runtime/fit/fit.h"

#include "support/input_file.h"

#include <llvm/Support/FormatVariadic.h>
#include <llvm/Support/JSON.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace nabla::fit {

namespace {

constexpr const char *kMagic = "nabla-checkpoint";

std::string hexFloat(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

std::string hex64(std::uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

llvm::json::Array hexArray(std::span<const double> values) {
  llvm::json::Array a;
  for (double v : values) a.push_back(hexFloat(v));
  return a;
}

/// A setting's key. Checkpoints written before the keys were torch's names and plain words spelled
/// them as `nabla fit` flags (`--weight-decay`, `--in-order`): read as `weight_decay`, `in_order`.
std::string settingKey(std::string key) {
  if (key.rfind("--", 0) == 0) {
    key.erase(0, 2);
    std::replace(key.begin(), key.end(), '-', '_');
  }
  return key;
}

/// Reads the body's fields, each failure naming the field.
class Reader {
public:
  Reader(const std::string &path, const llvm::json::Object &root) : path_(path), root_(root) {}

  [[noreturn]] void fail(const std::string &field) const {
    throw FitError(path_ + ": not a valid checkpoint: field '" + field +
                   "' is missing or malformed");
  }
  const llvm::json::Value &get(const llvm::json::Object &o, const std::string &key) const {
    const llvm::json::Value *v = o.get(key);
    if (!v) fail(key);
    return *v;
  }
  std::string string(const std::string &key, const llvm::json::Object *o = nullptr) const {
    auto s = get(o ? *o : root_, key).getAsString();
    if (!s) fail(key);
    return s->str();
  }
  std::uint64_t integer(const std::string &key) const {
    auto i = get(root_, key).getAsInteger();
    if (!i || *i < 0) fail(key);
    return static_cast<std::uint64_t>(*i);
  }
  std::uint64_t hex(const std::string &key) const {
    const std::string s = string(key);
    char *end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(s.c_str(), &end, 16);
    if (s.empty() || *end != '\0' || errno != 0) fail(key);
    return v;
  }
  double number(const llvm::json::Value &v, const std::string &key) const {
    auto s = v.getAsString();
    if (!s) fail(key);
    const std::string text = s->str();
    char *end = nullptr;
    double d = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0') fail(key);
    return d;
  }
  std::vector<double> numbers(const llvm::json::Value &v, const std::string &key) const {
    const llvm::json::Array *a = v.getAsArray();
    if (!a) fail(key);
    std::vector<double> out;
    out.reserve(a->size());
    for (const llvm::json::Value &e : *a) out.push_back(number(e, key));
    return out;
  }
  std::vector<double> numbers(const std::string &key) const {
    return numbers(get(root_, key), key);
  }
  const llvm::json::Object &object(const std::string &key) const {
    const llvm::json::Object *o = get(root_, key).getAsObject();
    if (!o) fail(key);
    return *o;
  }

private:
  const std::string &path_;
  const llvm::json::Object &root_;
};

llvm::json::Object historyJson(const LossHistory &h) {
  return llvm::json::Object{
      {"steps", static_cast<std::int64_t>(h.count())},
      {"stride", static_cast<std::int64_t>(h.stride())},
      {"least", hexFloat(h.least())},
      {"greatest", hexFloat(h.greatest())},
      {"last", hexFloat(h.last())},
      {"samples", hexArray(h.samples())},
  };
}

/// A LossHistory written by historyJson under `key` of `r`'s object; `count` is the number of
/// losses it must hold.
LossHistory readHistory(const std::string &path, const Reader &r, const std::string &key,
                        std::optional<std::uint64_t> count = std::nullopt) {
  const llvm::json::Object &h = r.object(key);
  const Reader hr(path, h);
  const std::uint64_t steps = hr.integer("steps"), stride = hr.integer("stride");
  LossHistory out;
  if ((count && steps != *count) ||
      !out.restore(steps, stride, hr.numbers("samples"), hr.number(hr.get(h, "least"), key),
                   hr.number(hr.get(h, "greatest"), key), hr.number(hr.get(h, "last"), key)))
    r.fail(key);
  return out;
}

} // namespace

std::string checkpointText(const Checkpoint &c) {
  llvm::json::Object settings;
  for (const auto &[key, value] : c.settings) settings[key] = value;
  llvm::json::Object state;
  for (const auto &[key, values] : c.state) state[key] = hexArray(values);
  llvm::json::Object body{
      {"format", kMagic},
      {"version", Checkpoint::kVersion},
      {"model", c.modelPath},
      {"model_hash", hex64(c.modelHash)},
      {"data", c.dataPath},
      {"rows", static_cast<std::int64_t>(c.rows)},
      {"data_hash", hex64(c.dataHash)},
      {"settings", std::move(settings)},
      {"step", static_cast<std::int64_t>(c.step)},
      {"params", hexArray(c.params)},
      {"optimizer", c.optimizer},
      {"optimizer_state", std::move(state)},
      {"average_sum", hexArray(c.averageSum)},
      {"average_weight", hexFloat(c.averageWeight)},
      {"evaluations", static_cast<std::int64_t>(c.evaluations)},
      {"iterations", static_cast<std::int64_t>(c.iterations)},
      {"log", c.logPath},
      {"log_header", c.logHeader},
      {"log_bytes", static_cast<std::int64_t>(c.logBytes)},
      {"losses", historyJson(c.losses)},
      {"epochs",
       llvm::json::Object{
           {"train", historyJson(c.epochs.train)},
           {"sum", hexFloat(c.epochs.sum)},
           {"weight", hexFloat(c.epochs.weight)},
           {"val", historyJson(c.epochs.val)},
           {"best_epoch", static_cast<std::int64_t>(c.epochs.bestEpoch)},
           {"best_loss", hexFloat(c.epochs.bestLoss)},
           {"since_best", static_cast<std::int64_t>(c.epochs.sinceBest)},
           {"best_params", hexArray(c.epochs.bestParams)},
       }},
  };
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:1}", llvm::json::Value(std::move(body))) << "\n";
  os.flush();
  return std::string(kMagic) + " " + std::to_string(Checkpoint::kVersion) + " " +
         std::to_string(text.size()) + " " + hex64(data::fnv1a(text)) + "\n" + text;
}

Checkpoint parseCheckpoint(const std::string &path, const std::string &text) {
  const std::size_t newline = text.find('\n');
  const std::string first = text.substr(0, newline);
  char magic[32] = {0};
  int version = 0;
  unsigned long long bytes = 0;
  char hash[32] = {0};
  if (newline == std::string::npos ||
      std::sscanf(first.c_str(), "%31s %d %llu %31s", magic, &version, &bytes, hash) != 4 ||
      std::strcmp(magic, kMagic) != 0)
    throw FitError(path + ": not a nabla checkpoint");
  if (version < 1 || version > Checkpoint::kVersion)
    throw FitError(path + ": a checkpoint of format version " + std::to_string(version) +
                   "; this nabla reads versions 1 to " + std::to_string(Checkpoint::kVersion));
  const std::string body = text.substr(newline + 1);
  if (body.size() < bytes)
    throw FitError(path + ": the checkpoint is truncated (" + std::to_string(body.size()) + " of " +
                   std::to_string(bytes) + " bytes)");
  if (body.size() > bytes || hex64(data::fnv1a(body)) != hash)
    throw FitError(path + ": the checkpoint is corrupted (its checksum does not match)");

  // The parser recurses: the nesting is checked first (and the numbers, by nabla's rule).
  try {
    requireJson(path, body, 2);
  } catch (const InputError &e) {
    throw FitError(e.what());
  }
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(body);
  if (!parsed) {
    llvm::consumeError(parsed.takeError());
    throw FitError(path + ": the checkpoint is corrupted (not JSON)");
  }
  const llvm::json::Object *root = parsed->getAsObject();
  if (!root) throw FitError(path + ": not a valid checkpoint");
  Reader r(path, *root);
  Checkpoint c;
  c.modelPath = r.string("model");
  c.modelHash = r.hex("model_hash");
  c.dataPath = r.string("data");
  c.rows = r.integer("rows");
  c.dataHash = r.hex("data_hash");
  for (const auto &[key, value] : r.object("settings")) {
    auto s = value.getAsString();
    if (!s) r.fail("settings");
    c.settings[settingKey(key.str())] = s->str();
  }
  c.step = r.integer("step");
  c.params = r.numbers("params");
  c.optimizer = r.string("optimizer");
  for (const auto &[key, value] : r.object("optimizer_state"))
    c.state[key.str()] = r.numbers(value, "optimizer_state");
  c.averageSum = r.numbers("average_sum");
  c.averageWeight = r.number(r.get(*root, "average_weight"), "average_weight");
  c.evaluations = r.integer("evaluations");
  c.iterations = r.integer("iterations");
  c.logPath = r.string("log");
  c.logHeader = r.string("log_header");
  c.logBytes = r.integer("log_bytes");
  if (version == 1) {
    // Every step's loss: the history is what adding them one by one makes.
    const std::vector<double> losses = r.numbers("losses");
    if (losses.size() != c.step) r.fail("losses");
    for (double loss : losses) c.losses.add(loss);
  } else {
    c.losses = readHistory(path, r, "losses", c.step);
  }
  if (version >= 3) {
    const llvm::json::Object &e = r.object("epochs");
    const Reader er(path, e);
    c.epochs.train = readHistory(path, er, "train");
    c.epochs.sum = er.number(er.get(e, "sum"), "epochs");
    c.epochs.weight = er.number(er.get(e, "weight"), "epochs");
    c.epochs.val = readHistory(path, er, "val");
    c.epochs.bestEpoch = er.integer("best_epoch");
    c.epochs.bestLoss = er.number(er.get(e, "best_loss"), "epochs");
    c.epochs.sinceBest = er.integer("since_best");
    c.epochs.bestParams = er.numbers("best_params");
    if (c.epochs.train.count() > c.step || c.epochs.val.count() > c.epochs.train.count() ||
        c.epochs.bestEpoch > c.epochs.val.count() || c.epochs.sinceBest > c.epochs.val.count())
      r.fail("epochs");
  }
  return c;
}

Checkpoint readCheckpoint(const std::string &path) {
  std::string text;
  try {
    // The body's cap, and room for the header line.
    text = InputFile(path, "a checkpoint", kMaxJsonBytes + 256).readAll();
  } catch (const InputError &e) {
    throw FitError(e.what());
  }
  return parseCheckpoint(path, text);
}

} // namespace nabla::fit
