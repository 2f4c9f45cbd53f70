// The params file (write and read), the loss plot, atomic writes and number formatting.
#include "runtime/fit/fit.h"

#include "support/input_file.h"
#include "support/output_file.h"

#include <llvm/Support/JSON.h>
#include <llvm/Support/Program.h>

#include <algorithm>
#include <cctype>
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
  case StopReason::EarlyStop: return "early_stop";
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
  if (data) {
    out += "  \"rows\": " + std::to_string(data->allRows()) + ",\n";
    if (data->dropped) out += "  \"rows_dropped\": " + std::to_string(data->dropped) + ",\n";
  }
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
  if (result.validation) {
    const RunResult::Validation &v = *result.validation;
    out += ",\n  \"validation\": {\"rows\": " + std::to_string(v.rows) +
           ", \"loss\": " + jsonNumber(v.loss);
    if (!model.reportNames().empty()) {
      out += ", \"reports\": ";
      writeReports(out, model.reportNames(), v.reports);
    }
    out += ", \"epoch\": " + std::to_string(v.epoch);
    if (result.epochHistory.bestEpoch > 0)
      out += ", \"best_epoch\": " + std::to_string(result.epochHistory.bestEpoch) +
             ", \"best_loss\": " + jsonNumber(result.epochHistory.bestLoss);
    out += ", \"kept\": " + jsonString(settings.keepBest ? "best" : "last") + "}";
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

namespace {

std::string xmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    default:
      // XML 1.0 has no control characters but tab and line ends.
      out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
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
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

/// The least of 1, 2 and 5 times a power of ten that is at least `span / count`: the spacing of
/// about `count` round ticks over `span`.
double roundStep(double span, double count) {
  const double raw = span / count;
  const double decade = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (m * decade >= raw * (1 - 1e-12)) return m * decade;
  return 10 * decade;
}

/// One axis: [lo, hi] widened to round numbers, and its ticks. Linear ticks are multiples of a
/// roundStep; logarithmic ones are powers of ten (every second or fifth decade when there are
/// many), the axis then spanning whole decades.
struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  std::vector<double> ticks;

  Axis(double least, double greatest, bool logScale, double count) : log(logScale) {
    if (log) {
      double a = std::floor(std::log10(least)), b = std::ceil(std::log10(greatest));
      if (b <= a) b = a + 1;
      const double every = b - a <= 6 ? 1 : b - a <= 12 ? 2 : 5;
      a = std::floor(a / every) * every;
      b = std::ceil(b / every) * every;
      lo = a;
      hi = b;
      for (double e = a; e <= b + 0.5; e += every) ticks.push_back(std::pow(10.0, e));
      return;
    }
    if (!(greatest > least)) { // one value: a unit around it
      const double pad = least == 0 ? 1 : std::abs(least) * 0.1;
      least -= pad;
      greatest += pad;
    }
    const double step = roundStep(greatest - least, count);
    lo = std::floor(least / step + 1e-9) * step;
    hi = std::ceil(greatest / step - 1e-9) * step;
    const long first = std::lround(lo / step), last = std::lround(hi / step);
    for (long k = first; k <= last; ++k) ticks.push_back(static_cast<double>(k) * step);
  }
  /// Where `v` falls, 0 at lo and 1 at hi.
  double at(double v) const {
    const double t = log ? std::log10(v) : v;
    return hi > lo ? (t - lo) / (hi - lo) : 0.5;
  }
};

} // namespace

