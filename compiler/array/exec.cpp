// Evaluating array nodes over a batch: every row-dependent node holds its value for all B rows
// (row-major, one row after the other), so that a product with a param is one call of BLAS for
// the whole batch, and the rest are plain loops. Transposes of params are never materialized in
// products: BLAS reads the matrix transposed. Nodes the same for every row that are elementwise
// in their operands (maps, slices of vectors and matrices and their adjoints, broadcasts, sums)
// are grouped into fused loops compiled by LLVM (plan(), codegen/loop_kernel.h), which read a
// matrix's columns in place with a stride; run() follows the steps.
// An addition or subtraction with a product operand is one fused multiply-add, as the scalar
// level evaluates each element (graph.h, fusedMultiplyAdd), in the loops and here alike.
#include "array/array.h"
#include "array/runtime/kernels.h"
#include "codegen/loop_kernel.h"
#include "graph/libm.h"
#include "jit/loops.h"
#include "jit/workers.h"

#include <algorithm>
#include <dlfcn.h>
#include <cmath>
#include <functional>
#include <map>
#include <stdexcept>
#include <thread>
#include <tuple>

// BLAS, loaded the first time the array level needs it (runtime/kernels.c calls cblas_dgemm
// through this pointer), so that the commands and hosts that never run it do not load it.
extern "C" {
nabla_rt_dgemm_fn *nabla_rt_dgemm = nullptr;
}

namespace nabla::array {

static_assert(codegen::kSumBlock == NABLA_RT_SUM_BLOCK && codegen::kSumGroup == NABLA_RT_SUM_GROUP,
              "the fused loops' sums add in nabla_rt_sum's blocks");

namespace {

using SetThreadsFn = void(int);

struct Blas {
  nabla_rt_dgemm_fn *dgemm = nullptr;
  SetThreadsFn *setThreads = nullptr;
};

/// OpenBLAS by its soname (NABLA_BLAS_SONAME), loaded once; throws when it cannot be.
const Blas &blas() {
  static const Blas loaded = [] {
    void *handle = dlopen(NABLA_BLAS_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char *why = dlerror();
      throw std::runtime_error(std::string("cannot load BLAS (" NABLA_BLAS_SONAME "): ") +
                               (why ? why : "unknown reason") +
                               " (Debian's package libopenblas0 has it)");
    }
    Blas b;
    b.dgemm = reinterpret_cast<nabla_rt_dgemm_fn *>(dlsym(handle, "cblas_dgemm"));
    b.setThreads = reinterpret_cast<SetThreadsFn *>(dlsym(handle, "openblas_set_num_threads"));
    if (!b.dgemm || !b.setThreads)
      throw std::runtime_error("cannot load BLAS (" NABLA_BLAS_SONAME
                               "): it has no cblas_dgemm or openblas_set_num_threads");
    nabla_rt_dgemm = b.dgemm;
    return b;
  }();
  return loaded;
}

/// The deepest chain of operands a fused loop is built through (by recursion).
constexpr unsigned kMaxFusedDepth = 2000;
/// Loops whose work (iterations times values per iteration, all loops together) is below this
/// are not worth an LLVM session (some 10 to 50 ms to set up): the interpreter evaluates their
/// nodes. Logistic regression's penalty over 30 weights stays interpreted; the chained
/// Rosenbrock function of 100 variables is compiled.
constexpr std::int64_t kMinFusedWork = 2048;
/// Elementwise work over the rows of a batch is split over threads from this many elements on
/// (bench/mlp.sh's MLP 784-512-512-10 with batches of 1,000: 512,000 per map, 4% more rows/s with
/// two threads). Below, waking a thread costs about what it saves: with batches of 64 (8,192 to
/// 32,768 elements) splitting made the MLPs no faster, 784-128-10 12% slower.
constexpr std::size_t kParallelElements = 65536;

/// The array graph as fusedMultiplyAdd reads a DAG: maps are their op, other nodes no
/// arithmetic.
struct FusedView {
  const Graph &g;
  Op op(Id x) const { return g[x].kind == Kind::Map ? g[x].op : Op::Const; }
  Id arg(Id x, int k) const { return g[x].args[static_cast<std::size_t>(k)]; }
  bool isTwo(Id x) const { return g.isConstant(x, 2.0); }
};

}  // namespace

struct Executor::Impl {
  /// What run() does in order: evaluate a node, or run a fused loop.
  struct Step {
    bool kernel = false;
    Id id = 0;           // a node
    std::size_t k = 0;   // a kernel
  };
  /// A kernel's slots: the arrays it reads, then those it writes.
  struct Slots {
    std::vector<Id> reads, writes;
  };

  const Graph &g;
  std::vector<Id> roots, order;
  std::vector<std::size_t> rootSizes;
  std::vector<char> rootBatched;
  std::vector<Id> params;  // the Param nodes: bound to the caller's params at each run
  /// By node id: how an addition or subtraction with a product operand is evaluated, as the
  /// scalar level evaluates each of its elements (fusedMultiplyAdd: rounded once); op Const for
  /// every other node.
  std::vector<FusedOperands<Id>> fused;
  std::vector<std::size_t> inputOffsets, paramOffsets;
  std::vector<std::vector<double>> buffers;  // by node id
  std::vector<const double *> data;          // by node id: where its value is this run
  std::vector<std::vector<std::size_t>> runStarts;  // Slice, Embed: where each run of the box is
  std::vector<double *> destination;  // by node id: the caller's output for a root, this run
  std::size_t batch = 1;  // rows of this run
  std::vector<Step> steps;
  std::vector<codegen::LoopKernel> kernels;
  std::vector<Slots> kernelSlots;
  std::vector<std::vector<double *>> slotPointers;  // per kernel, filled at each run
  std::unique_ptr<jit::Session> session;
  jit::CompiledLoops loops;
  std::unique_ptr<jit::Workers> workers;  // with more than one thread (setThreads)

