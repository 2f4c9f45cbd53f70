#include "codegen/tape.h"

#include "support/number.h"

#include <algorithm>
#include <queue>
#include <stdexcept>

namespace nabla::codegen {

Tape buildTape(const Graph &graph, std::span<const NodeId> roots) {
  for (NodeId r : roots)
    if (!r.valid() || r.index >= graph.size())
      throw std::logic_error("buildTape: a root that is not a node of the graph");

  Tape tape;
  std::vector<NodeId> order = graph.reachable(std::vector<NodeId>(roots.begin(), roots.end()));
  if (order.empty()) return tape;

  // Slot of each node over the reachable prefix of the graph: one forward loop, children first.
  std::vector<std::uint32_t> slotOf(order.back().index + 1, Tape::kNoSlot);
  tape.entries.reserve(order.size());
  tape.lastUse.assign(order.size(), 0);
  for (NodeId id : order) {
    const Node &n = graph[id];
    Tape::Entry e;
    e.node = id;
    e.op = n.op;
    if (n.op == Op::Const) e.constant = n.value;
    if (n.op == Op::Var) e.symbol = n.symbol;
    const auto slot = static_cast<std::uint32_t>(tape.entries.size());
    for (int k = 0; k < arity(n.op); ++k) {
      std::uint32_t s = slotOf[n.args[k].index];
      if (s == Tape::kNoSlot) throw std::logic_error("buildTape: an argument after its user");
      e.args[k] = s;
      tape.lastUse[s] = slot;
    }
    slotOf[id.index] = slot;
    tape.entries.push_back(e);
  }
  tape.roots.reserve(roots.size());
  for (NodeId r : roots) {
    tape.roots.push_back(slotOf[r.index]);
    tape.lastUse[slotOf[r.index]] = Tape::kLiveOut;
  }
  return tape;
}

Tape buildTape(const Graph &graph, std::span<const NodeId> roots, std::span<const SymbolId> args,
               const std::string &what) {
  // Argument index of each graph symbol (kNoSlot: not an argument).
  std::vector<std::uint32_t> argIndex(graph.symbolCount(), Tape::kNoSlot);
  for (std::size_t k = 0; k < args.size(); ++k) {
    if (args[k] >= graph.symbolCount())
      throw CodegenError(what + ": argument " + std::to_string(k) + " is not a symbol of the graph");
    if (argIndex[args[k]] != Tape::kNoSlot)
      throw CodegenError(what + ": symbol '" + graph.symbolName(args[k]) + "' is two arguments");
    argIndex[args[k]] = static_cast<std::uint32_t>(k);
  }
  for (NodeId r : roots)
    if (!r.valid() || r.index >= graph.size()) throw CodegenError(what + " has a root outside the graph");
  Tape tape = buildTape(graph, roots);
  for (Tape::Entry &e : tape.entries) {
    if (e.op != Op::Var) continue;
    if (e.symbol >= argIndex.size() || argIndex[e.symbol] == Tape::kNoSlot)
      throw CodegenError(what + " uses '" + graph.symbolName(e.symbol) +
                         "', which is not one of its arguments");
    e.argument = argIndex[e.symbol];
  }
  return tape;
}

namespace {

/// A tape as fusedMultiplyAdd reads it: slots for nodes.
struct TapeDag {
  const Tape &tape;
  Op op(std::uint32_t s) const { return tape.entries[s].op; }
  std::uint32_t arg(std::uint32_t s, int k) const { return tape.entries[s].args[k]; }
  bool isTwo(std::uint32_t s) const { return op(s) == Op::Const && tape.entries[s].constant == 2; }
};

} // namespace

Tape fuseMultiplyAdds(const Tape &tape) {
  const std::size_t n = tape.size();
  std::vector<Tape::Entry> fused(tape.entries);
  for (std::uint32_t s = 0; s < n; ++s)
    if (auto f = fusedMultiplyAdd(TapeDag{tape}, s)) {
      fused[s].op = f->op;
      fused[s].args = {f->a, f->b, f->c};
    }
  // What the roots still need, in one backward pass (operands come before their readers).
  std::vector<char> needed(n, 0);
  for (std::uint32_t r : tape.roots) needed[r] = 1;
  for (std::size_t i = n; i-- > 0;)
    if (needed[i])
      for (std::uint32_t a : fused[i].args)
        if (a != Tape::kNoSlot) needed[a] = 1;

  Tape out;
  std::vector<std::uint32_t> slotOf(n, Tape::kNoSlot);
  for (std::size_t i = 0; i < n; ++i) {
    if (!needed[i]) continue;
    Tape::Entry e = fused[i];
    for (std::uint32_t &a : e.args)
      if (a != Tape::kNoSlot) a = slotOf[a];
    slotOf[i] = static_cast<std::uint32_t>(out.entries.size());
    out.entries.push_back(e);
  }
  out.lastUse.assign(out.entries.size(), 0);
  for (std::size_t i = 0; i < out.entries.size(); ++i)
    for (std::uint32_t a : out.entries[i].args)
      if (a != Tape::kNoSlot) out.lastUse[a] = static_cast<std::uint32_t>(i);
  for (std::uint32_t r : tape.roots) {
    out.roots.push_back(slotOf[r]);
    out.lastUse[slotOf[r]] = Tape::kLiveOut;
  }
  return out;
}

Tape codeTape(const Tape &tape, bool fastMath) {
  return fastMath ? balanceSums(tape) : fuseMultiplyAdds(tape);
}

Tape balanceSums(const Tape &tape) {
  const std::size_t n = tape.size();
  std::vector<std::uint32_t> uses(n, 0);
  for (const Tape::Entry &e : tape.entries)
    for (std::uint32_t a : e.args)
      if (a != Tape::kNoSlot) ++uses[a];
  for (std::uint32_t r : tape.roots) ++uses[r];
  // An addition read once, by another addition, dissolves into that one's terms.
  std::vector<char> absorbed(n, 0);
  for (const Tape::Entry &e : tape.entries)
    if (e.op == Op::Add)
      for (int k = 0; k < 2; ++k)
        if (tape.entries[e.args[k]].op == Op::Add && uses[e.args[k]] == 1) absorbed[e.args[k]] = 1;

  // The terms of every sum that gets rebalanced (a head: an addition not absorbed, with more than
  // two terms), found without recursion.
  struct Sum {
    std::vector<std::uint32_t> terms;                      // old slots, in tape order
    std::vector<std::pair<std::uint32_t, std::uint32_t>> partial;  // (new slot, term count)
  };
  std::vector<Sum> sums;
  std::vector<std::int64_t> sumOf(n, -1);
  std::vector<std::vector<std::uint32_t>> termOf(n);  // old slot -> the sums it is a term of
  std::vector<std::uint32_t> stack;
  for (std::size_t i = 0; i < n; ++i) {
    const Tape::Entry &e = tape.entries[i];
    if (absorbed[i] || e.op != Op::Add) continue;
    Sum sum;
    stack.assign({e.args[1], e.args[0]});
    while (!stack.empty()) {
      std::uint32_t s = stack.back();
      stack.pop_back();
      if (absorbed[s]) {
        stack.push_back(tape.entries[s].args[1]);
        stack.push_back(tape.entries[s].args[0]);
      } else {
        sum.terms.push_back(s);
      }
    }
    if (sum.terms.size() <= 2) continue;
    std::sort(sum.terms.begin(), sum.terms.end());
    sumOf[i] = static_cast<std::int64_t>(sums.size());
    for (std::uint32_t t : sum.terms) termOf[t].push_back(static_cast<std::uint32_t>(sums.size()));
    sums.push_back(std::move(sum));
  }

  Tape out;
  out.entries.reserve(n);
  std::vector<std::uint32_t> slotOf(n, Tape::kNoSlot);
  auto addEntry = [&](const Tape::Entry &e) {
    out.entries.push_back(e);
    return static_cast<std::uint32_t>(out.entries.size() - 1);
  };
  auto addSum = [&](const Tape::Entry &like, std::uint32_t a, std::uint32_t b) {
    Tape::Entry sum = like;
    sum.op = Op::Add;
    sum.args = {a, b, Tape::kNoSlot};
    return addEntry(sum);
  };
  for (std::size_t i = 0; i < n; ++i) {
    const Tape::Entry &e = tape.entries[i];
    if (absorbed[i]) continue;
    if (sumOf[i] >= 0) {
      // The rest of the sum: the partial sums left, largest first.
      auto &partial = sums[static_cast<std::size_t>(sumOf[i])].partial;
      std::uint32_t total = partial.back().first;
      for (std::size_t k = partial.size() - 1; k-- > 0;) total = addSum(e, partial[k].first, total);
      slotOf[i] = total;
    } else {
      Tape::Entry copy = e;
      for (std::uint32_t &a : copy.args)
        if (a != Tape::kNoSlot) a = slotOf[a];
      slotOf[i] = addEntry(copy);
    }
    // Pairwise summation as the terms become available (a binary counter): partial sums of equal
    // size are added at once, so at most log2(terms) of them are live.
    for (std::uint32_t k : termOf[i]) {
      auto &partial = sums[k].partial;
      partial.emplace_back(slotOf[i], 1);
      while (partial.size() >= 2 && partial[partial.size() - 1].second == partial[partial.size() - 2].second) {
        auto [b, size] = partial.back();
        partial.pop_back();
        partial.back() = {addSum(tape.entries[i], partial.back().first, b), size * 2};
      }
    }
  }
  out.roots.reserve(tape.roots.size());
  for (std::uint32_t r : tape.roots) out.roots.push_back(slotOf[r]);
  out.lastUse.assign(out.entries.size(), 0);
  for (std::size_t i = 0; i < out.entries.size(); ++i)
    for (std::uint32_t a : out.entries[i].args)
      if (a != Tape::kNoSlot) out.lastUse[a] = static_cast<std::uint32_t>(i);
  for (std::uint32_t r : out.roots) out.lastUse[r] = Tape::kLiveOut;
  return out;
}

namespace {

/// lastUse of every slot of a tape whose entries and roots are set.
void computeLastUse(Tape &tape) {
  tape.lastUse.assign(tape.entries.size(), 0);
  for (std::size_t i = 0; i < tape.entries.size(); ++i)
    for (std::uint32_t a : tape.entries[i].args)
      if (a != Tape::kNoSlot) tape.lastUse[a] = static_cast<std::uint32_t>(i);
  for (std::uint32_t r : tape.roots) tape.lastUse[r] = Tape::kLiveOut;
}

}  // namespace

Tape scheduleForRegisters(const Tape &tape) {
  const std::size_t n = tape.size();
  auto leaf = [&](std::uint32_t s) {
    const Op op = tape.entries[s].op;
    return op == Op::Const || op == Op::Var;
  };
  // The distinct computed (non-leaf) operands of each entry, and the users of each slot.
  std::vector<std::array<std::uint32_t, 3>> operands(n);
  std::vector<std::uint8_t> operandCount(n, 0);
  std::vector<std::uint32_t> userStart(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::uint32_t a : tape.entries[i].args) {
      if (a == Tape::kNoSlot || leaf(a)) continue;
      bool seen = false;
      for (std::uint8_t k = 0; k < operandCount[i]; ++k) seen = seen || operands[i][k] == a;
      if (seen) continue;
      operands[i][operandCount[i]++] = a;
      ++userStart[a + 1];
    }
  }
  for (std::size_t s = 0; s < n; ++s) userStart[s + 1] += userStart[s];
  std::vector<std::uint32_t> users(userStart[n]);
  {
    std::vector<std::uint32_t> fill(userStart.begin(), userStart.end() - 1);
    for (std::size_t i = 0; i < n; ++i)
      for (std::uint8_t k = 0; k < operandCount[i]; ++k)
        users[fill[operands[i][k]]++] = static_cast<std::uint32_t>(i);
  }
  std::vector<std::uint32_t> unscheduledUsers(n), pending(n);
  for (std::size_t s = 0; s < n; ++s) {
    unscheduledUsers[s] = userStart[s + 1] - userStart[s];
    pending[s] = operandCount[s];
  }

