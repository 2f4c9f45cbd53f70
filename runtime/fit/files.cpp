// The params file (write and read), the loss plot, atomic writes and number formatting.
#include "runtime/fit/fit.h"

#include "support/input_file.h"

#include <llvm/Support/JSON.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace nabla::fit {


namespace {

std::string jsonString(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default:
      if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
  }
  return out + "\"";
}

/// A JSON number, or the strings "nan", "inf", "-inf" that JSON has no numbers for.
std::string jsonNumber(double v) {
  return std::isfinite(v) ? formatNumber(v) : "\"" + formatNumber(v) + "\"";
}

/// Values [offset, offset + shape.size()) as a number or nested arrays of the shape.
void writeArray(std::string &out, const Shape &shape, std::span<const double> values,
                std::size_t dim = 0, std::size_t offset = 0) {
  if (dim == shape.dims.size()) {
    out += jsonNumber(values[offset]);
    return;
  }
  std::size_t stride = 1;
  for (std::size_t d = dim + 1; d < shape.dims.size(); ++d) stride *= shape.dims[d];
  out += "[";
  for (std::size_t i = 0; i < shape.dims[dim]; ++i) {
    if (i) out += ", ";
    writeArray(out, shape, values, dim + 1, offset + i * stride);
  }
  out += "]";
}

void writeParams(std::string &out, const std::vector<ArrayInfo> &params,
                 std::span<const double> values) {
  out += "{";
  for (std::size_t k = 0; k < params.size(); ++k) {
    out += k ? ",\n    " : "\n    ";
    out += jsonString(params[k].name) + ": ";
    writeArray(out, params[k].shape, values.subspan(params[k].offset, params[k].size()));
  }
  out += params.empty() ? "}" : "\n  }";
}

void writeReports(std::string &out, const std::vector<std::string> &names,
                  std::span<const double> values) {
  out += "{";
  for (std::size_t k = 0; k < names.size(); ++k)
    out += (k ? ", " : "") + jsonString(names[k]) + ": " + jsonNumber(values[k]);
  out += "}";
}

} // namespace

const char *stopName(StopReason s) {
  switch (s) {
  case StopReason::Finished: return "finished";
  case StopReason::Tolerance: return "tolerance";
  case StopReason::Interrupted: return "interrupted";
  case StopReason::NoProgress: return "no_progress";
  case StopReason::Diverged: return "diverged";
  }
  return "finished";
}

std::string paramsJson(const Model &model, const Dataset *data, const Settings &settings,
                       const RunResult &result) {
  std::string out = "{\n";
  out += "  \"model\": " + jsonString(model.path()) + ",\n";
  out += "  \"optimizer\": " + jsonString(settings.optimizer) + ",\n";
  out += "  \"steps\": " + std::to_string(result.steps) + ",\n";
  out += "  \"epochs\": " + std::to_string(result.epochs) + ",\n";
  out += "  \"stop\": " + jsonString(stopName(result.stop)) + ",\n";
  out += "  \"loss\": " + jsonNumber(result.loss) + ",\n";
  if (!model.reportNames().empty()) {
    out += "  \"reports\": ";
    writeReports(out, model.reportNames(), result.reports);
    out += ",\n";
  }
  out += "  \"params\": ";
  writeParams(out, model.params(), result.params);
  if (!result.averaged.empty()) {
    out += ",\n  \"average\": ";
    writeParams(out, model.params(), result.averaged);
    if (result.averagedLoss) out += ",\n  \"average_loss\": " + jsonNumber(*result.averagedLoss);
    if (!model.reportNames().empty()) {
      out += ",\n  \"average_reports\": ";
      writeReports(out, model.reportNames(), result.averagedReports);
    }
  }
  if (data && !data->scaling.empty()) {
    out += ",\n  \"standardize\": {";
    bool first = true;
    for (const ArrayInfo &in : model.inputs()) {
      auto it = data->scaling.find(in.name);
      if (it == data->scaling.end()) continue;
      std::vector<double> mean, scale;
      for (const data::Scaling &s : it->second) {
        mean.push_back(s.mean);
        scale.push_back(s.scale);
      }
      out += first ? "\n    " : ",\n    ";
      first = false;
      out += jsonString(in.name) + ": {\"mean\": ";
      writeArray(out, in.shape, mean);
      out += ", \"std\": ";
      writeArray(out, in.shape, scale);
      out += "}";
    }
    out += "\n  }";
  }
  out += "\n}\n";
  return out;
}

namespace {

/// A number, or one of the strings "nan", "inf", "-inf".
std::optional<double> numberOf(const llvm::json::Value &v) {
  if (auto d = v.getAsNumber()) return *d;
  if (auto s = v.getAsString()) {
    if (*s == "nan") return std::nan("");
    if (*s == "inf") return HUGE_VAL;
    if (*s == "-inf") return -HUGE_VAL;
  }
  return std::nullopt;
}

/// Flattens a number or nested arrays of `shape` into out; false on a mismatch.
bool readArray(const llvm::json::Value &v, const Shape &shape, std::size_t dim,
               std::vector<double> &out) {
  if (dim == shape.dims.size()) {
    std::optional<double> d = numberOf(v);
    if (!d) return false;
    out.push_back(*d);
    return true;
  }
  const llvm::json::Array *a = v.getAsArray();
  if (!a || a->size() != shape.dims[dim]) return false;
  for (const llvm::json::Value &e : *a)
    if (!readArray(e, shape, dim + 1, out)) return false;
  return true;
}

std::string shapeText(const Shape &shape) {
  return shape.isScalar() ? "a number" : "an array of shape " + toString(shape);
}

} // namespace