  /// body(begin, end) over the rows [0, R) of a node of `elements` elements in all: in chunks of
  /// rows on the workers when there is enough work, else at once. Every row is computed by the
  /// same code whichever thread runs it: the values do not depend on the threads.
  template <class F>
  void forRows(std::size_t R, std::size_t elements, F body) {
    if (!workers || R < 2 || elements < kParallelElements) return body(std::size_t{0}, R);
    const std::size_t chunks = std::min<std::size_t>(R, workers->size());
    workers->parallelFor(chunks, 0, [&](std::size_t c) {
      body(R * c / chunks, R * (c + 1) / chunks);
    });
  }

  bool compileLoops = true;  // false: the loops are planned only (Executor::schedule)

  Impl(const Graph &graph, std::vector<Id> r, std::vector<std::size_t> in, std::vector<std::size_t> par,
       bool compile)
      : g(graph), roots(std::move(r)), inputOffsets(std::move(in)), paramOffsets(std::move(par)),
        compileLoops(compile) {
    if (compile) blas();  // an executor that runs needs BLAS: loaded now, or an error now
    buffers.resize(g.size());
    runStarts.resize(g.size());
    destination.assign(g.size(), nullptr);
    data.assign(g.size(), nullptr);
    // Additions with a product operand are fused multiply-adds: the nodes reachable through the
    // fused operands are the ones evaluated (a product only a fused addition reads is not).
    fused.assign(g.size(), FusedOperands<Id>{Op::Const, kNone, kNone, kNone});
    const FusedView view{g};
    for (Id id : reachable(g, roots))
      if (g[id].kind == Kind::Map)
        if (std::optional<FusedOperands<Id>> f = fusedMultiplyAdd(view, id)) fused[id] = *f;
    {
      std::vector<char> seen(g.size(), 0);
      std::vector<Id> stack(roots.begin(), roots.end());
      while (!stack.empty()) {
        const Id id = stack.back();
        stack.pop_back();
        if (seen[id]) continue;
        seen[id] = 1;
        for (Id a : operands(id)) stack.push_back(a);
      }
      for (Id id = 0; id < g.size(); ++id)
        if (seen[id]) order.push_back(id);
    }
    // A transpose of a param (of any value the same for every row) that only products read is
    // never made: BLAS reads the matrix transposed (view()).
    std::vector<char> onlyProducts(g.size(), 1);
    for (Id id : order)
      if (g[id].kind != Kind::MatMul)
        for (Id a : operands(id)) onlyProducts[a] = 0;
    for (Id r : roots) onlyProducts[r] = 0;
    std::vector<Id> kept;
    for (Id id : order) {
      const Node &n = g[id];
      if (n.kind == Kind::Transpose && !n.batched && onlyProducts[id]) continue;
      kept.push_back(id);
    }
    order = std::move(kept);
    for (Id r : roots) {
      rootSizes.push_back(g[r].shape.size());
      rootBatched.push_back(g[r].batched);
    }
    // Constants are where they are for every run, params are bound before the steps: neither
    // is a step.
    for (Id id : order) {
      if (g[id].kind == Kind::Const) data[id] = g[id].values.data();
      if (g[id].kind == Kind::Param) {
        if (g[id].group >= paramOffsets.size()) throw std::logic_error("array executor: a param of no offset");
        params.push_back(id);
      }
    }
    plan();
    for (const Slots &s : kernelSlots) slotPointers.emplace_back(s.reads.size() + s.writes.size());
    planDirect();
  }

  /// Where a kernel's slot points in a direct run: a place fixed when the executor is made (a
  /// constant, a buffer), a param, or a root's output.
  struct Source {
    enum class Kind : std::uint8_t { Fixed, Param, Root } kind = Kind::Fixed;
    double *fixed = nullptr;
    std::size_t at = 0;  // Param: the param node's place in `params`; Root: which root
  };
  /// Per kernel, its slots' sources, when every step is a kernel (no row-dependent value, no
  /// interpreted node) and every root a distinct node that a kernel writes: run() then only
  /// points the slots and calls the kernels (the per-call cost of a small program such as the
  /// chained Rosenbrock function of 100 variables).
  std::vector<std::vector<Source>> direct;

