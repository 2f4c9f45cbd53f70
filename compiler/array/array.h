// The array level (DESIGN.md, "The graph and its derivatives"): a program's objective and reports
// as a graph of array nodes — elementwise maps with scalar broadcasting, `@`, transposes, outer
// products, reductions, softmax, onehot, slices — differentiated with each node's transpose rule
// (the adjoint of `W @ x` is `outer(δ, x)` and `transpose(W) @ δ`), and evaluated over a batch of
// rows at once: a value that depends on the inputs holds one row per batch row, so that `W @ x`
// over B rows is one matrix-matrix product (X Wᵀ) in BLAS and the adjoint of W is another (Δᵀ X).
//
// It stands beside the scalar DAG (sema/lowered.h), which unrolls every array into its elements:
// the scalar level wins on small arrays, this one on large ones. lowerArrays() reads the same
// syntax tree, beside sema (which may have lowered the declarations only), and reports no errors
// of its own: what it does not cover yet (derivatives written in the text, prod) or anything the
// checker would refuse makes it give up with a reason, and the caller keeps the scalar level,
// whose full lowering reports the errors.
#pragma once

#include "codegen/loop_kernel.h"
#include "graph/graph.h"
#include "parse/ast.h"
#include "sema/lowered.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace nabla::array {

using Id = std::uint32_t;
inline constexpr Id kNone = UINT32_MAX;

enum class Kind : std::uint8_t {
  Param,      // a param array (group = its index in LoweredProgram::params)
  Input,      // an input array, one value per row (group = its index in LoweredProgram::inputs)
  Const,      // values (one per element, row-major)
  Map,        // op applied elementwise to 1..3 operands; scalar operands broadcast
  MatMul,     // a @ b as the language defines it: [m][k] @ [k][n], vectors as a row or a column
  Transpose,  // a matrix's transpose
  Outer,      // outer(u, v) of two vectors
  Sum,        // the sum of all elements: a scalar
  Max,        // the largest element
  Min,        // the least element
  Norm,       // the Euclidean norm, scaled by the largest magnitude (no overflow, as hypot)
  FirstMax,   // the derivative of Max: 1 at the first largest element, 0 elsewhere
  FirstMin,   // the same for Min
  ArgMax,     // the index of the first largest element, row-major (NaN when none equals max)
  ArgMin,     // the same for the least
  LogSumExp,  // log(sum(exp(v))), shifted by floor(max(v)) as the scalar level does
  Softmax,    // softmax of a vector
  SoftmaxAdjoint,  // y * (g - sum(g * y)) for y = softmax(v), without its cancellation
  Onehot,     // onehot(k, n): k a scalar, n = count
  Slice,      // a box of the operand: per dimension a start and a count, dims kept or dropped
  Embed,      // the adjoint of Slice: zeros of `shape` with the operand placed in the box
  Stack,      // [a, b, c]: operands of one shape stacked along a new leading dimension
  Broadcast,  // a scalar repeated to `shape`
  BatchSum,   // the sum over the rows of a batch (unbatched; B times a value the same for all rows)
  OuterSum,   // the sum over the rows of outer(u_r, v_r): Uᵀ V (what BatchSum(Outer) becomes)
};

/// Per dimension of a Slice's operand: the elements [start, start + count); `keep` false for an
/// integer subscript (count 1, the dimension dropped).
struct SliceDim {
  std::uint32_t start = 0, count = 0;
  bool keep = true;
};

struct Node {
  Kind kind = Kind::Const;
  Op op = Op::Const;        // Map: the scalar op
  Shape shape;              // of one row's value
  bool batched = false;     // depends on the inputs: one value per row of a batch
  std::array<Id, 3> args{kNone, kNone, kNone};
  std::uint8_t argCount = 0;
  std::uint32_t group = 0;  // Param, Input: which; Onehot: the number of classes
  std::vector<double> values;     // Const
  std::vector<SliceDim> box;      // Slice, Embed: one per dimension of the larger array
  std::vector<Id> parts;          // Stack: its operands (any number)
};

/// The array graph: nodes in creation order (operands before their users). Building applies the
/// array level's simplifications: constants fold; `x*1`, `x+0`, `transpose(transpose(A))` are
/// their operand; a broadcast scalar operand of a map is the scalar itself (maps broadcast);
/// sums and differences of embeddings in one box are one embedding, and so are their negations
/// and scalar multiples; `sum(embed(v))` is `sum(v)`, `sum(broadcast(s))` is `n*s`; a slice of a
/// slice is one slice; `transpose(outer(u, v))` is `outer(v, u)`; and equal nodes are one.
class Graph {
public:
  const Node &operator[](Id id) const { return nodes_[id]; }
  std::size_t size() const { return nodes_.size(); }

