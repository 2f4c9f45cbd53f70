// `nabla predict`: definitions (and reports) as one function of params and inputs, row by row.
#include "runtime/fit/fit.h"

#include "jit/compiled_function.h"
#include "pipeline.h"

#include <algorithm>
#include <set>

namespace nabla::fit {

/// The outputs are compiled as one fused value-and-gradient entry point whose value is the first
/// output and whose "gradient" entries are the others: that entry point computes whatever roots
/// it is given (codegen/emit_llvm.h), so one call per row gives every output. Arguments: the
/// params, the inputs used, and unused padding arguments when there are more outputs than that.
/// The code is nabla's baseline tier (bit for bit the interpreter), compiled in microseconds.
struct Predictor::Code {
  std::unique_ptr<jit::Session> session;
  jit::CompiledFunction outputs;
  std::size_t argCount = 0; // params + inputs used + padding
  std::size_t usedInputColumns = 0;
};

namespace {

std::string elementName(const std::string &name, const Shape &shape, std::size_t e) {
  if (shape.isScalar()) return name;
  std::vector<std::size_t> index(shape.dims.size());
  for (std::size_t d = shape.dims.size(); d-- > 0;) {
    index[d] = e % shape.dims[d];
    e /= shape.dims[d];
  }
  std::string out = name;
  for (std::size_t i : index) out += "[" + std::to_string(i) + "]";
  return out;
}

} // namespace

Predictor::Predictor(LoweredProgram programIn, const std::vector<std::string> &namesIn) {
  LoweredProgram program = std::move(programIn);
  Graph &graph = program.graph;
  std::vector<const NamedValue *> chosen;
  std::vector<std::string> known;
  for (const NamedValue &d : program.definitions) known.push_back(d.name);
  for (const NamedValue &r : program.reports) known.push_back(r.name);
  if (namesIn.empty()) {
    for (const NamedValue &d : program.definitions) chosen.push_back(&d);
    if (chosen.empty())
      throw FitError("the program has no definitions to predict (`name = expr`); name outputs "
                     "with --output");
  }
  for (const std::string &name : namesIn) {
    const NamedValue *found = nullptr;
    for (const NamedValue &d : program.definitions)
      if (d.name == name) found = &d;
    for (const NamedValue &r : program.reports)
      if (r.name == name && !found) found = &r;
    if (!found) {
      std::string message = "'" + name + "' is not a definition or report of the program";
      std::string close = closestName(name, known);
      if (!close.empty()) message += " (did you mean '" + close + "'?)";
      throw FitError(message);
    }
    chosen.push_back(found);
  }
  std::vector<NodeId> roots;
  for (const NamedValue *v : chosen)
    for (std::size_t e = 0; e < v->value.elems.size(); ++e) {
      roots.push_back(v->value.elems[e]);
      columns_.push_back(elementName(v->name, v->value.shape, e));
    }
  if (roots.empty()) throw FitError("the outputs have no elements");
  roots = simplify(graph, roots);

  // Only the inputs the outputs read need data.
  std::set<SymbolId> used;
  for (NodeId id : graph.reachable(roots))
    if (graph[id].op == Op::Var) used.insert(graph[id].symbol);
  std::vector<SymbolId> args;
  for (const ParamDecl &p : program.params) {
    args.insert(args.end(), p.vars.symbols.begin(), p.vars.symbols.end());
    paramCount_ += p.vars.symbols.size();
  }
  std::vector<ArrayInfo> all = describeInputs(program);
  std::size_t offset = 0;
  for (std::size_t k = 0; k < program.inputs.size(); ++k) {
    const VarGroup &g = program.inputs[k].vars;
    bool reads = std::any_of(g.symbols.begin(), g.symbols.end(),
                             [&](SymbolId s) { return used.count(s) > 0; });
    if (!reads) continue;
    ArrayInfo a = all[k];
    a.offset = offset;
    offset += a.size();
    inputs_.push_back(a);
    args.insert(args.end(), g.symbols.begin(), g.symbols.end());
  }
  code_ = std::make_unique<Code>();
  code_->usedInputColumns = offset;
  for (std::size_t k = args.size(); k + 1 < roots.size(); ++k)
    args.push_back(graph.addSymbol("output.slot" + std::to_string(k)));
  code_->argCount = args.size();

  Derivatives d;
  d.value = roots[0];
  d.grad.assign(roots.begin() + 1, roots.end());
  jit::SessionOptions options;
  options.optimizeInBackground = false; // baseline code only: ready at once
  try {
    code_->session = std::make_unique<jit::Session>(options);
    code_->outputs = jit::compileFunction(*code_->session, graph, "outputs", args, d);
  } catch (const std::exception &e) {
    throw FitError(std::string("cannot compile the outputs: ") + e.what());
  }
}

Predictor::~Predictor() = default;

void Predictor::write(std::ostream &out, std::span<const double> params,
                      const Dataset &data) const {
  std::string line;
  for (std::size_t k = 0; k < columns_.size(); ++k) line += (k ? "," : "") + columns_[k];
  out << line << "\n";
  std::vector<double> args(code_->argCount, 0.0);
  std::copy(params.begin(), params.end(), args.begin());
  std::vector<double> values(columns_.size());
  for (std::size_t r = 0; r < data.rows; ++r) {
    // Dataset columns are those of inputs(), in order.
    for (std::size_t c = 0; c < code_->usedInputColumns; ++c)
      args[paramCount_ + c] = data.columns[c][r];
    values[0] = code_->outputs.valueAndGrad(args, std::span<double>(values).subspan(1));
    line.clear();
    for (std::size_t k = 0; k < values.size(); ++k)
      line += (k ? "," : "") + formatNumber(values[k]);
    out << line << "\n";
  }
}

} // namespace nabla::fit