  void planDirect() {
    if (kernels.empty()) return;
    for (const Step &step : steps)
      if (!step.kernel) return;
    std::map<Id, std::size_t> rootOf;
    for (std::size_t k = 0; k < roots.size(); ++k)
      if (!rootOf.emplace(roots[k], k).second || g[roots[k]].batched) return;
    std::vector<char> written(g.size(), 0);
    std::vector<std::vector<Source>> plan;
    for (std::size_t k = 0; k < kernels.size(); ++k) {
      std::vector<Source> sources;
      for (Id a : kernelSlots[k].reads) {
        Source src;
        if (g[a].kind == Kind::Param) {
          src.kind = Source::Kind::Param;
          src.at = static_cast<std::size_t>(std::find(params.begin(), params.end(), a) - params.begin());
        } else if (auto r = rootOf.find(a); r != rootOf.end() && written[a]) {
          src.kind = Source::Kind::Root;
          src.at = r->second;
        } else if (g[a].kind == Kind::Const) {
          src.fixed = const_cast<double *>(g[a].values.data());
        } else if (written[a]) {
          src.fixed = buffers[a].data();
        } else {
          return;  // read before any kernel writes it
        }
        sources.push_back(src);
      }
      for (Id m : kernelSlots[k].writes) {
        Source src;
        if (auto r = rootOf.find(m); r != rootOf.end()) {
          src.kind = Source::Kind::Root;
          src.at = r->second;
        } else {
          buffers[m].resize(g[m].shape.size());
          src.fixed = buffers[m].data();
        }
        written[m] = 1;
        sources.push_back(src);
      }
      plan.push_back(std::move(sources));
    }
    for (Id r : roots)
      if (!written[r]) return;
    direct = std::move(plan);
  }

  /// Points each param node at its values: the params are the parts one after another, and a
  /// param's group lies within one part.
  void bindParams(std::span<const std::span<const double>> parts) {
    for (Id id : params) {
      std::size_t at = paramOffsets[g[id].group];
      const std::size_t size = g[id].shape.size();
      const double *where = nullptr;
      for (std::span<const double> part : parts) {
        if (at < part.size()) {
          if (size > part.size() - at)
            throw std::invalid_argument("array executor: a param runs past its part of the params");
          where = part.data() + at;
          break;
        }
        at -= part.size();
      }
      if (!where) throw std::invalid_argument("array executor: a param beyond the params");
      data[id] = where;
    }
  }

  void runDirect(std::span<const std::span<double>> outs) {
    for (std::size_t k = 0; k < direct.size(); ++k) {
      double **p = slotPointers[k].data();
      for (const Source &src : direct[k]) {
        switch (src.kind) {
        case Source::Kind::Fixed: *p++ = src.fixed; break;
        case Source::Kind::Param: *p++ = const_cast<double *>(data[params[src.at]]); break;
        case Source::Kind::Root: *p++ = outs[src.at].data(); break;
        }
      }
      loops.functions[k](slotPointers[k].data());
    }
  }

  /// The nodes a node's evaluation reads: a fused multiply-add's three operands, otherwise its
  /// operands as the graph has them.
  std::vector<Id> operands(Id id) const {
    const Node &n = g[id];
    if (const FusedOperands<Id> &f = fused[id]; f.op != Op::Const) return {f.a, f.b, f.c};
    std::vector<Id> ops(n.args.begin(), n.args.begin() + n.argCount);
    ops.insert(ops.end(), n.parts.begin(), n.parts.end());
    return ops;
  }

  /// Whether evaluating the node is a step of run() (constants and params are not).
  bool isStep(Id id) const { return g[id].kind != Kind::Const && g[id].kind != Kind::Param; }

  // ---- Fused loops -----------------------------------------------------------------------------

  /// Nodes the same for every row whose value at an index is an elementwise function of their
  /// operands at an index affine in it: maps over arrays, slices of vectors and matrices and
  /// their adjoints, broadcasts; and sums of such values, accumulated in the loop. Nodes the
  /// planner had to leave out (`excluded`) are not.
  bool fusable(Id id) const {
    const Node &n = g[id];
    if (n.batched || excluded[id]) return false;
    switch (n.kind) {
    case Kind::Map:
    case Kind::Broadcast: return n.shape.size() >= 2;
    case Kind::Slice:
      return !n.shape.dims.empty() && n.shape.dims.size() <= 2 && g[n.args[0]].shape.dims.size() <= 2;
    case Kind::Embed: return n.shape.dims.size() <= 2;
    case Kind::Sum: return !g[n.args[0]].batched && g[n.args[0]].shape.size() >= 2;
    default: return false;
    }
  }

  /// Nodes left out of the fused loops: a slice or an embedding whose elements a loop's index
  /// could not reach (a box of a matrix in a loop over another's rows).
  std::vector<char> excluded;

  /// Where a loop reads a node: element stride * i + shift of its value (row-major).
  struct Index {
    std::int64_t stride = 1, shift = 0;
    bool operator<(const Index &o) const { return std::tie(stride, shift) < std::tie(o.stride, o.shift); }
  };
  /// A box of a vector or a matrix (rank 1 as one row), and the array it lies in.
  struct Box {
    std::int64_t rows = 1, width = 1;         // the larger array
    std::int64_t row = 0, rowCount = 1;       // the box's rows
    std::int64_t col = 0, colCount = 1;       // and columns
    /// Whether the box is one run of the larger array in row-major order.
    bool contiguous() const { return colCount == width || rowCount == 1; }
    std::int64_t base() const { return row * width + col; }
  };
  static Box boxOf(const Shape &big, const std::vector<SliceDim> &box) {
    Box b;
    const auto d = [](std::size_t v) { return static_cast<std::int64_t>(v); };
    if (big.dims.size() == 1) {
      b.width = d(big.dims[0]);
      b.col = box[0].start;
      b.colCount = box[0].count;
    } else {
      b.rows = d(big.dims[0]);
      b.width = d(big.dims[1]);
      b.row = box[0].start;
      b.rowCount = box[0].count;
      b.col = box[1].start;
      b.colCount = box[1].count;
    }
    return b;
  }
  /// Thrown when a loop reads a slice or an embedding at an index its box cannot follow: the
  /// loop would have to visit the rows of a matrix `width` wide (`rows` of them) instead.
  struct NeedRows {
    Id node;
    std::int64_t width, rows;
  };
  /// Loops over the rows of a matrix evaluate each of its elements in a row: up to this many.
  static constexpr std::int64_t kMaxLanes = 16;

