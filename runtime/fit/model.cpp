// The training functions of a program: the objective (batched over rows), its Hessian, the
// reports, initial values, and where a NaN comes from.
#include "runtime/fit/fit.h"

#include <cmath>
#include <type_traits>

namespace nabla::fit {

/// The compiled code. The reports are one array-valued function of the params and the inputs,
/// every element of every report a root of it, averaged over the rows by its batched kernel.
struct Model::Code {
  std::unique_ptr<driver::Jit> jit;
  driver::Code objective;   // args: params, then inputs
  driver::Outputs reports;  // the same args
  driver::Outputs sparse;   // the sparse Hessian's nonzeros (scalar level), the same args
  Derivatives derivatives;  // of the objective (for explainNonFinite; made there when arrays)
  bool haveDerivatives = false;
  std::vector<SymbolId> args;
  std::optional<driver::ArrayCode> arrays;  // the array level, when it serves this program
};

Model::Model(driver::Program program, std::string path, const ModelOptions &options)
    : program_(std::move(program)), path_(std::move(path)) {
  const LoweredProgram &lowered = program_.lowered();
  if (!lowered.objective)
    throw FitError(path_ +
                   ": nothing to fit: the program has no `minimize` or `maximize` statement");
  if (lowered.params.empty())
    throw FitError(path_ + ": nothing to fit: the program has no `param`");
  params_ = program_.params();
  inputs_ = program_.inputs();
  for (const ArrayInfo &p : params_) paramCount_ += p.size();
  for (const ArrayInfo &in : inputs_) inputCount_ += in.size();

  code_ = std::make_unique<Code>();
  // The array level for programs whose arrays are large (unless the scalar baseline code is
  // asked for): ready at once, its products in BLAS. A program loaded with its bodies deferred is
  // lowered to scalars only when the array level does not serve it. Its second derivatives are
  // Hessian-vector products (forward mode over the gradient), and its Hessian the nonzeros of
  // the structural pattern, one product per colour of a star colouring.
  if (options.tier != Tier::Baseline) {
    std::string why;
    std::optional<driver::ArrayCode> arrays =
        driver::arrayLevelFor(program_, options.threads, options.tier == Tier::Array, &why);
    if (!arrays && options.tier == Tier::Array) {
      program_.complete();  // an error in the model is reported as such, not as the level's
      throw FitError(path_ + ": --jit array: the array level cannot take this model: " + why);
    }
    if (arrays) {
      code_->arrays = std::move(arrays);
      arrays_ = true;
      for (const NamedValue &r : lowered.reports) {
        for (std::size_t k = 0; k < r.value.elems.size(); ++k) reportNames_.push_back(r.name);
      }
      nameReportElements();
      hasHvp_ = options.hvp;
      if (options.hessian) {
        const driver::ArrayCode::HessianChoice choice =
            code_->arrays->chooseHessian(options.hessianForm);
        hessianForm_ = choice.form;
        if (hessianForm_ == driver::HessianForm::Sparse) keepPattern(*choice.pattern);
        hessian_ = true;
      }
      // The products (newton-cg's, and the sparse Hessian's) made now, with the rest of the code:
      // their compile counts as compiling, and a missing forward rule stops the run before it.
      if (options.hvp || options.hessian) code_->arrays->prepareHvp();
      return;
    }
  }
  program_.complete();
  const driver::Entry objective = *program_.objective();
  code_->args = program_.arguments(objective);  // the params, then the inputs
  // Newton's Hessian: dense (every entry symbolic, n sweeps) or its structural nonzeros
  // (symbolic entries, or Hessian-vector products per colour: whichever the pattern favours).
  // (Small ones are dense without looking at the pattern: the same code as before sparse
  // Hessians existed, and no colouring sweeps.)
  bool dense = options.hessian;
  const bool small = paramCount_ <= driver::kDenseHessianSize;
  if (options.hessian && options.hessianForm != driver::HessianForm::Dense &&
      (options.hessianForm || !small)) {
    code_->derivatives = program_.differentiate(objective, false);
    program_.addSparseHessian(objective, objective.vars, code_->derivatives);
    hessianForm_ = options.hessianForm.value_or(
        driver::chooseHessianForm(paramCount_, code_->derivatives.pattern->nonzeros()));
    dense = hessianForm_ == driver::HessianForm::Dense;
    if (!dense) keepPattern(*code_->derivatives.pattern);
  }
  if (dense || !options.hessian) code_->derivatives = program_.differentiate(objective, dense);
  // (A sparse Hessian made from products has it already.)
  if (options.hvp && code_->derivatives.hvp.empty())
    program_.addHessianVectorProduct(objective, objective.vars, code_->derivatives);
  hasHvp_ = options.hvp;
  code_->haveDerivatives = true;
  {
    std::vector<NodeId> roots{code_->derivatives.value};
    roots.insert(roots.end(), code_->derivatives.grad.begin(), code_->derivatives.grad.end());
    objectiveNodes_ = program_.nodeCount(roots);
  }
  switch (options.tier) {
  case Tier::Auto: optimized_ = objectiveNodes_ <= kAutoOptimizedNodes; break;
  case Tier::Baseline: optimized_ = false; break;
  case Tier::Optimized: optimized_ = true; break;
  case Tier::Array: break;  // never here: the array level took it or threw above
  }
  // One kind of code for the whole run, so that every evaluation, in this run and in a resumed
  // one, gives the same bits: LLVM at O2 compiled before the first step (no tiers), or nabla's
  // baseline code alone (batches row by row).
  driver::JitOptions jitOptions;
  jitOptions.tier = optimized_ ? driver::JitOptions::Tier::Optimized : driver::JitOptions::Tier::FirstOnly;
  jitOptions.threads = options.threads;
  code_->jit = std::make_unique<driver::Jit>(jitOptions);

  // Reports: every element of every report, simplified together.
  std::vector<NodeId> reportRoots;
  for (const NamedValue &r : lowered.reports) {
    for (std::size_t k = 0; k < r.value.elems.size(); ++k) {
      reportRoots.push_back(r.value.elems[k]);
      reportNames_.push_back(r.name);
    }
  }
  nameReportElements();

  driver::CodeOptions codeOptions;
  codeOptions.batched = !lowered.inputs.empty();
  code_->objective =
      code_->jit->compile(program_, "objective", code_->args, code_->derivatives, codeOptions);
  if (!reportRoots.empty())
    code_->reports = code_->jit->compileOutputs(program_, "reports", code_->args, paramCount_,
                                                program_.simplify(reportRoots), codeOptions);
  // The sparse Hessian's entries, unless they come from products (sparseHessian()).
  if (pattern_ && !code_->derivatives.sparseProducts)
    code_->sparse = code_->jit->compileOutputs(program_, "hessian", code_->args, paramCount_,
                                               code_->derivatives.sparseHessian, codeOptions);
}

void Model::keepPattern(const HessianPattern &pattern) {
  auto p = std::make_shared<optim::SparsePattern>();
  p->n = pattern.n;
  p->row_start = pattern.rowStart;
  p->columns = pattern.columns;
  pattern_ = std::move(p);
}

void Model::nameReportElements() {
  // Element names of array reports, row-major like params: acc[0], M[1][2].
  std::size_t k = 0;
  for (const NamedValue &r : program_.lowered().reports) {
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

Model::~Model() = default;
Model::Model(Model &&) noexcept = default;

std::size_t Model::sparseHessianProducts() const {
  if (!pattern_) return 0;
  if (arrays_) return code_->arrays->hessianColours();
  return code_->derivatives.sparseProducts ? code_->derivatives.sparseProducts->colouring.colours
                                           : 0;
}

bool Model::hasHessian() const {
  return arrays_ ? hessian_ : pattern_ != nullptr || code_->objective.hasHessian();
}

std::vector<double> Model::initialParams(std::uint64_t seed) const {
  std::vector<double> out;
  out.reserve(paramCount_);
  data::Rng rng(seed);
  for (const ParamDecl &p : program_.lowered().params) {
    const std::size_t n = p.vars.shape.size();
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

/// Picked rows as the compiled kernels take them.
driver::TableRows tableRows(const data::PickedRows &picked) {
  driver::TableRows table;
  table.table = picked.table;
  table.stride = picked.stride;
  table.index = picked.index;
  return table;
}

} // namespace

namespace {

driver::ArrayRows arrayRows(const Model::Rows &rows, bool hasInputs) {
  driver::ArrayRows out;
  out.count = hasInputs ? rows.count : 1;
  out.columns = rows.columns;
  if (rows.picked) {
    out.table = rows.picked->table;
    out.stride = rows.picked->stride;
    out.index = rows.picked->index;
  }
  return out;
}

} // namespace

double Model::evaluate(std::span<const double> params, const Rows &rows,
                       std::span<double> grad) const {
  if (code_->arrays) return code_->arrays->objective(params, arrayRows(rows, inputCount_ > 0), grad);
  if (inputCount_ == 0) return code_->objective.valueAndGrad(params, grad);
  if (!rows.picked) return code_->objective.batchMean(params, rows.count, rows.columns, grad);
  return code_->objective.batchMean(params, rows.count, tableRows(*rows.picked), grad);
}

void Model::reports(std::span<const double> params, const Rows &rows,
                    std::span<double> out) const {
  if (reportNames_.empty()) return;
  if (code_->arrays) {
    code_->arrays->reports(params, arrayRows(rows, inputCount_ > 0), out);
    return;
  }
  if (inputCount_ == 0) {
    code_->reports.outputs(params, out);
    return;
  }
  if (!rows.picked) {
    code_->reports.batchMeans(params, rows.count, rows.columns, out);
    return;
  }
  code_->reports.batchMeans(params, rows.count, tableRows(*rows.picked), out);
}

void Model::sparseHessian(std::span<const double> params, std::size_t rows,
                          std::span<const double *const> columns, std::span<double> values) const {
  if (!pattern_) throw FitError("the objective was compiled without its sparse Hessian");
  if (arrays_) {
    code_->arrays->sparseHessian(params, arrayRows({rows, columns, {}}, inputCount_ > 0), values);
    return;
  }
  if (code_->derivatives.sparseProducts) {
    driver::sparseHessianByProducts(
        code_->derivatives,
        [&](std::span<const double> v, std::span<double> out) { product(params, v, rows, columns, out); },
        values);
    return;
  }
  if (inputCount_ == 0) {
    code_->sparse.outputs(params, values);
    return;
  }
  code_->sparse.batchMeans(params, rows, columns, values);
}

void Model::hvp(std::span<const double> params, std::span<const double> v, std::size_t rows,
                std::span<const double *const> columns, std::span<double> out) const {
  if (!hasHvp_) throw FitError("the objective was compiled without its Hessian-vector product");
  product(params, v, rows, columns, out);
}

void Model::product(std::span<const double> params, std::span<const double> v, std::size_t rows,
                    std::span<const double *const> columns, std::span<double> out) const {
  if (arrays_) {
    code_->arrays->hvp(params, v, arrayRows({rows, columns, {}}, inputCount_ > 0), out);
    return;
  }
  if (inputCount_ == 0) {
    code_->objective.hvp(params, v, out);
    return;
  }
  // Row by row (each CG iteration of newton-cg): one argument buffer, its inputs rewritten.
  std::vector<double> one(paramCount_), args(params.begin(), params.end());
  args.resize(paramCount_ + columns.size());
  std::fill(out.begin(), out.end(), 0.0);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t k = 0; k < columns.size(); ++k) args[paramCount_ + k] = columns[k][r];
    code_->objective.hvp(args, v, one);
    for (std::size_t i = 0; i < paramCount_; ++i) out[i] += one[i];
  }
  for (double &x : out) x /= static_cast<double>(rows);
}

void Model::hessian(std::span<const double> params, std::size_t rows,
                    std::span<const double *const> columns, std::span<double> hess) const {
  if (pattern_) {
    // The dense matrix of the nonzeros (a small sparse Hessian, or one at the array level).
    std::vector<double> values(pattern_->nonzeros());
    sparseHessian(params, rows, columns, values);
    std::fill(hess.begin(), hess.end(), 0.0);
    for (std::size_t i = 0; i < paramCount_; ++i)
      for (std::int64_t k = pattern_->row_start[i]; k < pattern_->row_start[i + 1]; ++k)
        hess[i * paramCount_ + static_cast<std::size_t>(pattern_->columns[k])] = values[k];
    return;
  }
  if (arrays_ && hessian_) {
    code_->arrays->denseHessian(params, arrayRows({rows, columns, {}}, inputCount_ > 0), hess);
    return;
  }
  if (arrays_ || !code_->objective.hasHessian())
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
  if (!code_->haveDerivatives) {
    // The array level ran: the scalar level's derivatives, only to explain a NaN.
    driver::Program &program = const_cast<driver::Program &>(program_);
    program.complete();
    const driver::Entry objective = *program.objective();
    code_->args = program.arguments(objective);
    code_->derivatives = program.differentiate(objective, false);
    code_->haveDerivatives = true;
  }
  const std::size_t count = inputCount_ == 0 ? 1 : rows;
  for (std::size_t r = 0; r < count; ++r) {
    const std::vector<double> args = rowArgs(params, columns, r);
    if (std::optional<std::string> what =
            driver::explainNonFinite(program_, code_->derivatives, code_->args, args))
      return NonFinite{r, *what};
  }
  return std::nullopt;
}

} // namespace nabla::fit
