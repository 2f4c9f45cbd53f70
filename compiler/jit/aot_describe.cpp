// What an ahead-of-time library says about itself: the C header that declares its entry points
// and the JSON that nabla_module_info() returns. Both list the same entry points with the same
// signatures, in the order of exportedSymbols().
#include "jit/aot.h"

#include <llvm/Support/JSON.h>
#include <llvm/Support/raw_ostream.h>

#include <array>
#include <cctype>
#include <cmath>

namespace nabla::jit {

namespace {

std::string dimsText(const Shape &shape) {
  std::string out;
  for (std::uint32_t d : shape.dims) out += "[" + std::to_string(d) + "]";
  return out;
}

std::size_t totalSize(const std::vector<VarGroup> &groups) {
  std::size_t n = 0;
  for (const VarGroup &g : groups) n += g.shape.size();
  return n;
}

/// The name of a function's output pointer: `preferred`, unless an argument has that name.
std::string outputName(const std::vector<VarGroup> &args, const std::string &preferred) {
  std::string name = preferred;
  for (bool taken = true; taken;) {
    taken = false;
    for (const VarGroup &g : args) taken = taken || g.name == name;
    if (taken) name += "_out";
  }
  return name;
}

enum class Kind { Value, Grad, Hess, Hvp };

/// `double f(double x, double y)`, `double f_grad(double x, double y, double *grad)`, ...
std::string functionSignature(const AotFunction &f, Kind kind) {
  std::string out = kind == Kind::Hess || kind == Kind::Hvp ? "void " : "double ";
  out += f.name +
         (kind == Kind::Grad ? "_grad" : kind == Kind::Hess ? "_hess" : kind == Kind::Hvp ? "_hvp" : "") +
         "(";
  bool first = true;
  for (const VarGroup &g : f.args) {
    out += first ? "" : ", ";
    first = false;
    out += g.shape.isScalar() ? "double" : "const double *";
    // A name C cannot take (a keyword, a reserved identifier) is left out: it is in the comment.
    if (isSafeParameterName(g.name)) out += (g.shape.isScalar() ? " " : "") + g.name;
  }
  if (kind == Kind::Hvp)
    out += std::string(first ? "" : ", ") + "const double *" + outputName(f.args, "v") +
           ", double *" + outputName(f.args, "hv");
  else if (kind != Kind::Value)
    out += std::string(first ? "" : ", ") + "double *" +
           outputName(f.args, kind == Kind::Grad ? "grad" : "hess");
  else if (first)
    out += "void";
  return out + ")";
}

/// `int f_batch(size_t n, const double *points, int by_column, double *values)`, ...
std::string batchSignature(const AotFunction &f, Kind kind) {
  switch (kind) {
  case Kind::Value:
    return "int " + f.name + "_batch(size_t n, const double *points, int by_column, double *values)";
  case Kind::Grad:
    return "int " + f.name + "_grad_batch(size_t n, const double *points, int by_column, "
                             "double *values, double *grads)";
  case Kind::Hess:
    return "int " + f.name + "_hess_batch(size_t n, const double *points, int by_column, double *hess)";
  case Kind::Hvp: break;  // no vectorized form
  }
  return "";
}

constexpr const char *kObjectiveSignature =
    "double nabla_objective(const double *params, const double *inputs, double *grad)";
constexpr const char *kBatchSignature =
    "double nabla_objective_batch(const double *params, size_t n, const double *const *columns, "
    "double *grad)";
constexpr const char *kBatchSumsSignature =
    "void nabla_objective_batch_sums(const double *params, size_t begin, size_t end, "
    "const double *const *columns, double *sums)";
constexpr const char *kObjectiveHessSignature =
    "void nabla_objective_hess(const double *params, const double *inputs, double *hess)";
constexpr const char *kObjectiveHvpSignature =
    "void nabla_objective_hvp(const double *params, const double *inputs, const double *v, "
    "double *hv)";
constexpr const char *kInfoSignature = "const char *nabla_module_info(void)";

const char *optLevelName(OptLevel level) {
  switch (level) {
  case OptLevel::O0: return "O0";
  case OptLevel::O1: return "O1";
  case OptLevel::O2: return "O2";
  case OptLevel::O3: return "O3";
  }
  return "O2";
}

// --- module info ---------------------------------------------------------------------------

void jsonNumber(llvm::json::OStream &j, double v) {
  // JSON has no NaN or infinity: they are the strings "nan", "inf", "-inf", as in `nabla eval`.
  if (std::isfinite(v))
    j.value(v);
  else
    j.value(std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
}

/// [{"name": "w", "shape": [3], "offset": 0, "size": 3}, ...], with `extra` adding attributes.
template <class Extra>
void jsonGroups(llvm::json::OStream &j, const std::vector<VarGroup> &groups, Extra extra) {
  j.array([&] {
    std::size_t offset = 0;
    for (std::size_t k = 0; k < groups.size(); ++k) {
      const VarGroup &g = groups[k];
      j.object([&] {
        j.attribute("name", g.name);
        j.attributeArray("shape", [&] {
          for (std::uint32_t d : g.shape.dims) j.value(static_cast<std::int64_t>(d));
        });
        j.attribute("offset", static_cast<std::int64_t>(offset));
        j.attribute("size", static_cast<std::int64_t>(g.shape.size()));
        extra(k);
      });
      offset += g.shape.size();
    }
  });
}
/// {"n", "nonzeros", "row_start", "columns"} of a pattern (compressed rows, both triangles); the
/// arrays are left out beyond 10^6 nonzeros (the count stays).
void jsonPattern(llvm::json::OStream &j, const HessianPattern &p) {
  j.attribute("n", static_cast<std::int64_t>(p.n));
  j.attribute("nonzeros", static_cast<std::int64_t>(p.nonzeros()));
  if (p.nonzeros() > 1000000) return;
  j.attributeArray("row_start", [&] {
    for (std::int64_t v : p.rowStart) j.value(v);
  });
  j.attributeArray("columns", [&] {
    for (std::int64_t v : p.columns) j.value(v);
  });
}

void jsonGroups(llvm::json::OStream &j, const std::vector<VarGroup> &groups) {
  jsonGroups(j, groups, [](std::size_t) {});
}

void jsonInit(llvm::json::OStream &j, const ParamDecl &p) {
  j.attributeObject("init", [&] {
    switch (p.init) {
    case InitKind::Zero: j.attribute("kind", "zero"); break;
    case InitKind::Value:
      j.attribute("kind", "value");
      j.attributeArray("values", [&] {
        for (double v : p.initValues) jsonNumber(j, v);
      });
      break;
    case InitKind::Normal:
      j.attribute("kind", "normal");
      j.attributeBegin("mean");
      jsonNumber(j, p.initA);
      j.attributeEnd();
      j.attributeBegin("std");
      jsonNumber(j, p.initB);
      j.attributeEnd();
      break;
    case InitKind::Uniform:
      j.attribute("kind", "uniform");
      j.attributeBegin("lo");
      jsonNumber(j, p.initA);
      j.attributeEnd();
      j.attributeBegin("hi");
      jsonNumber(j, p.initB);
      j.attributeEnd();
      break;
    }
  });
}

std::vector<VarGroup> groupsOf(const std::vector<ParamDecl> &params) {
  std::vector<VarGroup> out;
  for (const ParamDecl &p : params) out.push_back(p.vars);
  return out;
}
std::vector<VarGroup> groupsOf(const std::vector<InputDecl> &inputs) {
  std::vector<VarGroup> out;
  for (const InputDecl &i : inputs) out.push_back(i.vars);
  return out;
}

// --- the header ----------------------------------------------------------------------------

/// Source text fit for a C comment: printable ASCII, no `*/` and no trigraph, lines kept,
/// at most `limit` bytes.
std::vector<std::string> commentText(const std::string &text, std::size_t limit = 400) {
  std::vector<std::string> lines{""};
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == limit) {
      lines.back() += " ...";
      break;
    }
    const char c = text[i];
    if (c == '\n') {
      lines.emplace_back();
      continue;
    }
    std::string &line = lines.back();
    const bool printable = c >= 0x20 && c < 0x7f;
    if (!printable) {
      line += ' ';
    } else if ((c == '/' && !line.empty() && line.back() == '*') ||
               (c == '?' && !line.empty() && line.back() == '?')) {
      line += ' ';
      line += c;
    } else {
      line += c;
    }
  }
  for (std::string &line : lines)
    while (!line.empty() && line.back() == ' ') line.pop_back();
  return lines;
}

/// A block comment of paragraphs, each word-wrapped at 100 columns; lines that start with two
/// spaces are kept as they are (tables, source text).
std::string comment(const std::vector<std::string> &paragraphs) {
  constexpr std::size_t kWidth = 100;
  std::vector<std::string> lines;
  for (const std::string &p : paragraphs) {
    if (p.rfind("  ", 0) == 0 || p.empty()) {
      lines.push_back(p);
      continue;
    }
    std::string line;
    std::size_t start = 0;
    while (start < p.size()) {
      std::size_t end = p.find(' ', start);
      if (end == std::string::npos) end = p.size();
      std::string word = p.substr(start, end - start);
      if (!line.empty() && 3 + line.size() + 1 + word.size() > kWidth) {
        lines.push_back(line);
        line.clear();
      }
      line += (line.empty() ? "" : " ") + word;
      start = end + 1;
    }
    lines.push_back(line);
  }
  if (lines.size() == 1 && lines[0].size() + 6 <= kWidth) return "/* " + lines[0] + " */\n";
  std::string out = "/* ";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += lines[i].empty() ? " *" : " * ";
    out += lines[i];
    out += '\n';
  }
  return out + " */\n";
}

