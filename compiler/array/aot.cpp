// The objective of an array program as C source for a library (`nabla compile`, docs/aot.md):
// the executor's schedule written out as tables of steps, which runtime/program.c follows,
// calling the kernels of runtime/kernels.c (the same code the executor runs) and the fused
// loops, which the library's object holds. Tables, not code: a C compiler takes them in about
// the time of reading them, however many steps there are. One program for the loss and its
// gradient, and one for the Hessian-vector product where the program has it.
#include "array/array.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <stdexcept>

namespace nabla::array {

// The text of the files of runtime/ (cmake/embed_text.cmake).
extern const char *const kKernelsHeader;
extern const char *const kKernelsSource;
extern const char *const kProgramHeader;
extern const char *const kProgramSource;

namespace {

std::string number(double v) {
  if (std::isnan(v)) return "NAN";
  if (std::isinf(v)) return v > 0 ? "INFINITY" : "(-INFINITY)";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

std::string z(std::size_t v) { return std::to_string(v) + "u"; }

/// One program's tables: `name`'s steps, refs, consts and starts, and `static const
/// nabla_program name`, its loops named nabla.array.NAME.loopK and nabla.array.NAME.mapK.
class Writer {
public:
  /// The outputs are the roots in order from NABLA_OUT's `outBase` (0: the loss first, at 0,
  /// which program.c keeps apart from the rest; 1: none is a loss).
  Writer(const Graph &g, const Schedule &s, const std::vector<Id> &roots,
         const std::vector<std::size_t> &inputOffsets, const std::vector<std::size_t> &paramOffsets,
         std::string name, std::size_t outBase)
      : g_(g), s_(s), roots_(roots), inputOffsets_(inputOffsets), paramOffsets_(paramOffsets),
        name_(std::move(name)), outBase_(outBase) {}

  /// The tables' C text; the loops go to `out`'s kernels.
  std::string write(LibrarySource &out) {
    const std::size_t firstKernel = out.kernelNames.size();
    for (std::size_t k = 0; k < s_.kernels.size(); ++k) {
      out.kernels.push_back(s_.kernels[k]);
      out.kernelNames.push_back("nabla.array." + name_ + ".loop" + std::to_string(k));
    }
    // Roots the same for every row are computed where they go (the first root of a node), as
    // the executor computes them.
    std::vector<bool> direct(roots_.size(), false);
    std::size_t at = outBase_;
    for (std::size_t k = 0; k < roots_.size(); ++k) {
      const Id r = roots_[k];
      const Kind kind = g_[r].kind;
      if (!g_[r].batched && kind != Kind::Param && kind != Kind::Const && !places_.count(r)) {
        places_[r] = Ref{"NABLA_OUT", at};
        direct[k] = true;
      }
      at += g_[r].shape.size();
    }
    // Scratch: one array per node a step or a loop writes, rows of the batch apart for those
    // that depend on them.
    for (const Schedule::Step &step : s_.steps) {
      if (!step.kernel) {
        place(step.id);
        continue;
      }
      for (Id m : s_.kernelWrites[step.k]) place(m);
    }
    for (const Schedule::Step &step : s_.steps) {
      if (step.kernel) {
        std::vector<Ref> slots;
        for (Id a : s_.kernelReads[step.k]) slots.push_back(ref(a));
        for (Id m : s_.kernelWrites[step.k]) slots.push_back(ref(m));
        maxSlots_ = std::max(maxSlots_, slots.size());
        add("NABLA_STEP_LOOP", false, slots, {}, loopName(out.kernelNames[firstKernel + step.k]));
      } else {
        node(step.id, out);
      }
    }
    // The other roots into the output: sums over the rows, or the value.
    at = outBase_;
    for (std::size_t k = 0; k < roots_.size(); ++k) {
      const Id r = roots_[k];
      const std::size_t S = g_[r].shape.size();
      if (direct[k]) {
        at += S;
        continue;
      }
      if (g_[r].batched)
        add("NABLA_STEP_BATCH_SUM", false, {ref(r), Ref{"NABLA_OUT", at}}, {1, S});
      else
        add("NABLA_STEP_COPY", false, {ref(r), Ref{"NABLA_OUT", at}}, {S});
      at += S;
    }

    std::string c;
    for (std::size_t k = firstKernel; k < out.kernelNames.size(); ++k)
      c += "extern nabla_loop " + loopName(out.kernelNames[k]) + " __asm__(\"" + out.kernelNames[k] +
           "\") __attribute__((visibility(\"hidden\")));\n";
    const std::string &n = name_;
    c += "static const double " + n + "_consts[] = {" + (consts_.empty() ? std::string("0") : consts_) +
         "};\n";
    c += "static const size_t " + n + "_starts[] = {" + (starts_.empty() ? std::string("0") : starts_) +
         "};\n";
    // C has no empty arrays: a table without entries holds one that nothing reads.
    c += "static const nabla_ref " + n + "_refs[] = {\n" + (refs_.empty() ? "  {0, 0},\n" : refs_) +
         "};\n";
    c += "static const nabla_step " + n + "_steps[] = {\n" + (steps_.empty() ? "  {0},\n" : steps_) +
         "};\n";
    const std::size_t chunkRows =
        std::max<std::size_t>(1, kChunkBytes / std::max<std::size_t>(1, s_.bytesPerRow));
    c += "static const nabla_program " + n + " = {" + n + "_steps, " + n + "_refs, " + n +
         "_consts, " + z(stepCount_) + ", " + z(maxSlots_) + ", " + z(fixed_) + ", " + z(perRow_) +
         ", " + z(at - outBase_) + ", " + z(chunkRows) + ", " +
         (g_[roots_[0]].batched ? "1" : "0") + "};\n\n";
    return c;
  }

private:
  struct Ref {
    std::string base;
    std::size_t at = 0;
  };

  static std::string loopName(const std::string &name) {
    std::string c = name;
    std::replace(c.begin(), c.end(), '.', '_');
    return c;
  }

  void place(Id id) {
    if (places_.count(id)) return;
    const std::size_t S = g_[id].shape.size();
    if (g_[id].batched) {
      places_[id] = Ref{"NABLA_ROWS", perRow_};
      perRow_ += S;
    } else {
      places_[id] = Ref{"NABLA_FIXED", fixed_};
      fixed_ += S;
    }
  }

  /// Where node `id`'s value is during a run.
  Ref ref(Id id) {
    const Node &n = g_[id];
    if (n.kind == Kind::Param) return Ref{"NABLA_PARAM", paramOffsets_.at(n.group)};
    if (n.kind == Kind::Const) {
      auto [found, isNew] = constAt_.emplace(id, constCount_);
      if (isNew) {
        for (double v : n.values) {
          consts_ += (constCount_ ? (constCount_ % 8 ? ", " : ",\n  ") : "") + number(v);
          ++constCount_;
        }
      }
      return Ref{"NABLA_CONST", found->second};
    }
    auto p = places_.find(id);
    if (p == places_.end()) throw std::logic_error("array library: a value read before it is made");
    return p->second;
  }

  void add(const char *op, bool rows, const std::vector<Ref> &refs, std::vector<std::size_t> a,
           const std::string &loop = "", const std::string &starts = "0") {
    steps_ += "  {" + std::string(op) + ", " + (rows ? "1" : "0") + ", " +
              std::to_string(refs.size()) + ", " + z(refCount_) + ", " +
              (loop.empty() ? "0" : "&" + loop) + ", " + starts + ", {";
    for (std::size_t k = 0; k < a.size(); ++k) steps_ += (k ? ", " : "") + z(a[k]);
    steps_ += "}},\n";
    for (const Ref &r : refs) refs_ += "  {" + r.base + ", " + z(r.at) + "},\n";
    refCount_ += refs.size();
    ++stepCount_;
  }

  std::size_t stride(Id id, std::size_t S) const { return g_[id].batched ? S : 0; }

  /// A map evaluated row by row by a loop of its own (the executor's interpreter loops over the
  /// same elements with evalOp's arithmetic). Maps of one op over operands of the same lengths
  /// share their loop.
  void map(Id id, LibrarySource &out) {
    const Node &n = g_[id];
    std::vector<Id> operands;
    Op op = n.op;
    if (const FusedOperands<Id> &f = s_.fused[id]; f.op != Op::Const) {
      op = f.op;
      operands = {f.a, f.b, f.c};
    } else {
      operands.assign(n.args.begin(), n.args.begin() + n.argCount);
    }
    const std::size_t S = n.shape.size();
    codegen::LoopKernel kernel;
    kernel.n = static_cast<std::int64_t>(S);
    std::vector<Id> slots;
    codegen::LoopValue v;
    v.kind = codegen::LoopValue::Kind::Op;
    v.op = op;
    v.argCount = static_cast<std::uint8_t>(operands.size());
    std::string key = std::to_string(static_cast<int>(op)) + ":" + std::to_string(S);
    for (std::size_t j = 0; j < operands.size(); ++j) {
      std::size_t slot = std::find(slots.begin(), slots.end(), operands[j]) - slots.begin();
      if (slot == slots.size()) slots.push_back(operands[j]);
      codegen::LoopValue load;
      load.kind = codegen::LoopValue::Kind::Load;
      load.slot = static_cast<std::uint32_t>(slot);
      load.length = static_cast<std::int64_t>(g_[operands[j]].shape.size());
      kernel.values.push_back(load);
      v.args[j] = static_cast<std::uint32_t>(kernel.values.size() - 1);
      key += "," + std::to_string(slot) + "/" + std::to_string(load.length);
    }
    kernel.values.push_back(v);
    codegen::LoopOutput store;
    store.value = static_cast<std::uint32_t>(kernel.values.size() - 1);
    store.slot = static_cast<std::uint32_t>(slots.size());
    store.length = kernel.n;
    kernel.outputs.push_back(store);
    kernel.slots = static_cast<std::uint32_t>(slots.size() + 1);
    auto [found, isNew] =
        mapKernels_.emplace(key, "nabla.array." + name_ + ".map" + std::to_string(mapKernels_.size()));
    if (isNew) {
      out.kernels.push_back(std::move(kernel));
      out.kernelNames.push_back(found->second);
    }
    std::vector<Ref> refs;
    std::vector<std::size_t> a(4, 0);
    for (std::size_t j = 0; j < slots.size(); ++j) {
      refs.push_back(ref(slots[j]));
      a[j] = stride(slots[j], g_[slots[j]].shape.size());
    }
    refs.push_back(ref(id));
    a[3] = S;
    add("NABLA_STEP_MAP", n.batched, refs, a, loopName(found->second));
  }

  void node(Id id, LibrarySource &out) {
    const Node &n = g_[id];
    const bool rows = n.batched;
    const std::size_t S = n.shape.size();
    auto arg = [&](int k) { return n.args[static_cast<std::size_t>(k)]; };
    switch (n.kind) {
    case Kind::Param:
    case Kind::Const: return;
    case Kind::Input:
      if (!n.batched) throw std::logic_error("array library: an input the same for every row");
      return add("NABLA_STEP_INPUT", true, {ref(id)}, {inputOffsets_.at(n.group), S});
    case Kind::Map: return map(id, out);
    case Kind::MatMul: {
      const Shape &sa = g_[arg(0)].shape, &sb = g_[arg(1)].shape;
      const std::size_t m = sa.dims.size() == 2 ? sa.dims[0] : 1, k = sa.dims.back();
      const std::size_t cols = sb.dims.size() == 2 ? sb.dims[1] : 1;
      // A transpose of a value the same for every row is read in place (Executor's view()).
      auto view = [&](Id x, std::size_t &trans, std::size_t &batched) {
        const Node &t = g_[x];
        if (t.kind == Kind::Transpose && !g_[t.args[0]].batched) {
          trans = 1;
          batched = 0;
          return ref(t.args[0]);
        }
        trans = 0;
        batched = t.batched;
        return ref(x);
      };
      std::vector<std::size_t> a{m, k, cols, 0, 0, 0, 0};
      const Ref ra = view(arg(0), a[3], a[4]), rb = view(arg(1), a[5], a[6]);
      return add("NABLA_STEP_MATMUL", rows, {ra, rb, ref(id)}, a);
    }
    case Kind::Transpose: {
      const Shape &sa = g_[arg(0)].shape;
      return add("NABLA_STEP_TRANSPOSE", rows, {ref(arg(0)), ref(id)},
                 {sa.dims[0], sa.dims[1], stride(arg(0), sa.size())});
    }
    case Kind::Outer: {
      const std::size_t m = g_[arg(0)].shape.size(), k = g_[arg(1)].shape.size();
      return add("NABLA_STEP_OUTER", rows, {ref(arg(0)), ref(arg(1)), ref(id)},
                 {m, stride(arg(0), m), k, stride(arg(1), k)});
    }
    case Kind::OuterSum:
      return add("NABLA_STEP_OUTER_SUM", rows, {ref(arg(0)), ref(arg(1)), ref(id)},
                 {g_[arg(0)].shape.size(), g_[arg(1)].shape.size()});
    case Kind::Sum:
    case Kind::Max:
    case Kind::Min:
    case Kind::Norm:
    case Kind::LogSumExp: {
      const std::size_t kind = n.kind == Kind::Sum    ? 0  // the NABLA_RT_ reductions
                               : n.kind == Kind::Max  ? 1
                               : n.kind == Kind::Min  ? 2
                               : n.kind == Kind::Norm ? 3
                                                      : 4;
      const std::size_t SA = g_[arg(0)].shape.size();
      return add("NABLA_STEP_REDUCE", rows, {ref(arg(0)), ref(id)}, {kind, SA, stride(arg(0), SA)});
    }
    case Kind::FirstMax:
    case Kind::FirstMin:
    case Kind::ArgMax:
    case Kind::ArgMin: {
      const bool mask = n.kind == Kind::FirstMax || n.kind == Kind::FirstMin;
      const bool max = n.kind == Kind::FirstMax || n.kind == Kind::ArgMax;
      const std::size_t SA = g_[arg(0)].shape.size();
      return add("NABLA_STEP_EXTREME", rows, {ref(arg(0)), ref(id)},
                 {mask, max, SA, stride(arg(0), SA)});
    }
    case Kind::Softmax:
      return add("NABLA_STEP_SOFTMAX", rows, {ref(arg(0)), ref(id)}, {S, stride(arg(0), S)});
    case Kind::SoftmaxAdjoint: {
      const Id gId = arg(1);
      return add("NABLA_STEP_SOFTMAX_ADJOINT", rows, {ref(arg(0)), ref(gId), ref(id)},
                 {stride(arg(0), S), stride(gId, g_[gId].shape.size()),
                  g_[gId].shape.isScalar() ? 1u : 0u, S});
    }
    case Kind::Onehot:
      return add("NABLA_STEP_ONEHOT", rows, {ref(arg(0)), ref(id)}, {stride(arg(0), 1), n.group});
    case Kind::Slice:
    case Kind::Embed: return box(id, n.kind == Kind::Embed);
    case Kind::Stack: {
      const std::size_t part = S / n.parts.size();
      for (std::size_t p = 0; p < n.parts.size(); ++p)
        add("NABLA_STEP_STACK_PART", rows, {ref(n.parts[p]), ref(id)},
            {stride(n.parts[p], part), part, p, S});
      return;
    }
    case Kind::Broadcast:
      return add("NABLA_STEP_BROADCAST", rows, {ref(arg(0)), ref(id)}, {stride(arg(0), 1), S});
    case Kind::BatchSum:
      return add("NABLA_STEP_BATCH_SUM", false, {ref(arg(0)), ref(id)},
                 {g_[arg(0)].batched ? 1u : 0u, S});
    }
    throw std::logic_error("array library: a node of no kind");
  }

  /// A slice or its adjoint: the runs of the box's last dimension, as the executor's box().
  void box(Id id, bool embed) {
    const Node &n = g_[id];
    const Id a = n.args[0];
    const Shape &big = embed ? n.shape : g_[a].shape;
    const std::size_t small = embed ? g_[a].shape.size() : n.shape.size();
    const std::size_t rank = big.dims.size();
    const std::size_t run = n.box[rank - 1].count, runs = small / run;
    const std::string at = name_ + "_starts + " + z(startCount_);
    for (std::size_t flat : boxRunStarts(big, n.box, runs)) {
      starts_ += (startCount_ ? (startCount_ % 8 ? ", " : ",\n  ") : "") + z(flat);
      ++startCount_;
    }
    add("NABLA_STEP_BOX", n.batched, {ref(a), ref(id)},
        {embed, stride(a, g_[a].shape.size()), big.size(), small, run, runs}, "", at);
  }

  const Graph &g_;
  const Schedule &s_;
  const std::vector<Id> &roots_;
  const std::vector<std::size_t> &inputOffsets_, &paramOffsets_;
  const std::string name_;
  const std::size_t outBase_;
  std::map<Id, Ref> places_;
  std::size_t fixed_ = 0, perRow_ = 0;
  std::map<Id, std::size_t> constAt_;
  std::string consts_, starts_, refs_, steps_;
  std::size_t constCount_ = 0, startCount_ = 0, refCount_ = 0, stepCount_ = 0, maxSlots_ = 1;
  std::map<std::string, std::string> mapKernels_;  // by op, length and operands' lengths
};

}  // namespace

LibrarySource librarySource(const Program &program, const std::vector<std::size_t> &inputSizes) {
  if (program.grads.size() != program.paramShapes.size())
    throw std::logic_error("array library: the program is not differentiated");
  std::vector<std::size_t> paramOffsets, inputOffsets;
  std::size_t P = 0, I = 0;
  for (const Shape &s : program.paramShapes) {
    paramOffsets.push_back(P);
    P += s.size();
  }
  for (std::size_t size : inputSizes) {
    inputOffsets.push_back(I);
    I += size;
  }
  std::vector<Id> roots{program.loss};
  roots.insert(roots.end(), program.grads.begin(), program.grads.end());
  LibrarySource out;
  std::string c = "/* The objective at the array level, made by nabla (docs/aot.md): tables that "
                  "program.c follows. */\n"
                  "#define NABLA_RT_API static\n"
                  "#include \"program.h\"\n\n"
                  "#define P " + z(P) + "\n#define I " + z(I) + "\n\n";
  {
    Executor planned(program.graph, roots, inputOffsets, paramOffsets, /*compileLoops=*/false);
    const Schedule schedule = planned.schedule();
    c += Writer(program.graph, schedule, roots, inputOffsets, paramOffsets, "objective", 0).write(out);
  }
  if (!program.hvp.empty()) {
    // Over the params and then v, packed as ArrayCode::hvp packs them (v of param k is group
    // paramShapes.size() + k).
    std::vector<std::size_t> packed = paramOffsets;
    for (std::size_t offset : paramOffsets) packed.push_back(P + offset);
    Executor planned(program.graph, program.hvp, inputOffsets, packed, /*compileLoops=*/false);
    const Schedule schedule = planned.schedule();
    c += "#define NABLA_HAS_HVP 1\n";
    c += Writer(program.graph, schedule, program.hvp, inputOffsets, packed, "hvp", 1).write(out);
  }
  c += "#include \"program.c\"\n";
  out.c = std::move(c);
  out.includes = {{"kernels.h", kKernelsHeader},
                  {"kernels.c", kKernelsSource},
                  {"program.h", kProgramHeader},
                  {"program.c", kProgramSource}};
  out.libraries = {NABLA_AOT_BLAS};
  return out;
}

}  // namespace nabla::array