  /// Groups the fusable nodes into loops and builds them, leaving out the slices and embeddings
  /// no loop can follow (planned again without each, so at most once per such node).
  void plan() {
    excluded.assign(g.size(), 0);
    while (!planOnce()) {
      steps.clear();
      kernels.clear();
      kernelSlots.clear();
    }
  }

  /// Groups the fusable nodes into loops in evaluation order: a loop takes nodes until one needs
  /// a sum of the loop itself or a node evaluated outside it needs one of its values; nodes that
  /// do not depend on an open loop are evaluated before it. False when a node had to be
  /// excluded: plan again.
  bool planOnce() {
    std::vector<int> kernelOf(g.size(), -1);
    std::vector<std::vector<Id>> members;
    int open = -1;
    auto close = [&] {
      if (open >= 0) steps.push_back({true, 0, static_cast<std::size_t>(open)});
      open = -1;
    };
    for (Id id : order) {
      if (fusable(id)) {
        bool join = open >= 0;
        for (Id a : operands(id))
          if (open >= 0 && kernelOf[a] == open && g[a].kind == Kind::Sum) join = false;
        if (!join) {
          close();
          open = static_cast<int>(members.size());
          members.emplace_back();
        }
        kernelOf[id] = open;
        members[open].push_back(id);
        continue;
      }
      for (Id a : operands(id))
        if (open >= 0 && kernelOf[a] == open) close();
      if (isStep(id)) steps.push_back({false, id, 0});
    }
    close();
    if (members.empty()) return true;

    // A member is stored when a root, or when something outside its loop reads it.
    std::vector<char> stored(g.size(), 0);
    for (Id r : roots) stored[r] = 1;
    for (Id id : order)
      for (Id a : operands(id))
        if (kernelOf[a] >= 0 && kernelOf[a] != kernelOf[id]) stored[a] = 1;

    for (std::size_t k = 0; k < members.size(); ++k) {
      // A loop over the elements first (width 1); when a member needs a loop over the rows of
      // a matrix, again over those rows, each member of the matrix's size a row of lanes.
      std::int64_t width = 1, rows = 0;
      for (;;) {
        try {
          if (!buildKernel(members[k], kernelOf, stored, static_cast<int>(k), width, rows)) {
            unfuse();
            return true;
          }
          break;
        } catch (const NeedRows &need) {
          if (width == 1 && need.width > 1 && need.width <= kMaxLanes) {
            width = need.width;
            rows = need.rows;
            continue;
          }
          excluded[need.node] = 1;
          return false;
        }
      }
    }
    std::int64_t work = 0;
    for (const codegen::LoopKernel &kernel : kernels)
      work += kernel.n * static_cast<std::int64_t>(kernel.values.size());
    if (work < kMinFusedWork) {
      unfuse();
      return true;
    }
    if (!compileLoops) return true;
    try {
      jit::SessionOptions options;
      options.tiered = false;
      options.optimizeInBackground = false;
      options.threads = 1;
      session = std::make_unique<jit::Session>(options);
      loops = jit::compileLoops(*session, kernels);
    } catch (const std::exception &) {
      unfuse();  // LLVM failed: the interpreter computes the same values
    }
    return true;
  }