ParamsFile readParamsFile(const std::string &path, const std::vector<ArrayInfo> &params,
                          const std::vector<ArrayInfo> &inputs, std::vector<double> init) {
  std::string text;
  try {
    text = InputFile(path, "a params file", kMaxJsonBytes).readAll();
  } catch (const InputError &e) {
    throw FitError(e.what());
  }
  return parseParamsFile(path, text, params, inputs, std::move(init));
}

ParamsFile parseParamsFile(const std::string &path, const std::string &text,
                           const std::vector<ArrayInfo> &params,
                           const std::vector<ArrayInfo> &inputs, std::vector<double> init) {
  // Nesting and numbers are checked before the parser, which recurses, sees the text.
  try {
    requireJson(path, text);
  } catch (const InputError &e) {
    throw FitError(e.what());
  }
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(text);
  if (!parsed) throw FitError(path + ": not a JSON file: " + llvm::toString(parsed.takeError()));
  const llvm::json::Object *root = parsed->getAsObject();
  if (!root) throw FitError(path + ": expected a JSON object of params");
  const llvm::json::Object *values = root;
  if (const llvm::json::Value *p = root->get("params")) {
    values = p->getAsObject();
    if (!values) throw FitError(path + ": \"params\" must be an object");
  }

  ParamsFile out;
  out.params = std::move(init);
  out.given.assign(params.size(), false);
  std::vector<std::string> names;
  for (const ArrayInfo &a : params) names.push_back(a.name);
  for (const auto &[key, value] : *values) {
    const std::string name = key.str();
    auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) {
      std::string message = path + ": '" + name + "' is not a param of the model";
      std::string close = closestName(name, names);
      if (!close.empty()) message += " (did you mean '" + close + "'?)";
      throw FitError(message);
    }
    const ArrayInfo &a = params[static_cast<std::size_t>(it - names.begin())];
    std::vector<double> flat;
    if (!readArray(value, a.shape, 0, flat))
      throw FitError(path + ": param '" + name + "' must be " + shapeText(a.shape));
    std::copy(flat.begin(), flat.end(), out.params.begin() + static_cast<long>(a.offset));
    out.given[static_cast<std::size_t>(it - names.begin())] = true;
  }

  if (const llvm::json::Value *s = root->get("standardize")) {
    const llvm::json::Object *obj = s->getAsObject();
    if (!obj) throw FitError(path + ": \"standardize\" must be an object");
    for (const auto &[key, value] : *obj) {
      const std::string name = key.str();
      const ArrayInfo *input = nullptr;
      for (const ArrayInfo &in : inputs)
        if (in.name == name) input = &in;
      if (!input) continue; // an input this use of the model does not read
      const llvm::json::Object *stats = value.getAsObject();
      std::vector<double> mean, scale;
      if (!stats || !stats->get("mean") || !stats->get("std") ||
          !readArray(*stats->get("mean"), input->shape, 0, mean) ||
          !readArray(*stats->get("std"), input->shape, 0, scale))
        throw FitError(path + ": the standardization of input '" + name +
                       "' must be {\"mean\": M, \"std\": S}, each " + shapeText(input->shape));
      std::vector<data::Scaling> &list = out.scaling[name];
      for (std::size_t k = 0; k < mean.size(); ++k) {
        if (!(scale[k] > 0) || !std::isfinite(scale[k]) || !std::isfinite(mean[k]))
          throw FitError(path + ": the standardization of input '" + name +
                         "' needs finite means and positive standard deviations");
        list.push_back({mean[k], scale[k]});
      }
    }
  }
  return out;
}

// --- the loss plot ------------------------------------------------------------------------------

namespace {

std::string xmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    default: out += c;
    }
  }
  return out;
}

std::string fixed(double v, int digits = 1) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string tickLabel(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

} // namespace

void LossHistory::add(double loss) {
  if (count_ % stride_ == 0) samples_.push_back(loss);
  ++count_;
  last_ = loss;
  if (std::isfinite(loss)) {
    least_ = std::min(least_, loss);
    greatest_ = std::max(greatest_, loss);
  }
  if (samples_.size() > kMaxSamples) {
    // Steps 0, 2s, 4s, ... (0-based) of the samples at 0, s, 2s, ...: the stride doubles.
    for (std::size_t k = 0; 2 * k < samples_.size(); ++k) samples_[k] = samples_[2 * k];
    samples_.resize((samples_.size() + 1) / 2);
    stride_ *= 2;
  }
}