std::string cIdentifier(const std::string &name) {
  std::string out;
  for (char c : name)
    out += std::isalnum(static_cast<unsigned char>(c))
               ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
               : '_';
  return out.empty() ? "MODULE" : out;
}

/// `  w     double[30]   params[0..29]` lines for a layout table.
std::vector<std::string> layoutTable(const std::vector<VarGroup> &groups, const std::string &array,
                                     const std::vector<std::string> &notes = {}) {
  std::vector<std::array<std::string, 4>> rows;
  std::size_t offset = 0;
  for (std::size_t k = 0; k < groups.size(); ++k) {
    const VarGroup &g = groups[k];
    const std::size_t n = g.shape.size();
    std::string where = array + (array.empty() ? "" : " ") + std::to_string(offset) +
                        (n == 1 ? "" : ".." + std::to_string(offset + n - 1));
    if (!array.empty() && array != "argument")
      where = array + "[" + where.substr(array.size() + 1) + "]";
    rows.push_back({g.name, "double" + dimsText(g.shape), where, k < notes.size() ? notes[k] : ""});
    offset += n;
  }
  std::array<std::size_t, 3> width{};
  for (const auto &row : rows)
    for (std::size_t c = 0; c < 3; ++c) width[c] = std::max(width[c], row[c].size());
  std::vector<std::string> out;
  for (const auto &row : rows) {
    std::string line = "  ";
    for (std::size_t c = 0; c < 4; ++c) {
      if (c == 3 && row[3].empty()) break;
      line += row[c];
      if (c < 3) line += std::string(width[c] - row[c].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out.push_back(line);
  }
  return out;
}

std::string argumentList(const std::vector<VarGroup> &args) {
  std::string out;
  for (const VarGroup &g : args) out += (out.empty() ? "" : ", ") + g.name + dimsText(g.shape);
  return out;
}

void appendFunction(std::string &out, const AotFunction &f) {
  const std::size_t n = totalSize(f.args);
  const std::vector<std::string> source = commentText(f.definition);
  std::vector<std::string> intro;
  for (const std::string &line : source) intro.push_back("  " + line);
  if (f.definition.empty()) intro = {"  " + f.name + "(" + argumentList(f.args) + ")"};
  intro.push_back("");
  intro.push_back(
      n == 0 ? "No arguments."
             : "Arguments, in this order; entry i of the gradient, and row and column i of "
               "the Hessian, belong to argument i:");
  if (n > 0)
    for (const std::string &line : layoutTable(f.args, "argument")) intro.push_back(line);
  out += "\n" + comment(intro);

  out += "\n" + comment({"The value of " + f.name + "."});
  out += functionSignature(f, Kind::Value) + ";\n";

  const std::string grad = outputName(f.args, "grad");
  out += "\n" +
         comment({"The value of " + f.name + ", returned, and its gradient: " + grad + "[i] = d" +
                  f.name + "/d(argument i). " + grad + ": " + std::to_string(n) + " doubles."});
  out += functionSignature(f, Kind::Grad) + ";\n";

  if (!f.d.hessian.empty()) {
    const std::string hess = outputName(f.args, "hess");
    out += "\n" + comment({"The Hessian of " + f.name + ", row-major and symmetric: " + hess + "[" +
                           std::to_string(n) + "*i + j] = d2" + f.name +
                           "/(d(argument i) d(argument j)). " + hess +
                           ": " + std::to_string(n * n) + " doubles."});
    out += functionSignature(f, Kind::Hess) + ";\n";
  }
  if (!f.d.hvp.empty()) {
    const std::string v = outputName(f.args, "v"), hv = outputName(f.args, "hv");
    out += "\n" + comment({"The Hessian of " + f.name + " times " + v + ": " + hv + "[i] = sum_j d2" +
                           f.name + "/(d(argument i) d(argument j)) " + v + "[j], without forming "
                           "the Hessian (a few times the gradient's cost). " + v + ", " + hv +
                           ": " + std::to_string(n) + " doubles each."});
    out += functionSignature(f, Kind::Hvp) + ";\n";
  }

  out += "\n" + comment({"The same over n points at once, several per SIMD instruction: " +
                         std::string(n == 0 ? "points is not read. " : "") +
                         "with by_column 0 the points are row-major, n x " + std::to_string(n) +
                         " (argument c of point r at points[" + std::to_string(n) +
                         "*r + c]), and so are the results (grads n x " + std::to_string(n) +
                         (f.d.hessian.empty() ? std::string()
                                              : ", hess n x " + std::to_string(n) + " x " +
                                                    std::to_string(n)) +
                         "); with by_column 1 argument c of point r is at points[c*n + r], and "
                         "entry i of a result at point r at [i*n + r]. They return 0, or 1 when "
                         "out of memory (nothing is written then). A point's results equal the "
                         "calls above, except where glibc's vector math rounds exp, log, sin, "
                         "... differently, by an ulp or so."});
  out += batchSignature(f, Kind::Value) + ";\n";
  out += batchSignature(f, Kind::Grad) + ";\n";
  if (!f.d.hessian.empty()) out += batchSignature(f, Kind::Hess) + ";\n";
}

void appendObjective(std::string &out, const AotObjective &o, const std::string &prefix) {
  const std::vector<VarGroup> params = groupsOf(o.params), inputs = groupsOf(o.inputs);
  const std::size_t P = totalSize(params), I = totalSize(inputs);
  const std::string numParams = prefix + "NUM_PARAMS", numInputs = prefix + "NUM_INPUTS";

  std::vector<std::string> intro{"The objective, per data row:"};
  if (o.definition.empty()) intro.push_back(o.maximize ? "  maximize ..." : "  minimize ...");
  for (const std::string &line : commentText(o.definition)) intro.push_back("  " + line);
  intro.push_back("");
  if (o.maximize)
    intro.push_back(
        "Sign convention: every entry point returns the objective as written, which is to be "
        "maximized, and its gradient (ascend it; negate both to minimize).");
  intro.push_back("params: " + numParams + " doubles, in this order (the gradient and the Hessian "
                  "index them the same way; arrays row-major):");
  if (P == 0) intro.push_back("  (none)");
  for (const std::string &line : layoutTable(params, "params")) intro.push_back(line);
  intro.push_back("inputs, one data row: " + numInputs + " doubles, in this order:");
  if (I == 0) intro.push_back("  (none: inputs and columns are not read and may be NULL)");
  std::vector<std::string> columns;
  for (const InputDecl &in : o.inputs) {
    std::string text;
    for (std::size_t k = 0; k < in.columns.size(); ++k)
      text += (k == 0 ? "" : in.columnRange ? " .. " : ", ") + in.columns[k];
    columns.push_back(
        text.empty() ? "" : "column" + std::string(in.columns.size() > 1 ? "s " : " ") + text);
  }
  for (const std::string &line : layoutTable(inputs, "inputs", columns)) intro.push_back(line);
  out += "\n" + comment(intro);
  out += "#define " + numParams + " " + std::to_string(P) + "\n";
  out += "#define " + numInputs + " " + std::to_string(I) + "\n";

  out += "\n" + comment({"The objective at one row, returned, and its gradient with respect to "
                         "the params, written to grad (" + numParams + " doubles). grad may be "
                         "NULL: then only the objective is computed."});
  out += std::string(kObjectiveSignature) + ";\n";
  out += "\n" + comment({"The mean of the objective over n rows, returned, and the mean gradient, "
                         "written to grad (" + numParams + " doubles; NULL: the mean alone). "
                         "columns holds " + numInputs + " pointers, one per scalar input in the "
                         "order above, each to n doubles: row r is columns[0][r], columns[1][r], "
                         "... The rows are summed (several at a time, see below) and the sums " +
                         std::string(o.array ? "multiplied by 1/n" : "divided by n") +
                         "; n == 0 gives NaN. grad must not overlap the columns."});
  out += std::string(kBatchSignature) + ";\n";
  out += "\n" + comment({"The sums, not the means, over rows begin <= r < end of the same columns: "
                         "sums[0] is the sum of the objective, sums[1 + i] that of gradient entry "
                         "i (1 + " + numParams + " doubles). Disjoint ranges may run on several "
                         "threads at once, each with its own sums; adding their sums and dividing "
                         "by the row count gives nabla_objective_batch's results up to rounding. "
                         "nabla_objective_batch is this over [0, n) divided by n. " +
                         std::string(o.array
                                         ? "The objective runs at the array level: the rows are "
                                           "computed a chunk at a time, products of the params "
                                           "as matrix products in BLAS."
                                         : "The rows are computed several at a time in SIMD "
                                           "registers.")});
  out += std::string(kBatchSumsSignature) + ";\n";
  if (!o.d.hessian.empty()) {
    out += "\n" + comment({"The Hessian of the objective at one row with respect to the params, "
                           "row-major and symmetric: hess[" + numParams + "*i + j] = "
                           "d2L/(dparams[i] dparams[j]). hess: " + numParams + " * " + numParams +
                           " doubles."});
    out += std::string(kObjectiveHessSignature) + ";\n";
  }
  if (o.hasHvp()) {
    out += "\n" + comment({"The Hessian of the objective at one row times v, without forming the "
                           "Hessian (a few times the gradient's cost): hv[i] = sum_j "
                           "d2L/(dparams[i] dparams[j]) v[j]. v, hv: " + numParams +
                           " doubles each."});
    out += std::string(kObjectiveHvpSignature) + ";\n";
  }
}

/// The libraries a library needs besides the C library and libm, by soname
/// (`libopenblas.so.0` for an objective at the array level).
std::vector<std::string> neededLibraries(const AotModule &module) {
  std::vector<std::string> out;
  if (module.objective && module.objective->array)
    for (const std::string &word : module.objective->array->libraries)
      out.push_back(word.rfind("-l:", 0) == 0 ? word.substr(3)
                    : word.rfind("-l", 0) == 0 ? "lib" + word.substr(2) + ".so"
                                               : word);
  return out;
}

std::string needsText(const AotModule &module) {
  const std::vector<std::string> more = neededLibraries(module);
  if (more.empty()) return "The library needs only the C library and libm.";
  std::string text = "The library needs the C library, libm and";
  for (std::size_t k = 0; k < more.size(); ++k) text += (k ? ", " : " ") + more[k];
  return text + " (BLAS: the objective runs at the array level).";
}

}  // namespace

std::string moduleInfoJson(const AotModule &module, const AotOptions &options) {
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::json::OStream j(os);
  j.object([&] {
    j.attribute("nabla_version", NABLA_VERSION);
    j.attribute("abi_version", 1);
    j.attribute("module", module.name);
    j.attribute("source", module.source);
    j.attribute("opt_level", optLevelName(options.optLevel));
    j.attribute("fast_math", options.emit.fastMath);
    j.attributeArray("entry_points", [&] {
      for (const AotFunction &f : module.functions) {
        const std::size_t n = totalSize(f.args);
        auto entry = [&](const char *kindName, const std::string &symbol,
                         const std::string &signature, const char *returns, std::size_t outputs) {
          j.object([&] {
            j.attribute("name", symbol);
            j.attribute("kind", kindName);
            j.attribute("function", f.name);
            j.attribute("signature", signature);
            j.attribute("returns", returns);
            j.attributeBegin("args");
            jsonGroups(j, f.args);
            j.attributeEnd();
            j.attribute("outputs", static_cast<std::int64_t>(outputs));
          });
        };
        const bool hess = !f.d.hessian.empty();
        entry("value", f.name, functionSignature(f, Kind::Value), "value", 0);
        entry("grad", f.name + "_grad", functionSignature(f, Kind::Grad), "value", n);
        if (hess) entry("hess", f.name + "_hess", functionSignature(f, Kind::Hess), "void", n * n);
        if (!f.d.hvp.empty())
          entry("hvp", f.name + "_hvp", functionSignature(f, Kind::Hvp), "void", n);
        // The vectorized ones: outputs per point, over all their arrays.
        entry("value_batch", f.name + "_batch", batchSignature(f, Kind::Value), "status", 1);
        entry("grad_batch", f.name + "_grad_batch", batchSignature(f, Kind::Grad), "status", 1 + n);
        if (hess)
          entry("hess_batch", f.name + "_hess_batch", batchSignature(f, Kind::Hess), "status", n * n);
      }
      if (module.objective) {
        const AotObjective &o = *module.objective;
        const std::vector<VarGroup> params = groupsOf(o.params), inputs = groupsOf(o.inputs);
        const std::size_t P = totalSize(params);
        auto entry = [&](const char *symbol, const char *kind, const char *signature,
                         const char *returns, std::size_t outputs) {
          j.object([&] {
            j.attribute("name", symbol);
            j.attribute("kind", kind);
            j.attribute("function", "objective");
            j.attribute("signature", signature);
            j.attribute("returns", returns);
            j.attributeBegin("params");
            jsonGroups(j, params);
            j.attributeEnd();
            j.attributeBegin("inputs");
            jsonGroups(j, inputs);
            j.attributeEnd();
            j.attribute("outputs", static_cast<std::int64_t>(outputs));
          });
        };
        entry("nabla_objective", "grad", kObjectiveSignature, "value", P);
        entry("nabla_objective_batch", "batch", kBatchSignature, "value", P);
        entry("nabla_objective_batch_sums", "batch_sums", kBatchSumsSignature, "void", 1 + P);
        if (!o.d.hessian.empty())
          entry("nabla_objective_hess", "hess", kObjectiveHessSignature, "void", P * P);
        if (o.hasHvp())
          entry("nabla_objective_hvp", "hvp", kObjectiveHvpSignature, "void", P);
      }
      j.object([&] {
        j.attribute("name", "nabla_module_info");
        j.attribute("kind", "info");
        j.attribute("signature", kInfoSignature);
        j.attribute("returns", "string");
      });
    });
    // The structural nonzeros of each function's Hessian (the objective's is in its block): for a
    // host that builds a sparse matrix from NAME_hess or products of NAME_hvp.
    j.attributeObject("hessian_sparsity", [&] {
      for (const AotFunction &f : module.functions)
        if (f.d.pattern) j.attributeObject(f.name, [&] { jsonPattern(j, *f.d.pattern); });
    });
    j.attributeArray("libraries", [&] {
      for (const std::string &library : neededLibraries(module)) j.value(library);
    });
    if (module.baked) {
      // The values themselves: a host can check that it ships the params it trained.
      const AotBaked &b = *module.baked;
      j.attributeObject("baked_params", [&] {
        j.attribute("source", b.source);
        j.attributeBegin("params");
        std::size_t offset = 0;
        jsonGroups(j, b.params, [&](std::size_t k) {
          j.attributeArray("values", [&] {
            for (std::size_t e = 0; e < b.params[k].shape.size(); ++e)
              jsonNumber(j, b.values[offset + e]);
          });
          offset += b.params[k].shape.size();
        });
        j.attributeEnd();
        j.attributeArray("standardize", [&] {
          for (const AotBaked::Standardized &s : b.standardize)
            j.object([&] {
              j.attribute("input", s.input);
              j.attributeArray("mean", [&] {
                for (double v : s.mean) jsonNumber(j, v);
              });
              j.attributeArray("std", [&] {
                for (double v : s.scale) jsonNumber(j, v);
              });
            });
        });
      });
    }
    if (module.objective) {
      const AotObjective &o = *module.objective;
      const std::vector<VarGroup> params = groupsOf(o.params), inputs = groupsOf(o.inputs);
      j.attributeObject("objective", [&] {
        j.attribute("sense", o.maximize ? "maximize" : "minimize");
        j.attribute("level", o.array ? "array" : "scalar");
        j.attribute("num_params", static_cast<std::int64_t>(totalSize(params)));
        j.attribute("num_inputs", static_cast<std::int64_t>(totalSize(inputs)));
        if (o.d.pattern)
          j.attributeObject("hessian_sparsity", [&] { jsonPattern(j, *o.d.pattern); });
        else if (o.array && o.array->pattern)
          j.attributeObject("hessian_sparsity", [&] { jsonPattern(j, *o.array->pattern); });
        j.attributeBegin("params");
        jsonGroups(j, params, [&](std::size_t k) { jsonInit(j, o.params[k]); });
        j.attributeEnd();
        j.attributeBegin("inputs");
        jsonGroups(j, inputs, [&](std::size_t k) {
          j.attributeArray("columns", [&] {
            for (const std::string &c : o.inputs[k].columns) j.value(c);
          });
          j.attribute("column_range", o.inputs[k].columnRange);
        });
        j.attributeEnd();
      });
    }
  });
  return os.str();
}

namespace {

/// What a host must know of baked params: where they came from, which they are, and which inputs
/// to pass unscaled.
template <class Name>
std::string bakedComment(const AotBaked &baked, Name name) {
  std::string params;
  for (const VarGroup &g : baked.params)
    params += (params.empty() ? "" : ", ") + g.name + dimsText(g.shape);
  std::vector<std::string> text{
      "Params baked in from " + name(baked.source) + ": " + name(params) +
      " are constants of the code, and every function below takes only the inputs (or arguments) "
      "it reads. The objective is left out (its params are fixed): compile without --params for "
      "training."};
  if (!baked.standardize.empty()) {
    std::string inputs;
    for (const AotBaked::Standardized &s : baked.standardize)
      inputs += (inputs.empty() ? "" : ", ") + s.input;
    text.push_back("Standardized inside, as in training: " + name(inputs) +
                   ". Pass the raw values, as in the data file; each element x becomes "
                   "(x - mean) / std with the file's statistics (nabla_module_info() lists them).");
  }
  return comment(text) + "\n";
}

}  // namespace

std::string cHeader(const AotModule &module, const std::string &headerName,
                    const std::string &libraryName, const AotOptions &options) {
  const std::string prefix = "NABLA_" + cIdentifier(module.name) + "_";
  const std::string guard = prefix + "H";
  // File names are the user's: they must not end the comment either.
  auto name = [](const std::string &text) { return commentText(text, 200).front(); };
  std::string out = comment({
      name(headerName) + ": the C interface of " + name(libraryName) +
          ", compiled by nabla " NABLA_VERSION + " from " + name(module.source) +
          ". Generated: do not edit.",
      "",
      "Every function is pure and thread-safe: it keeps no state, reads only its arguments and "
      "writes only its output array, after it has read every input. Arrays are flattened "
      "row-major. " + needsText(module),
      options.emit.fastMath
          ? "Compiled with --fast-math: results may differ from IEEE arithmetic in the last bits, "
            "and NaN and infinities are assumed not to occur."
          : "IEEE arithmetic: the same results as nabla's JIT, and as its interpreter up to a "
            "few ulps.",
  });
  if (module.baked) out += bakedComment(*module.baked, name);
  out += "#ifndef " + guard + "\n#define " + guard + "\n\n#include <stddef.h>\n\n";
  out += "#ifdef __cplusplus\nextern \"C\" {\n#endif\n";
  for (const AotFunction &f : module.functions) appendFunction(out, f);
  if (module.objective) appendObjective(out, *module.objective, prefix);
  out += "\n" +
         comment({"A description of every entry point as JSON, with the nabla version (see nabla's "
                  "docs/aot.md). A constant string: do not free it."});
  out += std::string(kInfoSignature) + ";\n";
  out += "\n#ifdef __cplusplus\n}\n#endif\n\n#endif /* " + guard + " */\n";
  return out;
}

}  // namespace nabla::jit