std::string lossPlotSvg(const LossHistory &steps, const EpochHistory *epochs,
                        std::size_t stepsPerEpoch, const std::string &title) {
  const double width = 720, height = 420, left = 80, right = 20, top = 40, bottom = 50;
  const double plotW = width - left - right, plotH = height - top - bottom;
  const double perEpoch = static_cast<double>(std::max<std::size_t>(stepsPerEpoch, 1));
  const bool byEpoch = epochs != nullptr;

  // The series, each a history whose sample k is at x = (k * stride + 1) * scale: steps (in
  // epochs when the x axis counts epochs) and the epochs' training and validation losses.
  struct Series {
    const LossHistory *history;
    double scale;
    const char *colour;
    double width;
    const char *label;
  };
  std::vector<Series> series;
  series.push_back({&steps, byEpoch ? 1 / perEpoch : 1, byEpoch ? "#b8cfe6" : "#1f77b4",
                    byEpoch ? 0.8 : 1.5, byEpoch ? "batch loss (each step)" : "loss"});
  if (byEpoch && epochs->train.count() > 0)
    series.push_back({&epochs->train, 1, "#1f77b4", 2, "training loss (epoch mean)"});
  if (byEpoch && epochs->val.count() > 0)
    series.push_back({&epochs->val, 1, "#ff7f0e", 2, "validation loss"});

  double least = INFINITY, greatest = -INFINITY, xMax = 1;
  for (const Series &s : series) {
    if (s.history->least() <= s.history->greatest()) {
      least = std::min(least, s.history->least());
      greatest = std::max(greatest, s.history->greatest());
    }
    xMax = std::max(xMax, static_cast<double>(s.history->count()) * s.scale);
  }
  if (!(least <= greatest)) least = 0, greatest = 1;
  const Axis y(least, greatest, least > 0 && greatest / least > 100, 5);
  const Axis x(0, xMax, false, 6);
  auto xOf = [&](double v) { return left + plotW * x.at(v); };
  auto yOf = [&](double v) { return top + plotH * (1 - y.at(v)); };

  std::string svg;
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fixed(width, 0) + "\" height=\"" +
         fixed(height, 0) + "\" viewBox=\"0 0 " + fixed(width, 0) + " " + fixed(height, 0) +
         "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + fixed(width / 2) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">" +
         xmlEscape(title) + "</text>\n";
  svg += "<rect x=\"" + fixed(left) + "\" y=\"" + fixed(top) + "\" width=\"" + fixed(plotW) +
         "\" height=\"" + fixed(plotH) + "\" fill=\"none\" stroke=\"#888\"/>\n";
  for (double v : y.ticks) {
    const double py = yOf(v);
    svg += "<line x1=\"" + fixed(left) + "\" x2=\"" + fixed(left + plotW) + "\" y1=\"" + fixed(py) +
           "\" y2=\"" + fixed(py) + "\" stroke=\"#eee\"/>";
    svg += "<line x1=\"" + fixed(left - 4) + "\" x2=\"" + fixed(left) + "\" y1=\"" + fixed(py) +
           "\" y2=\"" + fixed(py) + "\" stroke=\"#888\"/>";
    svg += "<text x=\"" + fixed(left - 6) + "\" y=\"" + fixed(py + 4) + "\" text-anchor=\"end\">" +
           tickLabel(v) + "</text>\n";
  }
  for (double v : x.ticks) {
    const double px = xOf(v);
    svg += "<line x1=\"" + fixed(px) + "\" x2=\"" + fixed(px) + "\" y1=\"" + fixed(top + plotH) +
           "\" y2=\"" + fixed(top + plotH + 4) + "\" stroke=\"#888\"/>";
    svg += "<text x=\"" + fixed(px) + "\" y=\"" + fixed(top + plotH + 18) +
           "\" text-anchor=\"middle\">" + tickLabel(v) + "</text>\n";
  }
  svg += "<text x=\"" + fixed(left + plotW / 2) + "\" y=\"" + fixed(height - 10) +
         "\" text-anchor=\"middle\">" + (byEpoch ? "epoch" : "step") + "</text>\n";
  svg += "<text x=\"16\" y=\"" + fixed(top + plotH / 2) +
         "\" text-anchor=\"middle\" transform=\"rotate(-90 16 " + fixed(top + plotH / 2) + ")\">" +
         (y.log ? "loss (log scale)" : "loss") + "</text>\n";

  // Each curve: its samples (at most LossHistory::kMaxSamples), then its last value; a
  // non-finite loss leaves a gap. A curve of one point is a dot.
  for (const Series &s : series) {
    const LossHistory &h = *s.history;
    const std::string stroke = "stroke=\"" + std::string(s.colour) + "\"";
    std::string points;
    std::size_t count = 0;
    auto flush = [&] {
      if (count == 1) {
        const std::size_t comma = points.find(',');
        svg += "<circle cx=\"" + points.substr(0, comma) + "\" cy=\"" + points.substr(comma + 1) +
               "\" r=\"2.5\" fill=\"" + s.colour + "\"/>\n";
      } else if (count > 1) {
        svg += "<polyline fill=\"none\" " + stroke + " stroke-width=\"" + fixed(s.width) +
               "\" points=\"" + points + "\"/>\n";
      }
      points.clear();
      count = 0;
    };
    auto point = [&](std::size_t position, double loss) { // 1-based
      if (!std::isfinite(loss) || (y.log && !(loss > 0))) {
        flush();
        return;
      }
      points += (points.empty() ? "" : " ") + fixed(xOf(static_cast<double>(position) * s.scale)) +
                "," + fixed(yOf(loss));
      ++count;
    };
    const std::vector<double> &samples = h.samples();
    for (std::size_t k = 0; k < samples.size(); ++k) point(k * h.stride() + 1, samples[k]);
    if (h.count() > 0 && (h.count() - 1) % h.stride() != 0) point(h.count(), h.last());
    flush();
  }

  // The epoch whose params a run with validation keeps when they are the best: a dashed line.
  if (byEpoch && epochs->val.count() > 0 && epochs->bestEpoch > 0) {
    const double px = xOf(static_cast<double>(epochs->bestEpoch));
    svg += "<line x1=\"" + fixed(px) + "\" x2=\"" + fixed(px) + "\" y1=\"" + fixed(top) +
           "\" y2=\"" + fixed(top + plotH) + "\" stroke=\"#ff7f0e\" stroke-dasharray=\"4 3\"/>";
    svg += "<text x=\"" + fixed(px + 4) + "\" y=\"" + fixed(top + plotH - 6) +
           "\" fill=\"#ff7f0e\">best</text>\n";
  }

  // The legend, top right inside the plot, when there is more than one curve.
  if (series.size() > 1) {
    double ly = top + 16;
    const double lx = left + plotW - 200;
    svg += "<rect x=\"" + fixed(lx - 8) + "\" y=\"" + fixed(top + 4) +
           "\" width=\"204\" height=\"" + fixed(16.0 * static_cast<double>(series.size()) + 6) +
           "\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>\n";
    for (const Series &s : series) {
      svg += "<line x1=\"" + fixed(lx) + "\" x2=\"" + fixed(lx + 22) + "\" y1=\"" + fixed(ly - 4) +
             "\" y2=\"" + fixed(ly - 4) + "\" stroke=\"" + s.colour + "\" stroke-width=\"" +
             fixed(s.width) + "\"/>";
      svg += "<text x=\"" + fixed(lx + 28) + "\" y=\"" + fixed(ly) + "\">" + s.label + "</text>\n";
      ly += 16;
    }
  }
  svg += "</svg>\n";
  return svg;
}