bool LossHistory::restore(std::size_t count, std::size_t stride, std::vector<double> samples,
                          double least, double greatest, double last) {
  // What add() leaves: a power-of-two stride no larger than needed, ceil(count / stride) samples.
  const bool powerOfTwo = stride > 0 && (stride & (stride - 1)) == 0;
  if (!powerOfTwo || samples.size() > kMaxSamples ||
      samples.size() != (count + stride - 1) / stride ||
      (stride > 1 && (count + stride / 2 - 1) / (stride / 2) <= kMaxSamples))
    return false;
  if (count > 0 && !(least <= greatest) && !(std::isinf(least) && std::isinf(greatest)))
    return false;
  count_ = count;
  stride_ = stride;
  samples_ = std::move(samples);
  least_ = least;
  greatest_ = greatest;
  last_ = last;
  return true;
}

std::string lossPlotSvg(const LossHistory &losses, const std::string &title) {
  const double width = 720, height = 420, left = 80, right = 20, top = 40, bottom = 50;
  const double plotW = width - left - right, plotH = height - top - bottom;
  const bool anyFinite = losses.least() <= losses.greatest();
  double lo = anyFinite ? losses.least() : 0;
  double hi = anyFinite ? losses.greatest() : 1;
  const bool logScale = lo > 0 && hi / lo > 100;
  auto yOf = [&](double v) {
    double a = logScale ? std::log10(lo) : lo, b = logScale ? std::log10(hi) : hi;
    double t = logScale ? std::log10(v) : v;
    if (b <= a) return top + plotH / 2;
    return top + plotH * (1 - (t - a) / (b - a));
  };
  const std::size_t n = losses.count();
  auto xOf = [&](double step) { // steps are 1-based
    return n <= 1 ? left + plotW / 2 : left + plotW * (step - 1) / static_cast<double>(n - 1);
  };

  std::string svg;
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fixed(width, 0) + "\" height=\"" +
         fixed(height, 0) + "\" viewBox=\"0 0 " + fixed(width, 0) + " " + fixed(height, 0) +
         "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + fixed(width / 2) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">" +
         xmlEscape(title) + "</text>\n";
  svg += "<rect x=\"" + fixed(left) + "\" y=\"" + fixed(top) + "\" width=\"" + fixed(plotW) +
         "\" height=\"" + fixed(plotH) + "\" fill=\"none\" stroke=\"#888\"/>\n";
  // Ticks: five on each axis.
  for (int i = 0; i <= 4; ++i) {
    double v = logScale ? std::pow(10.0, std::log10(lo) + (std::log10(hi) - std::log10(lo)) * i / 4)
                        : lo + (hi - lo) * i / 4;
    double y = yOf(v);
    svg += "<line x1=\"" + fixed(left - 4) + "\" x2=\"" + fixed(left) + "\" y1=\"" + fixed(y) +
           "\" y2=\"" + fixed(y) + "\" stroke=\"#888\"/>";
    svg += "<text x=\"" + fixed(left - 6) + "\" y=\"" + fixed(y + 4) + "\" text-anchor=\"end\">" +
           tickLabel(v) + "</text>\n";
    double step = 1 + (n > 1 ? static_cast<double>(n - 1) * i / 4 : 0);
    double x = xOf(step);
    svg += "<line x1=\"" + fixed(x) + "\" x2=\"" + fixed(x) + "\" y1=\"" + fixed(top + plotH) +
           "\" y2=\"" + fixed(top + plotH + 4) + "\" stroke=\"#888\"/>";
    svg += "<text x=\"" + fixed(x) + "\" y=\"" + fixed(top + plotH + 18) +
           "\" text-anchor=\"middle\">" + tickLabel(std::round(step)) + "</text>\n";
  }
  svg += "<text x=\"" + fixed(left + plotW / 2) + "\" y=\"" + fixed(height - 10) +
         "\" text-anchor=\"middle\">step</text>\n";
  svg += "<text x=\"16\" y=\"" + fixed(top + plotH / 2) +
         "\" text-anchor=\"middle\" transform=\"rotate(-90 16 " + fixed(top + plotH / 2) + ")\">" +
         (logScale ? "loss (log scale)" : "loss") + "</text>\n";
  // The curve: the samples (at most LossHistory::kMaxSamples), then the last step; a non-finite
  // loss leaves a gap.
  std::string points;
  auto flush = [&] {
    if (!points.empty())
      svg += "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"" + points +
             "\"/>\n";
    points.clear();
  };
  auto point = [&](std::size_t step, double loss) { // 1-based
    if (!std::isfinite(loss)) {
      flush();
      return;
    }
    points += (points.empty() ? "" : " ") + fixed(xOf(static_cast<double>(step))) + "," +
              fixed(yOf(loss));
  };
  const std::vector<double> &samples = losses.samples();
  for (std::size_t k = 0; k < samples.size(); ++k) point(k * losses.stride() + 1, samples[k]);
  if (n > 0 && (n - 1) % losses.stride() != 0) point(n, losses.last());
  flush();
  svg += "</svg>\n";
  return svg;
}

} // namespace nabla::fit
