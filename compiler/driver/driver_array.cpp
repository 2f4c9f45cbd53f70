// The driver's door to the array level (compiler/array/): lowering, reverse mode, and the
// executors of the objective and of the reports.
#include "array/array.h"
#include "array/sparsity.h"
#include "diff/colouring.h"
#include "driver/program_impl.h"

#include <stdexcept>

namespace nabla::driver {

namespace {

/// The program's objective and reports at the array level, differentiated, or the reason the
/// array level does not take it (`*whyNot`): the start of compileArrays and of a library's.
std::optional<array::Program> differentiated(const Program &program, std::string *whyNot) {
  const Program::Impl &p = program.impl();
  if (!p.ast) {
    if (whyNot) *whyNot = "the program has no syntax tree";
    return std::nullopt;
  }
  std::optional<array::Program> lowered =
      array::lowerArrays(*p.ast, p.lowered, p.options.limits.maxArray, whyNot);
  if (!lowered || !array::differentiate(*lowered, whyNot)) return std::nullopt;
  return lowered;
}

}  // namespace

/// The pairs per param a library's Hessian pattern may have (16 nonzeros a row on average) before
/// the description leaves it out; its sweep may meet kPatternWorkPerPair times as many.
constexpr std::size_t kLibraryPatternPairsPerParam = 8;

struct ArrayCode::Impl {
  array::Program program;
  std::size_t paramCount = 0;
  std::optional<array::Executor> objective;  // roots: the loss, then each param's gradient
  bool lossBatched = false;                  // whether the loss depends on the rows
  std::vector<std::size_t> paramSizes;       // elements of each param, in order
  std::optional<array::Executor> reports;    // roots: the reports
  std::vector<std::size_t> inputOffsets, paramOffsets;
  /// ArrayCode::hvp's: roots H v per param, over the params and then the direction (two parts).
  std::optional<array::Executor> hvp;
  std::vector<std::span<double>> hvpOuts;
  unsigned threads = 1;
  /// sparseHessian's: the pattern, its colouring, the colours' directions and products.
  std::optional<HessianPattern> pattern;
  std::size_t maxPatternPairs = SIZE_MAX;  // the program's limit on the pattern's sweep
  std::string objectiveName;               // for the error past it (patternLimit)
  std::size_t maxNodes = SIZE_MAX;         // the limit on a dense Hessian's entries
  /// The pattern, or nullptr (and nothing kept) where it has more than `maxPairs` pairs or the
  /// limit (or its sweep meets more than kPatternWorkPerPair times that).
  const HessianPattern *patternWithin(std::size_t maxPairs);
  std::optional<StarColouring> colouring;
  std::vector<std::int64_t> recovery;  // recoveryIndex: where each nonzero is in the products
  ProductScratch scratch;
  std::vector<std::span<double>> outs;

  std::size_t chunkBytes = array::kChunkBytes;
  std::vector<const double *> chunkColumns;
  std::vector<double> chunkOut;

