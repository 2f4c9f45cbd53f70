// `nabla predict`: definitions (and reports) as one function of params and inputs, row by row.
#include "runtime/fit/fit.h"


#include <algorithm>
#include <set>

namespace nabla::fit {

/// The outputs are one array-valued function of the params and the inputs used: one call per row
/// gives every output. The code is nabla's baseline tier (bit for bit the interpreter), compiled
/// in microseconds.
struct Predictor::Code {
  explicit Code(driver::Program p) : program(std::move(p)) {}
  driver::Program program;
  std::unique_ptr<driver::Jit> jit;
  driver::Outputs outputs;
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

Predictor::Predictor(driver::Program programIn, const std::vector<std::string> &names) {
  code_ = std::make_unique<Code>(std::move(programIn));
  driver::Program &program = code_->program;
  const LoweredProgram &lowered = program.lowered();
  const Graph &graph = program.graph();
  if (names.empty() && lowered.definitions.empty())
    throw FitError("the program has no definitions to predict (`name = expr`); name outputs "
                   "with --output");
  std::vector<NodeId> roots;
  for (const NamedValue *v : program.outputs(names))
    for (std::size_t e = 0; e < v->value.elems.size(); ++e) {
      roots.push_back(v->value.elems[e]);
      columns_.push_back(elementName(v->name, v->value.shape, e));
    }
  if (roots.empty()) throw FitError("the outputs have no elements");
  roots = program.simplify(roots);

  // Only the inputs the outputs read need data.
  std::set<SymbolId> used;
  for (NodeId id : graph.reachable(roots))
    if (graph[id].op == Op::Var) used.insert(graph[id].symbol);
  std::vector<SymbolId> args;
  for (const ParamDecl &p : lowered.params) {
    args.insert(args.end(), p.vars.symbols.begin(), p.vars.symbols.end());
    paramCount_ += p.vars.symbols.size();
  }
  std::vector<ArrayInfo> all = program.inputs();
  std::size_t offset = 0;
  for (std::size_t k = 0; k < lowered.inputs.size(); ++k) {
    const VarGroup &g = lowered.inputs[k].vars;
    bool reads = std::any_of(g.symbols.begin(), g.symbols.end(),
                             [&](SymbolId s) { return used.count(s) > 0; });
    if (!reads) continue;
    ArrayInfo a = all[k];
    a.offset = offset;
    offset += a.size();
    inputs_.push_back(a);
    args.insert(args.end(), g.symbols.begin(), g.symbols.end());
  }
  code_->usedInputColumns = offset;
  code_->jit = std::make_unique<driver::Jit>(
      driver::JitOptions{driver::JitOptions::Tier::FirstOnly});  // baseline code: ready at once
  code_->outputs = code_->jit->compileOutputs(program, "outputs", args, paramCount_, roots);
}

Predictor::~Predictor() = default;

const driver::Program &Predictor::program() const { return code_->program; }

void Predictor::write(std::ostream &out, std::span<const double> params,
                      const Dataset &data) const {
  std::string line;
  for (std::size_t k = 0; k < columns_.size(); ++k) line += (k ? "," : "") + columns_[k];
  out << line << "\n";
  std::vector<double> args(code_->outputs.arity(), 0.0);
  std::copy(params.begin(), params.end(), args.begin());
  std::vector<double> values(columns_.size());
  for (std::size_t r = 0; r < data.rows; ++r) {
    // Dataset columns are those of inputs(), in order.
    for (std::size_t c = 0; c < code_->usedInputColumns; ++c)
      args[paramCount_ + c] = data.columns[c][r];
    code_->outputs.outputs(args, values);
    line.clear();
    for (std::size_t k = 0; k < values.size(); ++k)
      line += (k ? "," : "") + formatNumber(values[k]);
    out << line << "\n";
  }
}

} // namespace nabla::fit