  Id param(std::uint32_t group, const Shape &shape);
  Id input(std::uint32_t group, const Shape &shape, bool batched = true);
  Id constant(double v);
  Id constant(Shape shape, std::vector<double> values);
  /// op over the operands, broadcasting scalars; constants fold, `x*1`, `1*x`, `x+0`, `0+x`, `x-0`
  /// and `x/1` are x.
  Id map(Op op, Id a, Id b = kNone, Id c = kNone);
  Id matmul(Id a, Id b);
  Id transpose(Id a);
  Id outer(Id u, Id v);
  Id sum(Id a);
  Id reduce(Kind kind, Id a);  // Max, Min, LogSumExp, Norm
  Id firstExtreme(Kind kind, Id a);  // FirstMax, FirstMin: a mask of a's shape
  Id argExtreme(Kind kind, Id a);    // ArgMax, ArgMin: a scalar
  Id softmax(Id a);
  Id softmaxAdjoint(Id y, Id g);  // y = softmax(v), g its adjoint (a scalar: the same for all)
  Id onehot(Id k, std::uint32_t n);
  Id slice(Id a, std::vector<SliceDim> box);
  Id embed(Id a, const Shape &shape, std::vector<SliceDim> box);
  Id stack(const std::vector<Id> &parts);
  Id broadcast(Id a, const Shape &shape);
  /// A value summed over the rows of a batch (B times a value that is the same for every row);
  /// outer(u, v) of row-dependent vectors becomes OuterSum.
  Id batchSum(Id a);

  bool isConstant(Id id) const { return nodes_[id].kind == Kind::Const; }
  /// Whether `id` is a constant whose every element is `v`.
  bool isConstant(Id id, double v) const;

private:
  /// The node, or the same node made before (kind, op, shape, operands and data equal): every
  /// value is made once, so the reverse pass and the executor never compute one twice.
  Id add(Node node);
  std::vector<Node> nodes_;
  std::unordered_multimap<std::size_t, Id> interned_;  // by hashNode
};

/// The elements a scalar-level lowering of the node would make (its size, or for a product the
/// multiply-adds): how large the program is when unrolled.
std::size_t unrolledCost(const Graph &graph, Id id);

/// A program's objective and reports at the array level.
struct Program {
  Graph graph;
  Id loss = kNone;                 // the objective as written (per row when batched)
  std::vector<Id> reports;         // one per report of LoweredProgram::reports
  std::vector<Shape> paramShapes;  // of LoweredProgram::params, in order
  std::vector<std::string> paramNames, inputNames;
  std::vector<Id> grads;           // with differentiate(): the summed gradient per param
  /// With addHessianVectorProduct(): H v per param (summed over the rows like grads), where the
  /// direction v of param k is the Param node of group paramShapes.size() + k.
  std::vector<Id> hvp;
  std::size_t unrolled = 0;        // unrolledCost summed over the objective's and reports' nodes
};

/// The objective and reports of the program `ast`, whose declarations `lowered` has (the whole
/// program lowered, or its declarations only: sema::LowerOptions::declarationsOnly), or the reason
/// the array level cannot take them (`*whyNot`): what it does not cover yet, or anything sema
/// would refuse (unknown names, shapes that do not fit, arrays beyond `maxArray` elements), which
/// the scalar level's full lowering then reports.
/// With `batched` false, the inputs are values like the params (one row: for printing).
std::optional<Program> lowerArrays(const ast::Program &ast, const LoweredProgram &lowered,
                                   std::size_t maxArray, std::string *whyNot, bool batched = true);

/// Reverse mode: sets program.grads (the loss's gradient with respect to each param, summed over
/// the rows of a batch). False, with the reason, when a node on the way has no rule here yet.
bool differentiate(Program &program, std::string *whyNot);

/// Forward mode: the derivatives of `roots` along a direction of the params, where the direction
/// of param group k is the Param node of group `directionGroup + k` (of the same shape). One
/// tangent per root (a constant 0 where a root does not depend on the params), or nothing, with
/// the reason, when a node on the way has no rule.
std::optional<std::vector<Id>> tangents(Graph &graph, const std::vector<Id> &roots,
                                        std::uint32_t directionGroup, std::string *whyNot);

/// Sets program.hvp: the tangents of program.grads (differentiate() first), the Hessian-vector
/// product as a derivative of the gradient's graph along v, a few times its cost whatever the
/// size of the params. False, with the reason, when a node has no forward rule.
bool addHessianVectorProduct(Program &program, std::string *whyNot);

/// The rows of a batch: `count` rows, each input element a column of doubles, or rows picked from
/// a row-major table (`stride` doubles apart; row r is table + index[r] * stride).
struct Rows {
  std::size_t count = 0;
  std::span<const double *const> columns;
  const double *table = nullptr;
  std::size_t stride = 0;
  const std::uint64_t *index = nullptr;
};