std::string plotFormat(const std::string &path) {
  std::string extension;
  const std::size_t dot = path.rfind('.');
  const std::size_t slash = path.rfind('/');
  if (dot != std::string::npos && (slash == std::string::npos || dot > slash))
    extension = path.substr(dot + 1);
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (extension == "svg") return extension;
  if (extension != "png" && extension != "pdf")
    throw UsageError("cannot draw the plot '" + path + "': " +
                   (extension.empty() ? std::string("it has no extension")
                                      : "unknown extension '." + extension + "'") +
                   " (the plot is .svg, .png or .pdf)");
  if (!llvm::sys::findProgramByName("rsvg-convert"))
    throw FitError("cannot draw the plot '" + path + "': a ." + extension +
                   " plot is converted from SVG by librsvg's 'rsvg-convert', which was not found "
                   "on PATH (install librsvg2-bin, or write the plot as .svg)");
  return extension;
}

void writePlot(const std::string &path, const std::string &svg) {
  const std::string format = plotFormat(path);
  if (format == "svg") {
    writeFileAtomically(path, svg);
    return;
  }
  llvm::ErrorOr<std::string> tool = llvm::sys::findProgramByName("rsvg-convert");
  if (!tool)
    throw FitError("cannot draw the plot '" + path + "': 'rsvg-convert' was not found on PATH");
  // The converter reads and writes files of a private temporary folder (removed with what it
  // holds, whatever happens); the picture then replaces `path` whole, as every file nabla writes.
  TempDir dir("nabla-plot");
  const std::string in = dir.file("plot.svg"), out = dir.file("plot." + format);
  writeFileAtomically(in, svg);
  llvm::StringRef args[] = {"rsvg-convert", "--format", format, "--output", out, in};
  std::string message;
  const int status = llvm::sys::ExecuteAndWait(*tool, args, std::nullopt, {}, 0, 0, &message);
  if (status != 0)
    throw FitError("cannot draw the plot '" + path + "': rsvg-convert failed" +
                   (message.empty() ? " (status " + std::to_string(status) + ")"
                                    : ": " + message));
  writeFileAtomically(path, readWholeFile(out));
}

} // namespace nabla::fit