  /// Loop `k` of the members: over their elements (width 1), or over `rows` rows of lanes
  /// `width` wide, where each member of rows * width elements is evaluated a row at a time.
  /// Appends it to `kernels`; false when it is not worth building (too deep a chain, or far
  /// more values than members). Throws NeedRows.
  bool buildKernel(const std::vector<Id> &members, const std::vector<int> &kernelOf,
                   const std::vector<char> &stored, int k, std::int64_t width, std::int64_t rows) {
    codegen::LoopKernel kernel;
    Slots slots;
    std::map<std::pair<Id, Index>, std::uint32_t> memo;
    std::map<Id, std::uint32_t> readSlot;
    auto push = [&](codegen::LoopValue v) {
      kernel.values.push_back(v);
      return static_cast<std::uint32_t>(kernel.values.size() - 1);
    };
    auto constant = [&](double value) {
      codegen::LoopValue v;
      v.kind = codegen::LoopValue::Kind::Const;
      v.value = value;
      return push(v);
    };
    // The value of node `a` at `at`. It recurses once per fused operand: a deeper chain (a sum
    // of thousands of terms over vectors) is left to the interpreter.
    struct TooDeep {};
    unsigned depth = 0;
    struct Deeper {
      unsigned &d;
      explicit Deeper(unsigned &d) : d(d) {
        if (++d > kMaxFusedDepth) throw TooDeep{};
      }
      ~Deeper() { --d; }
    };
    std::function<std::uint32_t(Id, Index)> value = [&](Id a, Index at) -> std::uint32_t {
      Deeper deeper(depth);
      const Node &n = g[a];
      if (kernelOf[a] != k || n.kind == Kind::Sum) {
        if (n.kind == Kind::Const && n.shape.isScalar()) return constant(n.values[0]);
        if (n.shape.size() == 1) at = Index{0, 0};
        if (auto found = memo.find({a, at}); found != memo.end()) return found->second;
        auto slot = readSlot.find(a);
        if (slot == readSlot.end()) {
          slot = readSlot.emplace(a, static_cast<std::uint32_t>(slots.reads.size())).first;
          slots.reads.push_back(a);
        }
        codegen::LoopValue v;
        v.kind = codegen::LoopValue::Kind::Load;
        v.slot = slot->second;
        v.stride = at.stride;
        v.shift = at.shift;
        v.length = static_cast<std::int64_t>(n.shape.size());
        return memo[{a, at}] = push(v);
      }
      if (auto found = memo.find({a, at}); found != memo.end()) return found->second;
      codegen::LoopValue v;
      switch (n.kind) {
      case Kind::Map:
        v.kind = codegen::LoopValue::Kind::Op;
        if (const FusedOperands<Id> &fma = fused[a]; fma.op != Op::Const) {
          v.op = fma.op;
          v.argCount = 3;
          v.args[0] = value(fma.a, at);
          v.args[1] = value(fma.b, at);
          v.args[2] = value(fma.c, at);
          break;
        }
        v.op = n.op;
        v.argCount = n.argCount;
        for (std::uint8_t j = 0; j < n.argCount; ++j) v.args[j] = value(n.args[j], at);
        break;
      case Kind::Slice: {
        // Element t of the slice is element base + t of the larger array when the box is one
        // run; otherwise row t / C, column t % C of the box (C columns), which is affine in i
        // when the stride is a multiple of C (a column: C = 1).
        const Box b = boxOf(g[n.args[0]].shape, n.box);
        Index from{at.stride, at.shift + b.base()};
        if (!b.contiguous()) {
          if (at.stride % b.colCount != 0) throw NeedRows{a, b.colCount, b.rowCount};
          const std::int64_t row = codegen::floorDiv(at.shift, b.colCount), col = at.shift - row * b.colCount;
          from = Index{at.stride / b.colCount * b.width, (b.row + row) * b.width + b.col + col};
        }
        return memo[{a, at}] = value(n.args[0], from);
      }
      case Kind::Broadcast: return memo[{a, at}] = value(n.args[0], Index{0, 0});
      case Kind::Embed: {
        // The operand where the element lies in the box, 0 elsewhere: a guard on the flat index
        // when the box is one run; otherwise a loop over rows (a stride that is a multiple of
        // the width) knows the column, and guards the row.
        const Box b = boxOf(n.shape, n.box);
        v.kind = codegen::LoopValue::Kind::Guard;
        v.argCount = 1;
        if (b.contiguous()) {
          v.args[0] = value(n.args[0], Index{at.stride, at.shift - b.base()});
          v.stride = at.stride;
          v.shift = at.shift;
          v.lo = b.base();
          v.hi = b.base() + b.rowCount * b.colCount;
          break;
        }
        if (at.stride % b.width != 0) throw NeedRows{a, b.width, b.rows};
        const std::int64_t row = codegen::floorDiv(at.shift, b.width), col = at.shift - row * b.width;
        if (col < b.col || col >= b.col + b.colCount) return memo[{a, at}] = constant(0);
        const std::int64_t rowStride = at.stride / b.width;
        v.args[0] = value(n.args[0], Index{rowStride * b.colCount, (row - b.row) * b.colCount + col - b.col});
        v.stride = rowStride;
        v.shift = row;
        v.lo = b.row;
        v.hi = b.row + b.rowCount;
        break;
      }
      default: throw std::logic_error("array executor: a fused node of no loop kind");
      }
      return memo[{a, at}] = push(v);
    };
    try {
      for (Id m : members) {
        const Node &n = g[m];
        const bool sum = n.kind == Kind::Sum;
        if (!sum && !stored[m]) continue;
        const Id of = sum ? n.args[0] : m;
        const std::int64_t size = static_cast<std::int64_t>(g[of].shape.size());
        const std::uint32_t slot = static_cast<std::uint32_t>(slots.writes.size());  // offset by the reads later
        slots.writes.push_back(m);
        // A value of the rows' size, a row at a time: one output per lane.
        const std::int64_t lanes = width > 1 && size == rows * width ? width : 1;
        for (std::int64_t c = 0; c < lanes; ++c) {
          codegen::LoopOutput out;
          out.sum = sum;
          out.chained = sum && c > 0;
          out.value = value(of, Index{lanes, c});
          out.slot = slot;
          out.length = size / lanes;
          out.stride = lanes;
          out.offset = c;
          kernel.outputs.push_back(out);
          kernel.n = std::max(kernel.n, out.length);
        }
      }
    } catch (const TooDeep &) {
      return false;
    }
    // Far more values than members: shifts multiplied the work; leave it to the interpreter.
    if (kernel.values.size() > 64 * members.size() + 1024) return false;
    for (codegen::LoopOutput &out : kernel.outputs)
      out.slot += static_cast<std::uint32_t>(slots.reads.size());
    kernel.slots = static_cast<std::uint32_t>(slots.reads.size() + slots.writes.size());
    kernels.push_back(std::move(kernel));
    kernelSlots.push_back(std::move(slots));
    return true;
  }

  /// Every node by the interpreter.
  void unfuse() {
    steps.clear();
    for (Id id : order)
      if (isStep(id)) steps.push_back({false, id, 0});
    kernels.clear();
    kernelSlots.clear();
    loops = {};
    session.reset();
  }