/// How an executor evaluates its roots, in order: a node (its kind's kernel of
/// runtime/kernels.h, or a map), or a fused loop. A library of the program follows it (aot.cpp).
struct Schedule {
  struct Step {
    bool kernel = false;  // a fused loop (kernels[k]), else node `id`
    Id id = 0;
    std::size_t k = 0;
  };
  std::vector<Step> steps;
  std::vector<codegen::LoopKernel> kernels;
  /// Per fused loop: the nodes its slots point at, those it reads and then those it writes.
  std::vector<std::vector<Id>> kernelReads, kernelWrites;
  /// By node: Op::Const, or how an addition with a product operand is one fused multiply-add.
  std::vector<FusedOperands<Id>> fused;
  /// The bytes of the values that depend on the rows, per row (Executor::bytesPerRow).
  std::size_t bytesPerRow = 0;
};

/// Evaluates roots over batches. Not thread-safe (it keeps its buffers between calls).
class Executor {
public:
  /// `inputOffsets[g]`: the first column (or table entry) of input g. With `compileLoops`
  /// false, the fused loops are planned but not compiled (for schedule() alone: run() must not
  /// be called).
  Executor(const Graph &graph, std::vector<Id> roots, std::vector<std::size_t> inputOffsets,
           std::vector<std::size_t> paramOffsets, bool compileLoops = true);
  /// The steps run() follows.
  Schedule schedule() const;
  ~Executor();
  Executor(Executor &&) noexcept;
  /// Root k's value: for a row-dependent root its sum over the rows, otherwise its value (a root
  /// may be an array: rootSize(k) entries), into out (the roots' sizes, in order).
  void run(std::span<const double> params, const Rows &rows, std::span<double> out);
  /// The same with root k's value into outs[k] (rootSize(k) entries).
  void run(std::span<const double> params, const Rows &rows,
           std::span<const std::span<double>> outs);
  /// The same with the params in parts, one after another as if packed (each param within one
  /// part): a Hessian-vector product reads the params and the direction where they are.
  void run(std::span<const std::span<const double>> params, const Rows &rows,
           std::span<const std::span<double>> outs);
  std::size_t rootSize(std::size_t k) const;
  std::size_t outputSize() const;
  /// Whether root k depends on the rows.
  bool rootBatched(std::size_t k) const;
  /// The bytes of the values that depend on the rows, per row of a batch: what a batch of B
  /// rows holds at once, over B.
  std::size_t bytesPerRow() const;
  /// The fused loops compiled by LLVM (0 when every node is interpreted).
  std::size_t fusedLoops() const;
  /// Threads for the elementwise work over the rows of a batch (0: one per hardware thread;
  /// default 1). The values do not depend on them.
  void setThreads(unsigned threads);
  /// BLAS threads for the products (0: one per hardware thread).
  static void setBlasThreads(unsigned threads);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The objective of a differentiated program as C source for a library (`nabla compile`,
/// docs/aot.md): `c` defines nabla_objective, nabla_objective_batch and
/// nabla_objective_batch_sums over the executor's schedule, as tables that runtime/program.c
/// follows (included, with runtime/kernels.c, from beside it when compiled); they call the
/// loops `kernels`, which the library's object must define under `kernelNames` (names with a
/// '.', which no C identifier and so no exported name can take).
struct LibrarySource {
  std::string c;
  /// The files `c` includes, by name (kernels.h, kernels.c, program.h, program.c): written
  /// beside it.
  std::vector<std::pair<std::string, std::string>> includes;
  /// What the library links besides libc and libm: the BLAS (`-l:libopenblas.so.0`).
  std::vector<std::string> libraries;
  std::vector<codegen::LoopKernel> kernels;
  std::vector<std::string> kernelNames;
};
/// `inputSizes`: the elements of each input, in declaration order.
LibrarySource librarySource(const Program &program, const std::vector<std::size_t> &inputSizes);


/// The most memory a batch's row-dependent values take at once: a larger batch (a full batch of
/// 10^6 rows for L-BFGS) is evaluated in chunks of rows, as driver::ArrayCode and the libraries
/// of aot.cpp both do (the same chunks, their sums added in the same order).
inline constexpr std::size_t kChunkBytes = std::size_t{64} << 20;

/// Where each run of a Slice's or Embed's box starts in the larger array (`big`): the runs are
/// the box's last dimension, contiguous in both arrays; `runs` of them, in row-major order.
std::vector<std::size_t> boxRunStarts(const Shape &big, const std::vector<SliceDim> &box,
                                      std::size_t runs);

/// The nodes reachable from the roots, in increasing order.
std::vector<Id> reachable(const Graph &graph, const std::vector<Id> &roots);

/// `label = EXPR` per root, one per line, in matrix notation and the language's own syntax
/// (`transpose(W2) @ t1`), each subexpression used more than once named `t1`, `t2`, ... after
/// `where`. The adjoint of a slice prints with pad() and onehot(), the derivative of max(v) as
/// onehot(argmax(v), n): every line reads back as nabla text.
std::string printRoots(const Program &program, const std::vector<std::string> &labels,
                       const std::vector<Id> &roots);

}  // namespace nabla::array