  constexpr std::uint32_t kUnplaced = Tape::kNoSlot;
  std::vector<std::uint32_t> newSlot(n, kUnplaced);
  Tape out;
  out.entries.reserve(n);
  auto place = [&](std::uint32_t s) {
    Tape::Entry e = tape.entries[s];
    for (std::uint32_t &a : e.args)
      if (a != Tape::kNoSlot) a = newSlot[a];
    newSlot[s] = static_cast<std::uint32_t>(out.entries.size());
    out.entries.push_back(e);
  };

  // Ready entries by (operands whose last user this is, latest operand position, earliest slot).
  struct Ready {
    std::uint32_t kills;
    std::int64_t latest;
    std::uint32_t slot;
    bool operator<(const Ready &o) const {
      if (kills != o.kills) return kills < o.kills;
      if (latest != o.latest) return latest < o.latest;
      return slot > o.slot;
    }
  };
  auto priority = [&](std::uint32_t s) {
    Ready r{0, -1, s};
    for (std::uint8_t k = 0; k < operandCount[s]; ++k) {
      const std::uint32_t a = operands[s][k];
      if (unscheduledUsers[a] == 1) ++r.kills;
      r.latest = std::max<std::int64_t>(r.latest, newSlot[a]);
    }
    return r;
  };
  std::priority_queue<Ready> ready;
  for (std::uint32_t s = 0; s < n; ++s)
    if (!leaf(s) && pending[s] == 0) ready.push(priority(s));
  while (!ready.empty()) {
    const Ready top = ready.top();
    ready.pop();
    const std::uint32_t s = top.slot;
    if (newSlot[s] != kUnplaced) continue;  // an older entry of a slot pushed again
    if (priority(s).kills != top.kills) continue;  // a fresher entry is in the queue
    for (std::uint32_t a : tape.entries[s].args)
      if (a != Tape::kNoSlot && newSlot[a] == kUnplaced) place(a);  // a leaf, first used here
    place(s);
    for (std::uint8_t k = 0; k < operandCount[s]; ++k) {
      const std::uint32_t a = operands[s][k];
      if (--unscheduledUsers[a] != 1) continue;
      // One user of `a` is left: if it is ready, taking it now ends a's life.
      for (std::uint32_t u = userStart[a]; u < userStart[a + 1]; ++u) {
        const std::uint32_t w = users[u];
        if (newSlot[w] == kUnplaced) {
          if (pending[w] == 0) ready.push(priority(w));
          break;
        }
      }
    }
    for (std::uint32_t u = userStart[s]; u < userStart[s + 1]; ++u)
      if (--pending[users[u]] == 0) ready.push(priority(users[u]));
  }
  // Leaves that nothing computed reads (roots, or read only by leaves: none), in tape order.
  for (std::uint32_t s = 0; s < n; ++s)
    if (newSlot[s] == kUnplaced) place(s);
  out.roots.reserve(tape.roots.size());
  for (std::uint32_t r : tape.roots) out.roots.push_back(newSlot[r]);
  computeLastUse(out);
  return out;
}

std::string printTape(const Graph &graph, const Tape &tape) {
  std::string out;
  for (std::size_t i = 0; i < tape.entries.size(); ++i) {
    const Tape::Entry &e = tape.entries[i];
    out += '%' + std::to_string(i) + " = ";
    const Node &n = graph[e.node];
    switch (e.op) {
    case Op::Const: {
      out += "const " + formatNumber(n.value);
      break;
    }
    case Op::Var:
      out += "var " + graph.symbolName(n.symbol);
      break;
    default:
      out += opName(e.op);
      for (int k = 0; k < arity(e.op); ++k) out += " %" + std::to_string(e.args[k]);
      break;
    }
    out += '\n';
  }
  out += "roots";
  for (std::uint32_t r : tape.roots) out += " %" + std::to_string(r);
  out += '\n';
  return out;
}

}  // namespace nabla::codegen