  /// Runs `executor` over the rows in chunks that keep its row-dependent values under
  /// chunkBytes, adding each chunk's outputs (sums over its rows) into `outs`; an output whose
  /// `summed` entry is false is the same in every chunk and taken from the first.
  void runChunked(array::Executor &executor, std::span<const double> params, const ArrayRows &rows,
                  std::span<const std::span<double>> outs, const std::vector<bool> &summed = {}) {
    const std::span<const double> parts[] = {params};
    runChunked(executor, std::span<const std::span<const double>>(parts), rows, outs, summed);
  }
  /// The same with the params in parts (Executor::run's).
  void runChunked(array::Executor &executor, std::span<const std::span<const double>> params,
                  const ArrayRows &rows, std::span<const std::span<double>> outs,
                  const std::vector<bool> &summed = {}) {
    const std::size_t perRow = std::max<std::size_t>(1, executor.bytesPerRow());
    const std::size_t chunk = std::max<std::size_t>(1, std::min(rows.count, chunkBytes / perRow));
    array::Rows r;
    r.stride = rows.stride;
    r.table = rows.table;
    if (chunk >= rows.count) {
      r.count = rows.count;
      r.columns = rows.columns;
      r.index = rows.index;
      executor.run(params, r, outs);
      return;
    }
    std::size_t total = 0;
    for (std::span<double> o : outs) total += o.size();
    chunkOut.assign(total, 0.0);
    std::vector<std::span<double>> parts;
    std::size_t at = 0;
    for (std::span<double> o : outs) {
      parts.emplace_back(chunkOut.data() + at, o.size());
      at += o.size();
    }
    for (std::span<double> o : outs) std::fill(o.begin(), o.end(), 0.0);
    for (std::size_t begin = 0; begin < rows.count; begin += chunk) {
      r.count = std::min(chunk, rows.count - begin);
      if (rows.table) {
        r.index = rows.index + begin;
      } else {
        chunkColumns.clear();
        for (const double *c : rows.columns) chunkColumns.push_back(c + begin);
        r.columns = chunkColumns;
      }
      executor.run(params, r, parts);
      for (std::size_t k = 0; k < outs.size(); ++k) {
        if (!summed.empty() && !summed[k] && begin > 0) continue;
        for (std::size_t i = 0; i < outs[k].size(); ++i) outs[k][i] += parts[k][i];
      }
    }
  }
};

ArrayCode::ArrayCode(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ArrayCode::ArrayCode(ArrayCode &&) noexcept = default;
ArrayCode &ArrayCode::operator=(ArrayCode &&) noexcept = default;
ArrayCode::~ArrayCode() = default;

std::size_t ArrayCode::unrolledSize() const { return impl_->program.unrolled; }
std::size_t ArrayCode::paramCount() const { return impl_->paramCount; }
std::size_t ArrayCode::fusedLoops() const {
  return impl_->objective->fusedLoops() + (impl_->reports ? impl_->reports->fusedLoops() : 0);
}
void ArrayCode::setChunkBytes(std::size_t bytes) { impl_->chunkBytes = std::max<std::size_t>(1, bytes); }

double ArrayCode::objective(std::span<const double> params, const ArrayRows &rows,
                            std::span<double> grad) {
  Impl &m = *impl_;
  if (params.size() != m.paramCount || grad.size() != m.paramCount)
    throw std::invalid_argument("ArrayCode::objective: params or gradient of the wrong size");
  // The loss, then each param's gradient straight into its part of `grad`.
  double value = 0;
  m.outs.resize(1 + m.paramSizes.size());
  m.outs[0] = std::span<double>(&value, 1);
  std::size_t at = 0;
  for (std::size_t k = 0; k < m.paramSizes.size(); ++k) {
    m.outs[1 + k] = grad.subspan(at, m.paramSizes[k]);
    at += m.paramSizes[k];
  }
  if (!m.lossBatched) {
    m.objective->run(params, array::Rows{1, {}, nullptr, 0, nullptr}, m.outs);
    return value;
  }
  // Sums over the rows: their means.
  m.runChunked(*m.objective, params, rows, m.outs);
  const double scale = 1.0 / static_cast<double>(rows.count);
  for (double &g : grad) g *= scale;
  return value * scale;
}

void ArrayCode::objectiveSums(std::span<const double> params, const ArrayRows &rows,
                              std::span<double> sums) {
  Impl &m = *impl_;
  if (params.size() != m.paramCount || sums.size() != 1 + m.paramCount)
    throw std::invalid_argument("ArrayCode::objectiveSums: params or sums of the wrong size");
  m.outs.resize(1 + m.paramSizes.size());
  m.outs[0] = sums.subspan(0, 1);
  std::size_t at = 1;
  for (std::size_t k = 0; k < m.paramSizes.size(); ++k) {
    m.outs[1 + k] = sums.subspan(at, m.paramSizes[k]);
    at += m.paramSizes[k];
  }
  if (m.lossBatched) {
    if (rows.count == 0) {
      std::fill(sums.begin(), sums.end(), 0.0);
      return;
    }
    m.runChunked(*m.objective, params, rows, m.outs);
    return;
  }
  m.objective->run(params, array::Rows{1, {}, nullptr, 0, nullptr}, m.outs);
  for (double &v : sums) v *= static_cast<double>(rows.count);
}

void ArrayCode::reports(std::span<const double> params, const ArrayRows &rows,
                        std::span<double> out) {
  Impl &m = *impl_;
  if (!m.reports) return;
  if (params.size() != m.paramCount || out.size() != m.reports->outputSize())
    throw std::invalid_argument("ArrayCode::reports: params or output of the wrong size");
  std::vector<std::span<double>> outs;
  std::size_t at = 0;
  for (std::size_t k = 0; k < m.program.reports.size(); ++k) {
    outs.push_back(out.subspan(at, m.reports->rootSize(k)));
    at += m.reports->rootSize(k);
  }
  // A report that does not depend on the rows is its value in every chunk, not a sum.
  std::vector<bool> summed;
  for (std::size_t k = 0; k < outs.size(); ++k) summed.push_back(m.reports->rootBatched(k));
  m.runChunked(*m.reports, params, rows, outs, summed);
  at = 0;
  for (std::size_t k = 0; k < m.program.reports.size(); ++k) {
    const std::size_t size = m.reports->rootSize(k);
    if (m.reports->rootBatched(k))
      for (std::size_t i = 0; i < size; ++i) out[at + i] /= static_cast<double>(rows.count);
    at += size;
  }
}

void ArrayCode::hvp(std::span<const double> params, std::span<const double> v,
                    const ArrayRows &rows, std::span<double> out) {
  Impl &m = *impl_;
  if (params.size() != m.paramCount || v.size() != m.paramCount || out.size() != m.paramCount)
    throw std::invalid_argument("ArrayCode::hvp: params, direction or product of the wrong size");
  prepareHvp();
  // The params, then the direction, read where they are (no packed copy of either).
  const std::span<const double> parts[] = {params, v};
  m.hvpOuts.clear();
  std::size_t at = 0;
  for (std::size_t size : m.paramSizes) {
    m.hvpOuts.push_back(out.subspan(at, size));
    at += size;
  }
  if (!m.lossBatched) {
    m.hvp->run(parts, array::Rows{1, {}, nullptr, 0, nullptr}, m.hvpOuts);
    return;
  }
  m.runChunked(*m.hvp, parts, rows, m.hvpOuts);
  const double scale = 1.0 / static_cast<double>(rows.count);
  for (double &x : out) x *= scale;
}

void ArrayCode::prepareHvp() {
  Impl &m = *impl_;
  if (m.hvp) return;
  std::string whyNot;
  if (!array::addHessianVectorProduct(m.program, &whyNot))
    throw Error(ErrorKind::Semantic,
                "the array level has no Hessian-vector product for this objective: " + whyNot);
  // The direction's groups follow the params', as if packed: hvp() passes the two as parts.
  std::vector<std::size_t> offsets = m.paramOffsets;
  for (std::size_t offset : m.paramOffsets) offsets.push_back(m.paramCount + offset);
  m.hvp.emplace(m.program.graph, m.program.hvp, m.inputOffsets, std::move(offsets));
  m.hvp->setThreads(m.threads);
}

const HessianPattern *ArrayCode::Impl::patternWithin(std::size_t maxPairs) {
  if (!pattern) {
    try {
      pattern = array::hessianPattern(program, std::min(maxPairs, maxPatternPairs));
    } catch (const std::length_error &) {
      return nullptr;
    }
  }
  return &*pattern;
}

const HessianPattern &ArrayCode::hessianPattern() {
  Impl &m = *impl_;
  if (!m.patternWithin(m.maxPatternPairs)) throw patternLimit(m.objectiveName, m.maxPatternPairs);
  return *m.pattern;
}

ArrayCode::HessianChoice ArrayCode::chooseHessian(std::optional<HessianForm> asked) {
  Impl &m = *impl_;
  const std::size_t n = m.paramCount;
  HessianChoice choice;
  // Past either limit newton-cg is the way out: it needs neither the pattern nor the matrix.
  constexpr std::string_view newtonCg = "use newton-cg, which needs only Hessian-vector products";
  if (asked == HessianForm::Sparse) {
    choice.pattern = m.patternWithin(m.maxPatternPairs);
    if (!choice.pattern) throw patternLimit(m.objectiveName, m.maxPatternPairs, newtonCg);
  } else if (!asked) {
    // A pattern of more than n²/4 pairs (about half the entries) makes the Hessian dense. One
    // that the pattern's limit stops before that budget says nothing of its density.
    const std::size_t budget = n > (std::size_t{1} << 31) ? SIZE_MAX : n * n / 4 + 1;
    choice.pattern = m.patternWithin(budget);
    if (!choice.pattern && budget > m.maxPatternPairs)
      throw patternLimit(m.objectiveName, m.maxPatternPairs, newtonCg);
  }
  choice.form = asked.value_or(choice.pattern ? chooseHessianForm(n, choice.pattern->nonzeros())
                                              : HessianForm::Dense);
  if (choice.form == HessianForm::Dense && n > m.maxNodes / std::max<std::size_t>(n, 1))
    throw Error(ErrorKind::Limit,
                "a dense Hessian of " + std::to_string(n) + " variables has " +
                    (n >= (std::size_t{1} << 32) ? std::string("2^64 or more")
                                                 : std::to_string(n * n)) +
                    " entries, more than the limit of " + std::to_string(m.maxNodes) +
                    " (raise it with --max-nodes, or " + std::string(newtonCg) + ")");
  return choice;
}

void ArrayCode::denseHessian(std::span<const double> params, const ArrayRows &rows,
                             std::span<double> out) {
  Impl &m = *impl_;
  const std::size_t n = m.paramCount;
  if (out.size() != n * n)
    throw std::invalid_argument("ArrayCode::denseHessian: a Hessian of the wrong size");
  std::fill(out.begin(), out.end(), 0.0);
  if (m.pattern && n <= kDenseHessianSize) {
    // Few products (one per colour) where the rows of a batch make each one expensive.
    std::vector<double> values(m.pattern->nonzeros());
    sparseHessian(params, rows, values);
    const HessianPattern &p = *m.pattern;
    for (std::size_t i = 0; i < n; ++i)
      for (std::int64_t k = p.rowStart[i]; k < p.rowStart[i + 1]; ++k)
        out[i * n + static_cast<std::size_t>(p.columns[k])] = values[static_cast<std::size_t>(k)];
    return;
  }
  // Column j is H e_j (the Hessian is symmetric, so it is row j as well).
  std::vector<double> unit(n, 0.0), column(n);
  for (std::size_t j = 0; j < n; ++j) {
    unit[j] = 1;
    hvp(params, unit, rows, column);
    unit[j] = 0;
    for (std::size_t i = 0; i < n; ++i) out[i * n + j] = column[i];
  }
}

std::size_t ArrayCode::hessianColours() {
  Impl &m = *impl_;
  if (!m.colouring) {
    m.colouring = starColouring(hessianPattern());
    m.recovery = recoveryIndex(*m.pattern, *m.colouring);
  }
  return m.colouring->colours;
}

void ArrayCode::sparseHessian(std::span<const double> params, const ArrayRows &rows,
                              std::span<double> values) {
  Impl &m = *impl_;
  const HessianPattern &pattern = hessianPattern();
  if (values.size() != pattern.nonzeros())
    throw std::invalid_argument("ArrayCode::sparseHessian: values of the wrong size");
  hessianColours();  // the colouring and its recovery, made once
  sparseHessianByProducts(
      *m.colouring, m.recovery,
      [&](std::span<const double> d, std::span<double> out) { hvp(params, d, rows, out); }, values,
      m.scratch);
}

std::optional<std::string> printArrayGradient(const Program &program, std::string *whyNot) {
  const Program::Impl &p = program.impl();
  std::optional<array::Program> lowered =
      array::lowerArrays(*p.ast, p.lowered, p.options.limits.maxArray, whyNot, false);
  if (!lowered || !array::differentiate(*lowered, whyNot)) return std::nullopt;
  std::vector<std::string> labels;
  const std::string f = program.objectiveName();
  for (const std::string &name : lowered->paramNames) labels.push_back("∂" + f + "/∂" + name);
  return array::printRoots(*lowered, labels, lowered->grads);
}

std::optional<ArrayCode> arrayLevelFor(const Program &program, unsigned threads, bool force,
                                       std::string *whyNot) {
  std::optional<ArrayCode> code = compileArrays(program, threads, whyNot);
  if (code && !force && code->unrolledSize() < kArrayLevelSize) {
    if (whyNot) *whyNot = "the program is small enough for the scalar level";
    return std::nullopt;
  }
  return code;
}

std::optional<jit::AotArrayObjective> arrayLibraryObjective(const Program &program, bool hvp,
                                                            std::string *whyNot) {
  std::optional<array::Program> lowered = differentiated(program, whyNot);
  if (!lowered) return std::nullopt;
  jit::AotArrayObjective out;
  // The Hessian's pattern for the description, unless it has more than
  // kLibraryPatternPairsPerParam pairs per param (or the limit of nabla diff --sparsity): a
  // Hessian with few nonzeros per row (the chained Rosenbrock of 10^6 params: 0.4 s) is
  // listed, a nearly dense one (an MLP's) stops early and is left out.
  std::size_t n = 0;
  for (const Shape &shape : lowered->paramShapes) n += shape.size();
  const std::size_t budget = n > SIZE_MAX / kLibraryPatternPairsPerParam - 1
                                 ? SIZE_MAX
                                 : (n + 1) * kLibraryPatternPairsPerParam;
  try {
    out.pattern = std::make_shared<const HessianPattern>(
        array::hessianPattern(*lowered, std::min(budget, maxPatternPairs(program))));
  } catch (const std::length_error &) {
  }
  // Without a forward rule for some node the library has no nabla_objective_hvp (the
  // description says which entry points it has); the objective itself does not need one.
  if (hvp) array::addHessianVectorProduct(*lowered, nullptr);
  std::vector<std::size_t> inputSizes;
  const Program::Impl &p = program.impl();
  for (const InputDecl &in : p.lowered.inputs) inputSizes.push_back(in.vars.shape.size());
  array::LibrarySource source = array::librarySource(*lowered, inputSizes);
  out.c = std::move(source.c);
  out.includes = std::move(source.includes);
  out.libraries = std::move(source.libraries);
  out.kernels = std::move(source.kernels);
  out.kernelNames = std::move(source.kernelNames);
  out.unrolled = lowered->unrolled;
  out.hvp = !lowered->hvp.empty();
  return out;
}

std::optional<ArrayCode> compileArrays(const Program &program, unsigned threads,
                                       std::string *whyNot) {
  std::optional<array::Program> lowered = differentiated(program, whyNot);
  if (!lowered) return std::nullopt;
  const Program::Impl &p = program.impl();
  auto impl = std::make_unique<ArrayCode::Impl>();
  impl->program = std::move(*lowered);
  impl->maxPatternPairs = maxPatternPairs(program);
  impl->objectiveName = program.objectiveName();
  impl->maxNodes = program.options().limits.maxNodes;
  std::vector<std::size_t> inputOffsets, paramOffsets;
  std::size_t at = 0;
  for (const InputDecl &in : p.lowered.inputs) {
    inputOffsets.push_back(at);
    at += in.vars.shape.size();
  }
  for (std::size_t k = 0; k < p.lowered.params.size(); ++k) {
    paramOffsets.push_back(impl->paramCount);
    impl->paramCount += p.lowered.params[k].vars.shape.size();
  }
  std::vector<array::Id> roots{impl->program.loss};
  roots.insert(roots.end(), impl->program.grads.begin(), impl->program.grads.end());
  impl->objective.emplace(impl->program.graph, roots, inputOffsets, paramOffsets);
  impl->inputOffsets = inputOffsets;
  impl->paramOffsets = paramOffsets;
  impl->lossBatched = impl->objective->rootBatched(0);
  for (const Shape &shape : impl->program.paramShapes) impl->paramSizes.push_back(shape.size());
  if (!impl->program.reports.empty())
    impl->reports.emplace(impl->program.graph, impl->program.reports, inputOffsets, paramOffsets);
  impl->objective->setThreads(threads);
  impl->threads = threads;
  if (impl->reports) impl->reports->setThreads(threads);
  array::Executor::setBlasThreads(threads);
  return ArrayCode(std::move(impl));
}

}  // namespace nabla::driver