  void runKernel(std::size_t k) {
    const Slots &s = kernelSlots[k];
    double **p = slotPointers[k].data();
    for (Id a : s.reads) *p++ = const_cast<double *>(data[a]);
    for (Id m : s.writes) *p++ = output(m);
    loops.functions[k](slotPointers[k].data());
  }

  std::size_t rowsOf(Id id) const { return g[id].batched ? batch : 1; }

  double *output(Id id) {
    if (double *to = destination[id]) {  // a root written where it goes
      data[id] = to;
      return to;
    }
    std::vector<double> &b = buffers[id];
    b.resize(rowsOf(id) * g[id].shape.size());
    data[id] = b.data();
    return b.data();
  }

  /// A matrix operand as BLAS reads it: a param's (or any unbatched) transpose is read in place.
  struct View {
    const double *p;
    bool trans;
    bool batched;
  };
  View view(Id id) const {
    const Node &n = g[id];
    if (n.kind == Kind::Transpose && !g[n.args[0]].batched) return {data[n.args[0]], true, false};
    return {data[id], false, n.batched};
  }

  void matmul(Id id) {
    const Node &n = g[id];
    const Shape &sa = g[n.args[0]].shape, &sb = g[n.args[1]].shape;
    const int m = sa.dims.size() == 2 ? static_cast<int>(sa.dims[0]) : 1;
    const int k = static_cast<int>(sa.dims.back());
    const int cols = sb.dims.size() == 2 ? static_cast<int>(sb.dims[1]) : 1;
    const View a = view(n.args[0]), b = view(n.args[1]);
    double *out = output(id);
    nabla_rt_matmul(m, k, cols, a.p, a.trans, a.batched, b.p, b.trans, b.batched, out,
                    static_cast<int>(rowsOf(id)));
  }

  /// f over the operands `args` (count of them), elementwise with scalars broadcast.
  template <class F>
  void mapLoop(Id id, const Id *args, std::uint8_t count, F f) {
    const Node &n = g[id];
    const std::size_t S = n.shape.size(), R = rowsOf(id);
    double *out = output(id);
    const double *p[3] = {nullptr, nullptr, nullptr};
    std::size_t rs[3] = {0, 0, 0}, es[3] = {0, 0, 0};
    for (std::uint8_t k = 0; k < count; ++k) {
      const Node &x = g[args[k]];
      p[k] = data[args[k]];
      es[k] = x.shape.isScalar() ? 0 : 1;
      rs[k] = x.batched ? x.shape.size() : 0;
    }
    static const double zero = 0;
    for (std::uint8_t k = count; k < 3; ++k) p[k] = &zero;
    forRows(R, R * S, [&](std::size_t begin, std::size_t end) {
      for (std::size_t r = begin; r < end; ++r) {
        const double *a = p[0] + r * rs[0], *b = p[1] + r * rs[1], *c = p[2] + r * rs[2];
        double *o = out + r * S;
        if (es[0] && es[1] && (count < 3 || es[2])) {
          for (std::size_t i = 0; i < S; ++i) o[i] = f(a[i], b[i], c[i]);
        } else {
          for (std::size_t i = 0; i < S; ++i) o[i] = f(a[i * es[0]], b[i * es[1]], c[i * es[2]]);
        }
      }
    });
  }

  template <class F>
  void mapLoop(Id id, F f) {
    mapLoop(id, g[id].args.data(), g[id].argCount, f);
  }

  void map(Id id) {
    if (const FusedOperands<Id> &fma = fused[id]; fma.op != Op::Const) {
      const Id args[3] = {fma.a, fma.b, fma.c};
      switch (fma.op) {  // evalOp's arithmetic, inlined
      case Op::Fma: return mapLoop(id, args, 3, [](double a, double b, double c) { return std::fma(a, b, c); });
      case Op::Fms: return mapLoop(id, args, 3, [](double a, double b, double c) { return std::fma(a, b, -c); });
      default: return mapLoop(id, args, 3, [](double a, double b, double c) { return std::fma(-a, b, c); });
      }
    }
    switch (g[id].op) {
    case Op::Add: return mapLoop(id, [](double a, double b, double) { return a + b; });
    case Op::Sub: return mapLoop(id, [](double a, double b, double) { return a - b; });
    case Op::Mul: return mapLoop(id, [](double a, double b, double) { return a * b; });
    case Op::Div: return mapLoop(id, [](double a, double b, double) { return a / b; });
    case Op::Neg: return mapLoop(id, [](double a, double, double) { return -a; });
    case Op::Tanh: return mapLoop(id, [](double a, double, double) { return std::tanh(a); });
    case Op::Exp: return mapLoop(id, [](double a, double, double) { return std::exp(a); });
    case Op::Pow:  // power(): squares, cubes and fourth powers as products
      return mapLoop(id, [](double a, double b, double) { return power(a, b); });
    default: {
      const Op op = g[id].op;
      return mapLoop(id, [op](double a, double b, double c) { return evalOp(op, a, b, c); });
    }
    }
  }

  void reduce(Id id) {
    const Node &n = g[id];
    const Id a = n.args[0];
    const std::size_t S = g[a].shape.size(), R = rowsOf(id);
    int kind = NABLA_RT_SUM;
    switch (n.kind) {
    case Kind::Sum: break;
    case Kind::Max: kind = NABLA_RT_MAX; break;
    case Kind::Min: kind = NABLA_RT_MIN; break;
    case Kind::Norm: kind = NABLA_RT_NORM; break;
    case Kind::LogSumExp: kind = NABLA_RT_LOGSUMEXP; break;
    default: throw std::logic_error("array executor: not a reduction");
    }
    nabla_rt_reduce(kind, data[a], S, g[a].batched ? S : 0, output(id), R);
  }

