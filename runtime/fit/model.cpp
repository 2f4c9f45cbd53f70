// The training functions of a program: the objective (batched over rows), its Hessian, the
// reports, initial values, and where a NaN comes from.
#include "runtime/fit/fit.h"

#include "graph/interp.h"
#include "graph/print.h"
#include "jit/compiled_function.h"
#include "pipeline.h"

#include <cmath>
#include <type_traits>

namespace nabla::fit {

namespace {

ArrayInfo describe(const Graph &graph, const VarGroup &group, std::size_t offset) {
  ArrayInfo a;
  a.name = group.name;
  a.shape = group.shape;
  a.offset = offset;
  for (SymbolId s : group.symbols) a.elements.push_back(graph.symbolName(s));
  return a;
}

} // namespace

std::vector<ArrayInfo> describeParams(const LoweredProgram &program) {
  std::vector<ArrayInfo> out;
  std::size_t offset = 0;
  for (const ParamDecl &p : program.params) {
    out.push_back(describe(program.graph, p.vars, offset));
    offset += p.vars.symbols.size();
  }
  return out;
}

std::vector<ArrayInfo> describeInputs(const LoweredProgram &program) {
  std::vector<ArrayInfo> out;
  std::size_t offset = 0;
  for (const InputDecl &in : program.inputs) {
    out.push_back(describe(program.graph, in.vars, offset));
    offset += in.vars.symbols.size();
  }
  return out;
}

/// The compiled code. The reports share one batched kernel: the kernel sums whatever roots it
/// is given over the rows (codegen/emit_batch.h), and the report values take the places of the
/// value and the gradient entries (padded with zeros, and with extra unused arguments when there
/// are more reports than params).
struct Model::Code {
  std::unique_ptr<jit::Session> session;
  jit::CompiledFunction objective; // args: params, then inputs
  jit::CompiledFunction reports;   // args: params, padding, then inputs
  std::size_t reportSlots = 0;     // 1 + gradSize() of `reports`
  Derivatives derivatives;         // of the objective (for explainNonFinite)
  std::vector<SymbolId> args;      // of the objective
};

Model::Model(LoweredProgram program, std::string path, const ModelOptions &options)
    : program_(std::move(program)), path_(std::move(path)) {
  if (!program_.objective)
    throw FitError(path_ +
                   ": nothing to fit: the program has no `minimize` or `maximize` statement");
  if (program_.params.empty())
    throw FitError(path_ + ": nothing to fit: the program has no `param`");
  params_ = describeParams(program_);
  inputs_ = describeInputs(program_);
  for (const ArrayInfo &p : params_) paramCount_ += p.size();
  for (const ArrayInfo &in : inputs_) inputCount_ += in.size();

  Graph &graph = program_.graph;
  code_ = std::make_unique<Code>();

  std::vector<NodeId> paramNodes;
  std::vector<SymbolId> paramSymbols, inputSymbols;
  for (const ParamDecl &p : program_.params) {
    paramNodes.insert(paramNodes.end(), p.vars.nodes.begin(), p.vars.nodes.end());
    paramSymbols.insert(paramSymbols.end(), p.vars.symbols.begin(), p.vars.symbols.end());
  }
  for (const InputDecl &in : program_.inputs)
    inputSymbols.insert(inputSymbols.end(), in.vars.symbols.begin(), in.vars.symbols.end());
  code_->args = paramSymbols;
  code_->args.insert(code_->args.end(), inputSymbols.begin(), inputSymbols.end());

  code_->derivatives = differentiate(graph, program_.objective->expr, paramNodes, options.hessian);
  {
    std::vector<NodeId> roots{code_->derivatives.value};
    roots.insert(roots.end(), code_->derivatives.grad.begin(), code_->derivatives.grad.end());
    objectiveNodes_ = graph.reachable(roots).size();
  }
  switch (options.tier) {
  case Tier::Auto: optimized_ = objectiveNodes_ <= kAutoOptimizedNodes; break;
  case Tier::Baseline: optimized_ = false; break;
  case Tier::Optimized: optimized_ = true; break;
  }
  // One kind of code for the whole run, so that every evaluation, in this run and in a resumed
  // one, gives the same bits: LLVM at O2 compiled before the first step (no tiers), or nabla's
  // baseline code alone (batches row by row).
  jit::SessionOptions sessionOptions;
  sessionOptions.threads = options.threads;
  if (optimized_)
    sessionOptions.tiered = false;
  else
    sessionOptions.optimizeInBackground = false;
  try {
    code_->session = std::make_unique<jit::Session>(sessionOptions);
  } catch (const jit::JitError &e) {
    throw FitError(std::string("cannot start the JIT: ") + e.what());
  }

  // Reports: every element of every report, simplified together.
  std::vector<NodeId> reportRoots;
  for (const NamedValue &r : program_.reports) {
    for (std::size_t k = 0; k < r.value.elems.size(); ++k) {
      reportRoots.push_back(r.value.elems[k]);
      reportNames_.push_back(r.name);
    }
  }
  // Element names of array reports, row-major like params: acc[0], M[1][2].
  {
    std::size_t k = 0;
    for (const NamedValue &r : program_.reports) {
      const Shape &shape = r.value.shape;
      for (std::size_t e = 0; e < r.value.elems.size(); ++e, ++k) {
        if (shape.isScalar()) continue;
        std::string name = r.name;
        std::size_t rest = e;
        std::vector<std::size_t> index(shape.dims.size());
        for (std::size_t d = shape.dims.size(); d-- > 0;) {
          index[d] = rest % shape.dims[d];
          rest /= shape.dims[d];
        }
        for (std::size_t i : index) name += "[" + std::to_string(i) + "]";
        reportNames_[k] = name;
      }
    }
  }

  const bool batched = !program_.inputs.empty();
  auto compile = [&](const std::string &what, auto make) {
    try {
      return make();
    } catch (const std::exception &e) {
      throw FitError("cannot compile " + what + " of '" + path_ + "': " + e.what());
    }
  };
  jit::FunctionOptions fo;
  fo.batched = batched;
  jit::Session &session = *code_->session;
  code_->objective = compile("the objective", [&] {
    return jit::compileFunction(session, graph, "objective", code_->args, code_->derivatives, fo);
  });

  if (!reportRoots.empty()) {
    reportRoots = simplify(graph, reportRoots);
    std::vector<SymbolId> args = paramSymbols;
    const std::size_t slots = std::max(reportRoots.size(), paramSymbols.size() + 1);
    for (std::size_t k = paramSymbols.size() + 1; k < slots; ++k)
      args.push_back(graph.addSymbol("report.slot" + std::to_string(k)));
    args.insert(args.end(), inputSymbols.begin(), inputSymbols.end());
    Derivatives d;
    d.value = reportRoots[0];
    const NodeId zero = graph.constant(0);
    for (std::size_t k = 1; k < slots; ++k)
      d.grad.push_back(k < reportRoots.size() ? reportRoots[k] : zero);
    code_->reportSlots = slots;
    code_->reports = compile("the reports", [&] {
      return jit::compileFunction(session, graph, "reports", args, d, fo);
    });
  }
}

Model::~Model() = default;
Model::Model(Model &&) noexcept = default;

bool Model::hasHessian() const { return code_->objective.hasHessian(); }

std::vector<double> Model::initialParams(std::uint64_t seed) const {
  std::vector<double> out;
  out.reserve(paramCount_);
  data::Rng rng(seed);
  for (const ParamDecl &p : program_.params) {
    const std::size_t n = p.vars.symbols.size();
    for (std::size_t k = 0; k < n; ++k) {
      switch (p.init) {
      case InitKind::Zero: out.push_back(0.0); break;
      case InitKind::Value:
        out.push_back(p.initValues.size() == 1 ? p.initValues[0] : p.initValues.at(k));
        break;
      case InitKind::Normal: out.push_back(p.initA + p.initB * rng.normal()); break;
      case InitKind::Uniform: out.push_back(p.initA + (p.initB - p.initA) * rng.uniform()); break;
      }
    }
  }
  return out;
}

namespace {

/// params, then one row of the inputs.
std::vector<double> rowArgs(std::span<const double> params, std::span<const double *const> columns,
                            std::size_t row) {
  std::vector<double> args(params.begin(), params.end());
  for (const double *c : columns) args.push_back(c[row]);
  return args;
}

} // namespace

namespace {

static_assert(std::is_same_v<std::size_t, std::uint64_t>,
              "row indices are passed to compiled code as 64-bit unsigned integers");

/// The batch mean of `f` over the rows, columns or picked.
double batchMean(const jit::CompiledFunction &f, std::span<const double> args,
                 const Model::Rows &rows, std::span<double> grad) {
  if (!rows.picked) return f.batchMean(args, rows.count, rows.columns, grad);
  jit::TableRows table;
  table.table = rows.picked->table;
  table.stride = rows.picked->stride;
  table.index = rows.picked->index;
  return f.batchMean(args, rows.count, table, grad);
}

} // namespace

double Model::evaluate(std::span<const double> params, const Rows &rows,
                       std::span<double> grad) const {
  if (inputCount_ == 0) return code_->objective.valueAndGrad(params, grad);
  return batchMean(code_->objective, params, rows, grad);
}

void Model::reports(std::span<const double> params, const Rows &rows,
                    std::span<double> out) const {
  if (reportNames_.empty()) return;
  const std::size_t slots = code_->reportSlots;
  std::vector<double> args(params.begin(), params.end());
  args.resize(slots - 1, 0.0); // the padding arguments (unused)
  std::vector<double> values(slots);
  if (inputCount_ == 0) {
    values[0] = code_->reports.valueAndGrad(args, std::span<double>(values).subspan(1));
  } else {
    values[0] = batchMean(code_->reports, args, rows, std::span<double>(values).subspan(1));
  }
  for (std::size_t k = 0; k < out.size(); ++k) out[k] = values[k];
}

void Model::hessian(std::span<const double> params, std::size_t rows,
                    std::span<const double *const> columns, std::span<double> hess) const {
  if (!code_->objective.hasHessian())
    throw FitError("the objective was compiled without its Hessian");
  const std::size_t n = paramCount_;
  if (inputCount_ == 0) {
    code_->objective.hessian(params, hess);
    return;
  }
  std::vector<double> sum(n * n, 0.0), one(n * n);
  for (std::size_t r = 0; r < rows; ++r) {
    code_->objective.hessian(rowArgs(params, columns, r), one);
    for (std::size_t k = 0; k < n * n; ++k) sum[k] += one[k];
  }
  for (std::size_t k = 0; k < n * n; ++k) hess[k] = sum[k] / static_cast<double>(rows);
}

std::optional<Model::NonFinite>
Model::explainNonFinite(std::span<const double> params, std::size_t rows,
                        std::span<const double *const> columns) const {
  const Graph &graph = program_.graph;
  const Derivatives &d = code_->derivatives;
  std::vector<NodeId> roots{d.value};
  roots.insert(roots.end(), d.grad.begin(), d.grad.end());
  const std::vector<NodeId> order = graph.reachable(roots);
  // Which nodes the loss itself needs (the rest belong to the gradient only).
  std::vector<bool> forward(graph.size(), false);
  for (NodeId id : graph.reachable({d.value})) forward[id.index] = true;

  std::vector<double> symbolValues(graph.symbolCount(), 0.0);
  std::vector<double> value(graph.size(), 0.0);
  const std::size_t count = inputCount_ == 0 ? 1 : rows;
  for (std::size_t r = 0; r < count; ++r) {
    const std::vector<double> args = rowArgs(params, columns, r);
    for (std::size_t k = 0; k < code_->args.size(); ++k) symbolValues[code_->args[k]] = args[k];
    std::optional<NodeId> first;
    for (NodeId id : order) {
      const Node &n = graph[id];
      double v;
      switch (n.op) {
      case Op::Const: v = n.value; break;
      case Op::Var: v = symbolValues[n.symbol]; break;
      default: v = evalNode(graph, id, value.data());
      }
      value[id.index] = v;
      if (!first && !std::isfinite(v)) first = id;
    }
    bool bad = !std::isfinite(value[d.value.index]);
    std::size_t badGrad = d.grad.size();
    for (std::size_t k = 0; k < d.grad.size() && badGrad == d.grad.size(); ++k)
      if (!std::isfinite(value[d.grad[k].index])) badGrad = k;
    if (!bad && badGrad == d.grad.size()) continue;

    NonFinite out;
    out.row = r;
    if (bad)
      out.what = "the loss is " + formatNumber(value[d.value.index]);
    else
      out.what = "the derivative with respect to '" + graph.symbolName(code_->args[badGrad]) +
                 "' is " + formatNumber(value[d.grad[badGrad].index]);
    if (first) {
      const Node &n = graph[*first];
      std::string text;
      if (n.op == Op::Var) {
        out.what += "; the value of '" + graph.symbolName(n.symbol) + "' is " +
                    formatNumber(value[first->index]);
        return out;
      }
      // A long expression is shown by its operation, with its operands' values.
      if (printedLengths(graph, {*first})[0] <= 160) {
        text = printExpr(graph, *first);
      } else {
        text = std::string(spelling(n.op)) + "(";
        for (int a = 0; a < arity(n.op); ++a)
          text += (a ? ", " : "") + formatNumber(value[n.args[a].index]);
        text += ")";
      }
      out.what += "; the first non-finite value is " + text + " = " +
                  formatNumber(value[first->index]) +
                  (forward[first->index] ? " (in the loss)" : " (in the gradient)");
    }
    return out;
  }
  return std::nullopt;
}

} // namespace nabla::fit
