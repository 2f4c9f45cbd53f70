// A linear schedule of the nodes that some roots need: what code generation walks (and what
// `--dump=tape` shows). No LLVM here.
#pragma once

#include "graph/graph.h"

#include <array>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace nabla::codegen {

/// Input problems of code generation (a root that uses a symbol that is not an argument, an entry
/// point with the wrong number of roots, a name defined twice).
class CodegenError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};
/// A size beyond what a code generator can take (a frame of more slots than it addresses): a
/// limit of the input, not a bug. The message names the entry point and its size.
class CodegenLimitError : public CodegenError {
public:
  using CodegenError::CodegenError;
};

/// The nodes reachable from a list of roots, in increasing NodeId (hence topological) order, each
/// given a dense slot number: entry i of the tape computes slot i from smaller slots only. A tape
/// is self-contained (constants and argument positions are copied into it), so code can be
/// generated from it after the graph is gone, as the JIT's background compiles do.
struct Tape {
  static constexpr std::uint32_t kNoSlot = UINT32_MAX;
  /// Slot that is a root: live until the end of the tape.
  static constexpr std::uint32_t kLiveOut = UINT32_MAX;

  struct Entry {
    NodeId node;                       // the graph node this slot computes
    Op op = Op::Const;
    std::array<std::uint32_t, 3> args{kNoSlot, kNoSlot, kNoSlot};  // argument slots; unused: kNoSlot
    double constant = 0;       // Op::Const: the value
    SymbolId symbol = 0;       // Op::Var: the graph symbol
    std::uint32_t argument = kNoSlot;  // Op::Var: its position in the argument order, if bound
  };

  std::vector<Entry> entries;
  /// The slot of each root, in the order the roots were given (a node may be a root several times).
  std::vector<std::uint32_t> roots;
  /// For each slot, the index of the last entry that reads it; kLiveOut for roots. A slot that is
  /// neither read nor a root cannot occur (the tape holds only reachable nodes).
  std::vector<std::uint32_t> lastUse;

  std::size_t size() const { return entries.size(); }
};

/// Builds the tape of `roots` (every root must be a node of `graph`; throws std::logic_error
/// otherwise). Linear in the size of the graph prefix below the highest root; no recursion.
Tape buildTape(const Graph &graph, std::span<const NodeId> roots);

/// The same, with every Var entry bound to its position in `args` (the argument order of the code
/// to generate). Throws CodegenError, naming `what`, when a variable is not an argument, when an
/// argument is not a symbol of the graph or when a symbol is two arguments.
Tape buildTape(const Graph &graph, std::span<const NodeId> roots, std::span<const SymbolId> args,
               const std::string &what);

/// Every addition or subtraction with a product operand becomes the fused multiply-add that the
/// interpreter evaluates (fusedMultiplyAdd in graph.h): Fma, Fms or Fnma of the product's operands
/// and the other operand, computing the same node. A product left with no reader is dropped.
/// Every code generator applies it (codeTape). Linear, no recursion.
Tape fuseMultiplyAdds(const Tape &tape);

/// Fast math only (it changes rounding): every maximal tree of additions whose inner sums are used
/// nowhere else becomes a balanced tree over the same terms in the same order, so that a long sum
/// costs logarithmic rather than linear latency. Roots keep their order; no recursion.
Tape balanceSums(const Tape &tape);

/// What code is generated from: the tape with its multiply-adds fused (IEEE mode), or with fast
/// math its long sums balanced (balanceSums) and nothing fused: LLVM contracts by itself there,
/// and our explicit fused ops made it schedule the Rosenbrock-100 gradient with 30% more
/// instructions, most of them spills (`nabla ir --grad --asm --fast-math`).
Tape codeTape(const Tape &tape, bool fastMath);

/// The same entries in an order that keeps few values live at once, for straight-line code: a
/// list schedule that takes, among the entries whose operands are computed, the one that ends the
/// most operands' lives, then the one whose operands were computed last (so that a gradient's
/// terms follow the forward values they read), then the earliest in the tape. Leaves (constants,
/// variables) are placed just before their first user. The values are the same, bit for bit:
/// only independent entries change places. O(n log n), no recursion.
Tape scheduleForRegisters(const Tape &tape);

/// One line per entry, `%3 = sin %1`, `%0 = var x`, `%1 = const 0.5`, then `roots %3 %5`: for dumps
/// and tests. Constants are printed so that they read back to the same double.
std::string printTape(const Graph &graph, const Tape &tape);

}  // namespace nabla::codegen