  void softmax(Id id) {
    const Id a = g[id].args[0];
    const std::size_t S = g[a].shape.size(), R = rowsOf(id), rs = g[a].batched ? S : 0;
    double *out = output(id);
    forRows(R, R * S, [&](std::size_t begin, std::size_t end) {
      nabla_rt_softmax(data[a], S, rs, out, begin, end);
    });
  }

  /// Copies between a box of a larger array and a dense smaller one, for each row: runs of the
  /// box's last dimension, which are contiguous in both.
  void box(Id id, bool embed) {
    const Node &n = g[id];
    const Id a = n.args[0];
    const Shape &big = embed ? n.shape : g[a].shape;
    const std::size_t small = embed ? g[a].shape.size() : n.shape.size();
    const std::size_t R = rowsOf(id), rank = big.dims.size();
    const std::size_t inStride = g[a].batched ? g[a].shape.size() : 0;
    double *out = output(id);
    const std::size_t run = n.box[rank - 1].count, runs = small / run;
    std::vector<std::size_t> &starts = runStarts[id];
    if (starts.size() != runs) starts = boxRunStarts(big, n.box, runs);
    nabla_rt_box(embed, data[a], inStride, out, big.size(), small, run, starts.data(), runs, R);
  }

  void input(Id id, const Rows &rows) {
    const Node &n = g[id];
    const std::size_t S = n.shape.size(), off = inputOffsets.at(n.group);
    double *out = output(id);
    if (rows.table) {
      for (std::size_t r = 0; r < rows.count; ++r) {
        const double *src = rows.table + rows.index[r] * rows.stride + off;
        std::copy(src, src + S, out + r * S);
      }
    } else {
      nabla_rt_input_columns(rows.columns.data() + off, S, out, rows.count);
    }
  }

  void eval(Id id, const Rows &rows) {
    const Node &n = g[id];
    switch (n.kind) {
    case Kind::Param:  // bound in run()
    case Kind::Const: return;
    case Kind::Input: return input(id, rows);
    case Kind::Map: return map(id);
    case Kind::MatMul: return matmul(id);
    case Kind::Transpose: {
      const Id a = n.args[0];
      const std::size_t rowsA = g[a].shape.dims[0], colsA = g[a].shape.dims[1];
      nabla_rt_transpose(data[a], rowsA, colsA, g[a].batched ? rowsA * colsA : 0, output(id),
                         rowsOf(id));
      return;
    }
    case Kind::Outer: {
      const Id u = n.args[0], v = n.args[1];
      const std::size_t m = g[u].shape.size(), k = g[v].shape.size();
      nabla_rt_outer(data[u], m, g[u].batched ? m : 0, data[v], k, g[v].batched ? k : 0,
                     output(id), rowsOf(id));
      return;
    }
    case Kind::OuterSum: {
      const Id u = n.args[0], v = n.args[1];
      const int m = static_cast<int>(g[u].shape.size()), k = static_cast<int>(g[v].shape.size());
      double *out = output(id);
      nabla_rt_outer_sum(data[u], m, data[v], k, static_cast<int>(batch), out);
      return;
    }
    case Kind::Sum:
    case Kind::Max:
    case Kind::Min:
    case Kind::Norm:
    case Kind::LogSumExp: return reduce(id);
    case Kind::FirstMax:
    case Kind::FirstMin:
    case Kind::ArgMax:
    case Kind::ArgMin: {
      // The first extreme element of each row: a mask of it (the derivative of max(v)), or its
      // index; none (a NaN in the row) gives zeros, or NaN.
      const Id a = n.args[0];
      const std::size_t S = g[a].shape.size();
      const bool mask = n.kind == Kind::FirstMax || n.kind == Kind::FirstMin;
      const bool max = n.kind == Kind::FirstMax || n.kind == Kind::ArgMax;
      nabla_rt_extreme(mask, max, data[a], S, g[a].batched ? S : 0, output(id), rowsOf(id));
      return;
    }
    case Kind::Softmax: return softmax(id);
    case Kind::SoftmaxAdjoint: {
      const Id yId = n.args[0], gId = n.args[1];
      const std::size_t S = n.shape.size();
      nabla_rt_softmax_adjoint(data[yId], g[yId].batched ? S : 0, data[gId],
                               g[gId].batched ? g[gId].shape.size() : 0,
                               g[gId].shape.isScalar(), output(id), S, rowsOf(id));
      return;
    }
    case Kind::Onehot: {
      const Id k = n.args[0];
      nabla_rt_onehot(data[k], g[k].batched ? 1 : 0, n.group, output(id), rowsOf(id));
      return;
    }
    case Kind::Slice: return box(id, false);
    case Kind::Embed: return box(id, true);
    case Kind::Stack: {
      const std::size_t S = n.shape.size(), R = rowsOf(id);
      const std::size_t part = S / n.parts.size();
      double *out = output(id);
      for (std::size_t p = 0; p < n.parts.size(); ++p) {
        const Id x = n.parts[p];
        nabla_rt_stack_part(data[x], g[x].batched ? part : 0, part, p, out, S, R);
      }
      return;
    }
    case Kind::Broadcast: {
      const Id a = n.args[0];
      nabla_rt_broadcast(data[a], g[a].batched ? 1 : 0, output(id), n.shape.size(), rowsOf(id));
      return;
    }
    case Kind::BatchSum: {
      const Id a = n.args[0];
      nabla_rt_batch_sum(data[a], g[a].batched, output(id), n.shape.size(), batch);
      return;
    }
    }
  }
};

std::vector<std::size_t> boxRunStarts(const Shape &big, const std::vector<SliceDim> &box,
                                      std::size_t runs) {
  const std::size_t rank = big.dims.size();
  std::vector<std::size_t> starts;
  std::vector<std::uint32_t> idx(rank, 0);
  for (std::size_t e = 0; e < runs; ++e) {
    std::size_t flat = 0;
    for (std::size_t d = 0; d < rank; ++d) flat = flat * big.dims[d] + box[d].start + idx[d];
    starts.push_back(flat);
    for (std::size_t d = rank - 1; d-- > 0;) {
      if (++idx[d] < box[d].count) break;
      idx[d] = 0;
    }
  }
  return starts;
}

Executor::Executor(const Graph &graph, std::vector<Id> roots, std::vector<std::size_t> inputOffsets,
                   std::vector<std::size_t> paramOffsets, bool compileLoops)
    : impl_(std::make_unique<Impl>(graph, std::move(roots), std::move(inputOffsets),
                                   std::move(paramOffsets), compileLoops)) {}

Schedule Executor::schedule() const {
  const Impl &m = *impl_;
  Schedule s;
  for (const Impl::Step &step : m.steps) s.steps.push_back({step.kernel, step.id, step.k});
  s.kernels = m.kernels;
  for (const Impl::Slots &slots : m.kernelSlots) {
    s.kernelReads.push_back(slots.reads);
    s.kernelWrites.push_back(slots.writes);
  }
  s.fused = m.fused;
  s.bytesPerRow = bytesPerRow();
  return s;
}
Executor::~Executor() = default;
Executor::Executor(Executor &&) noexcept = default;

std::size_t Executor::rootSize(std::size_t k) const { return impl_->rootSizes.at(k); }

std::size_t Executor::outputSize() const {
  std::size_t n = 0;
  for (std::size_t k = 0; k < impl_->roots.size(); ++k) n += rootSize(k);
  return n;
}

bool Executor::rootBatched(std::size_t k) const { return impl_->rootBatched.at(k); }

std::size_t Executor::fusedLoops() const { return impl_->kernels.size(); }

std::size_t Executor::bytesPerRow() const {
  std::size_t bytes = 0;
  for (const Impl::Step &step : impl_->steps)
    if (!step.kernel && impl_->g[step.id].batched)
      bytes += impl_->g[step.id].shape.size() * sizeof(double);
  return bytes;
}

void Executor::run(std::span<const double> params, const Rows &rows,
                   std::span<const std::span<double>> outs) {
  const std::span<const double> parts[] = {params};
  run(std::span<const std::span<const double>>(parts), rows, outs);
}

void Executor::run(std::span<const std::span<const double>> params, const Rows &rows,
                   std::span<const std::span<double>> outs) {
  Impl &m = *impl_;
  if (outs.size() != m.roots.size())
    throw std::invalid_argument("array executor: not one output per root");
  for (std::size_t k = 0; k < outs.size(); ++k)
    if (outs[k].size() != m.rootSizes[k])
      throw std::invalid_argument("array executor: an output of the wrong size");
  m.bindParams(params);
  if (!m.direct.empty()) return m.runDirect(outs);
  m.batch = rows.count;
  // A root the same for every row is computed straight into its output (the first root of a
  // node, when several roots are one node).
  for (std::size_t k = 0; k < outs.size(); ++k) {
    const Id root = m.roots[k];
    if (!m.rootBatched[k] && !m.destination[root]) m.destination[root] = outs[k].data();
  }
  struct Reset {
    Impl &m;
    ~Reset() {
      for (Id root : m.roots) m.destination[root] = nullptr;
    }
  } reset{m};
  for (const Impl::Step &step : m.steps) {
    if (step.kernel)
      m.runKernel(step.k);
    else
      m.eval(step.id, rows);
  }
  for (std::size_t k = 0; k < outs.size(); ++k) {
    const std::size_t S = m.rootSizes[k];
    const double *v = m.data[m.roots[k]];
    double *out = outs[k].data();
    if (!m.rootBatched[k]) {
      if (v != out) std::copy(v, v + S, out);
    } else {
      nabla_rt_batch_sum(v, 1, out, S, m.batch);
    }
  }
}

void Executor::run(std::span<const double> params, const Rows &rows, std::span<double> out) {
  if (out.size() != outputSize())
    throw std::invalid_argument("array executor: an output of the wrong size");
  std::vector<std::span<double>> outs;
  std::size_t at = 0;
  for (std::size_t k = 0; k < impl_->roots.size(); ++k) {
    outs.push_back(out.subspan(at, rootSize(k)));
    at += rootSize(k);
  }
  run(params, rows, outs);
}

void Executor::setThreads(unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  impl_->workers = threads > 1 ? std::make_unique<jit::Workers>(threads) : nullptr;
}

void Executor::setBlasThreads(unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  blas().setThreads(static_cast<int>(threads));
}

}  // namespace nabla::array
