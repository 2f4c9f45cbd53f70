#include "codegen/baseline_x86.h"

#include "graph/libm.h"

#include <bit>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <stdexcept>

namespace nabla::codegen {

namespace {

// General-purpose registers by their encoding number.
enum Gpr : std::uint8_t { RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7,
                          R12 = 12, R13 = 13, R14 = 14, R15 = 15 };

// Register roles in the generated code (callee-saved, so that they survive libm calls):
//   rbx  the frame (one double per tape slot)      rbp  the arguments
//   r13  the output array                          r14  the frame again if it is on the heap
//   r15  the return value while the frame is freed
constexpr Gpr kFrame = RBX, kArgs = RBP, kOut = R13, kHeap = R14, kResult = R15;

// cmpsd predicates.
enum Cmp : std::uint8_t { EQ = 0, LT = 1, LE = 2, UNORD = 3, NEQ = 4, NLT = 5, NLE = 6, ORD = 7 };

/// A minimal x86-64 assembler: exactly the instructions the baseline needs, in legacy SSE2
/// encoding (every x86-64 CPU has it). Memory operands are [base + disp32].
class Assembler {
public:
  std::vector<std::uint8_t> code;

  void byte(std::uint8_t b) { code.push_back(b); }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) byte(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) byte(static_cast<std::uint8_t>(v >> (8 * i)));
  }

  /// REX prefix when needed: w (64-bit), r (ModRM.reg high bit), b (ModRM.rm / base high bit).
  void rex(bool w, unsigned reg, unsigned rm) {
    std::uint8_t r = 0x40 | (w ? 8 : 0) | ((reg & 8) ? 4 : 0) | ((rm & 8) ? 1 : 0);
    if (r != 0x40) byte(r);
  }
  /// ModRM (and SIB) for [base + disp32].
  void memory(unsigned reg, Gpr base, std::int32_t disp) {
    byte(static_cast<std::uint8_t>(0x80 | ((reg & 7) << 3) | (base & 7)));
    if ((base & 7) == 4) byte(0x24);  // rsp or r12 as base needs a SIB byte
    u32(static_cast<std::uint32_t>(disp));
  }
  void registers(unsigned reg, unsigned rm) { byte(static_cast<std::uint8_t>(0xC0 | ((reg & 7) << 3) | (rm & 7))); }

  /// prefix [rex] 0F op, xmm <- [base + disp]
  void sseMem(std::uint8_t prefix, std::uint8_t op, unsigned xmm, Gpr base, std::int32_t disp) {
    byte(prefix);
    rex(false, xmm, base);
    byte(0x0F);
    byte(op);
    memory(xmm, base, disp);
  }
  void sseReg(std::uint8_t prefix, std::uint8_t op, unsigned dst, unsigned src) {
    byte(prefix);
    byte(0x0F);
    byte(op);
    registers(dst, src);
  }

  void loadSd(unsigned xmm, Gpr base, std::int32_t disp) { sseMem(0xF2, 0x10, xmm, base, disp); }
  void storeSd(Gpr base, std::int32_t disp, unsigned xmm) { sseMem(0xF2, 0x11, xmm, base, disp); }
  void addSd(unsigned d, unsigned s) { sseReg(0xF2, 0x58, d, s); }
  void mulSd(unsigned d, unsigned s) { sseReg(0xF2, 0x59, d, s); }
  void subSd(unsigned d, unsigned s) { sseReg(0xF2, 0x5C, d, s); }
  void divSd(unsigned d, unsigned s) { sseReg(0xF2, 0x5E, d, s); }
  void sqrtSd(unsigned d, unsigned s) { sseReg(0xF2, 0x51, d, s); }
  void andPd(unsigned d, unsigned s) { sseReg(0x66, 0x54, d, s); }
  void andnPd(unsigned d, unsigned s) { sseReg(0x66, 0x55, d, s); }  // d = ~d & s
  void orPd(unsigned d, unsigned s) { sseReg(0x66, 0x56, d, s); }
  void xorPd(unsigned d, unsigned s) { sseReg(0x66, 0x57, d, s); }
  void movPd(unsigned d, unsigned s) { sseReg(0x66, 0x28, d, s); }
  void cmpSd(unsigned d, unsigned s, Cmp predicate) {
    sseReg(0xF2, 0xC2, d, s);
    byte(predicate);
  }
  /// roundsd (SSE4.1): mode 9 rounds toward -inf without raising inexact: floor.
  void roundSd(unsigned d, unsigned s, std::uint8_t mode) {
    byte(0x66);
    byte(0x0F);
    byte(0x3A);
    byte(0x0B);
    registers(d, s);
    byte(mode);
  }
  void movqXmmGpr(unsigned xmm, Gpr g) {  // movq xmm, r64
    byte(0x66);
    rex(true, xmm, g);
    byte(0x0F);
    byte(0x6E);
    registers(xmm, g);
  }
  void movqGprXmm(Gpr g, unsigned xmm) {  // movq r64, xmm
    byte(0x66);
    rex(true, xmm, g);
    byte(0x0F);
    byte(0x7E);
    registers(xmm, g);
  }
  void movImm(Gpr g, std::uint64_t v) {
    rex(true, 0, g);
    byte(static_cast<std::uint8_t>(0xB8 + (g & 7)));
    u64(v);
  }
  void load(Gpr g, Gpr base, std::int32_t disp) {
    rex(true, g, base);
    byte(0x8B);
    memory(g, base, disp);
  }
  void store(Gpr base, std::int32_t disp, Gpr g) {
    rex(true, g, base);
    byte(0x89);
    memory(g, base, disp);
  }
  void mov(Gpr dst, Gpr src) {
    rex(true, src, dst);
    byte(0x89);
    registers(src, dst);
  }
  /// bt family with an immediate bit: 5 = bts, 6 = btr, 7 = btc.
  void bitOp(unsigned kind, Gpr g, std::uint8_t bit) {
    rex(true, 0, g);
    byte(0x0F);
    byte(0xBA);
    registers(kind, g);
    byte(bit);
  }
  void call(Gpr g) {
    rex(false, 0, g);
    byte(0xFF);
    registers(2, g);
  }
  void push(Gpr g) {
    rex(false, 0, g);
    byte(static_cast<std::uint8_t>(0x50 + (g & 7)));
  }
  void pop(Gpr g) {
    rex(false, 0, g);
    byte(static_cast<std::uint8_t>(0x58 + (g & 7)));
  }
  void subRsp(std::uint32_t v) {
    byte(0x48);
    byte(0x81);
    registers(5, RSP);
    u32(v);
  }
  void addRsp(std::uint32_t v) {
    byte(0x48);
    byte(0x81);
    registers(0, RSP);
    u32(v);
  }
  /// or qword [rsp + disp], 0: touches a page of a new stack frame.
  void probe(std::int32_t disp) {
    byte(0x48);
    byte(0x83);
    memory(1, RSP, disp);
    byte(0);
  }
  void testSelf(Gpr g) {
    rex(true, g, g);
    byte(0x85);
    registers(g, g);
  }
  /// jz rel32 with the displacement to patch later; returns where it is.
  std::size_t jzForward() {
    byte(0x0F);
    byte(0x84);
    u32(0);
    return code.size() - 4;
  }
  void patch(std::size_t at) {
    const auto rel = static_cast<std::uint32_t>(code.size() - (at + 4));
    for (int i = 0; i < 4; ++i) code[at + i] = static_cast<std::uint8_t>(rel >> (8 * i));
  }
  void ret() { byte(0xC3); }
};

using Unary = double (*)(double);
using Binary = double (*)(double, double);
using Ternary = double (*)(double, double, double);

// The C library functions evalOp calls (graph/libm.h), taken at this process's addresses.
std::uint64_t address(Unary f) { return reinterpret_cast<std::uint64_t>(f); }
std::uint64_t address(Binary f) { return reinterpret_cast<std::uint64_t>(f); }
std::uint64_t address(Ternary f) { return reinterpret_cast<std::uint64_t>(f); }

/// The function of a NABLA_LIBM op (ops.def).
std::uint64_t libmAddress(Op op) {
  const LibmFunction &f = libmFunction(op);
  return f.unary ? address(f.unary) : address(f.binary);
}

bool hasSse41() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  return __builtin_cpu_supports("sse4.1");
#else
  return false;
#endif
}

constexpr std::uint64_t bits(double v) { return std::bit_cast<std::uint64_t>(v); }

/// Emits one entry point.
class BaselineEmitter {
public:
  BaselineEmitter(Assembler &a, bool sse41, std::uint64_t maxSlots)
      : a_(a), sse41_(sse41), maxSlots_(maxSlots) {}

  void emit(const TapeEntryPoint &entry) {
    const Tape tape = fuseMultiplyAdds(entry.tape);  // the interpreter's arithmetic
    const std::uint64_t slots = std::max<std::size_t>(tape.size(), 1);
    if (slots > maxSlots_)
      throw CodegenLimitError("entry point '" + entry.name + "' has " + std::to_string(slots) +
                              " tape entries, more than the " + std::to_string(maxSlots_) +
                              " that the baseline code generator addresses");
    const bool onHeap = slots * 8 > kMaxStackBytes;

    for (Gpr g : {RBX, RBP, R12, R13, R14, R15}) a_.push(g);  // rsp = 8 mod 16 now
    a_.mov(kArgs, RDI);
    a_.mov(kOut, RSI);
    std::uint32_t frameBytes = 8;  // keeps rsp 16-byte aligned for the calls
    std::size_t failJump = 0;
    if (!onHeap) {
      frameBytes = static_cast<std::uint32_t>((slots * 8 + 15) / 16 * 16 + 8);
      a_.subRsp(frameBytes);
      // Touch the new frame page by page from the top, so that it never skips a guard page.
      for (std::uint32_t off = 4096; off < frameBytes; off += 4096)
        a_.probe(static_cast<std::int32_t>(frameBytes - off));
      a_.mov(kFrame, RSP);
    } else {
      a_.subRsp(frameBytes);
      a_.movImm(RDI, slots * 8);
      a_.movImm(RAX, reinterpret_cast<std::uint64_t>(&std::malloc));
      a_.call(RAX);
      a_.testSelf(RAX);
      failJump = a_.jzForward();
      a_.mov(kFrame, RAX);
      a_.mov(kHeap, RAX);
    }

    for (std::size_t i = 0; i < tape.size(); ++i) emitEntry(tape, i);

    // Outputs last: every argument has been read by now.
    const bool returns = entry.kind != EntryKind::Array;
    const std::size_t first = returns ? 1 : 0;
    for (std::size_t r = first; r < tape.roots.size(); ++r) {
      a_.load(RAX, kFrame, slot(tape.roots[r]));
      a_.store(kOut, static_cast<std::int32_t>(8 * (r - first)), RAX);
    }
    if (returns) a_.load(kResult, kFrame, slot(tape.roots[0]));
    if (onHeap) {
      a_.mov(RDI, kHeap);
      a_.movImm(RAX, reinterpret_cast<std::uint64_t>(&std::free));
      a_.call(RAX);
    }
    epilogue(returns, frameBytes);

    if (onHeap) {
      // No frame: every output is NaN, which the runtime reports like any other NaN.
      a_.patch(failJump);
      a_.movImm(kResult, bits(std::numeric_limits<double>::quiet_NaN()));
      for (std::size_t r = first; r < tape.roots.size(); ++r)
        a_.store(kOut, static_cast<std::int32_t>(8 * (r - first)), kResult);
      epilogue(returns, frameBytes);
    }
  }

private:
  static constexpr std::uint64_t kMaxStackBytes = 64 * 1024;

  static std::int32_t slot(std::uint32_t s) { return static_cast<std::int32_t>(8 * s); }

  void epilogue(bool returns, std::uint32_t frameBytes) {
    if (returns) a_.movqXmmGpr(0, kResult);
    a_.addRsp(frameBytes);
    for (Gpr g : {R15, R14, R13, R12, RBP, RBX}) a_.pop(g);
    a_.ret();
  }

  void load(unsigned xmm, std::uint32_t s) { a_.loadSd(xmm, kFrame, slot(s)); }
  void store(std::uint32_t s, unsigned xmm) { a_.storeSd(kFrame, slot(s), xmm); }
  void constant(unsigned xmm, double v) {
    if (bits(v) == 0) {
      a_.xorPd(xmm, xmm);
      return;
    }
    a_.movImm(RAX, bits(v));
    a_.movqXmmGpr(xmm, RAX);
  }
  /// xmm = (mask & yes) | (~mask & no); clobbers `mask` and `yes`.
  void select(unsigned mask, unsigned yes, unsigned no) {
    a_.andPd(yes, mask);
    a_.andnPd(mask, no);
    a_.orPd(mask, yes);
  }
  void callUnary(std::uint64_t fn) {
    a_.movImm(RAX, fn);
    a_.call(RAX);
  }
  /// xmm<xmm> = -(slot s), by flipping the sign bit as the other tiers' fneg does.
  void loadNegated(unsigned xmm, std::uint32_t s) {
    a_.load(RAX, kFrame, slot(s));
    a_.bitOp(7, RAX, 63);  // btc: flip the sign bit
    a_.movqXmmGpr(xmm, RAX);
  }
  /// xmm0 = -|slot s| (the argument of exp in sigmoid, softplus and logaddexp).
  void negativeAbs(std::uint32_t s) {
    a_.load(RAX, kFrame, slot(s));
    a_.bitOp(5, RAX, 63);  // bts: set the sign bit
    a_.movqXmmGpr(0, RAX);
  }

  void emitEntry(const Tape &tape, std::size_t i) {
    const Tape::Entry &e = tape.entries[i];
    const std::uint32_t d = static_cast<std::uint32_t>(i);
    const std::uint32_t x = e.args[0], y = e.args[1], z = e.args[2];
    switch (e.op) {
    case Op::Const:
      a_.movImm(RAX, bits(e.constant));
      a_.store(kFrame, slot(d), RAX);
      return;
    case Op::Var:
      if (e.argument == Tape::kNoSlot) throw std::logic_error("baseline: a variable that is not bound");
      a_.load(RAX, kArgs, static_cast<std::int32_t>(8 * e.argument));
      a_.store(kFrame, slot(d), RAX);
      return;
    case Op::Neg:
    case Op::Abs:
      a_.load(RAX, kFrame, slot(x));
      a_.bitOp(e.op == Op::Neg ? 7 : 6, RAX, 63);  // btc / btr on the sign bit
      a_.store(kFrame, slot(d), RAX);
      return;
    case Op::Add:
    case Op::Sub:
    case Op::Mul:
    case Op::Div:
      load(0, x);
      load(1, y);
      if (e.op == Op::Add) a_.addSd(0, 1);
      if (e.op == Op::Sub) a_.subSd(0, 1);
      if (e.op == Op::Mul) a_.mulSd(0, 1);
      if (e.op == Op::Div) a_.divSd(0, 1);
      store(d, 0);
      return;
    case Op::Sqrt:
      load(1, x);
      a_.sqrtSd(0, 1);
      store(d, 0);
      return;
    case Op::Floor:
      load(0, x);
      if (sse41_)
        a_.roundSd(0, 0, 9);
      else
        callUnary(address(static_cast<Unary>(std::floor)));
      store(d, 0);
      return;
    // A call of the C function (NABLA_LIBM in ops.def): arguments in xmm0 and xmm1.
#define NABLA_LIBM(name, arity, spelling, builtin, flags, function) case Op::name:
#include "graph/ops.def"
      load(0, x);
      if (arity(e.op) == 2) load(1, y);
      callUnary(libmAddress(e.op));
      store(d, 0);
      return;
    case Op::Fma:
    case Op::Fms:
    case Op::Fnma:
      // The C library's fma, which rounds once like the instruction (glibc uses it where the CPU
      // has it): fma(a, b, c), fma(a, b, -c), fma(-a, b, c).
      if (e.op == Op::Fnma) loadNegated(0, x);
      else load(0, x);
      load(1, y);
      if (e.op == Op::Fms) loadNegated(2, z);
      else load(2, z);
      callUnary(address(static_cast<Ternary>(std::fma)));
      store(d, 0);
      return;
    case Op::Lt:
    case Op::Le:
    case Op::Gt:
    case Op::Ge:
    case Op::Eq:
    case Op::Ne: {
      // truth(a OP b): an all-ones or all-zeros mask, and-ed with 1.0. Gt and Ge swap operands.
      const bool swap = e.op == Op::Gt || e.op == Op::Ge;
      const Cmp p = e.op == Op::Lt || e.op == Op::Gt ? LT
                    : e.op == Op::Le || e.op == Op::Ge ? LE
                    : e.op == Op::Eq                  ? EQ
                                                      : NEQ;  // unordered: NaN != anything
      load(0, swap ? y : x);
      load(1, swap ? x : y);
      a_.cmpSd(0, 1, p);
      constant(2, 1.0);
      a_.andPd(0, 2);
      store(d, 0);
      return;
    }
    case Op::And:
    case Op::Or:
      // (a != 0) && (b != 0), NaN counting as true.
      constant(2, 0.0);
      load(0, x);
      a_.cmpSd(0, 2, NEQ);
      load(1, y);
      a_.cmpSd(1, 2, NEQ);
      if (e.op == Op::And) a_.andPd(0, 1);
      else a_.orPd(0, 1);
      constant(2, 1.0);
      a_.andPd(0, 2);
      store(d, 0);
      return;
    case Op::Not:
      // NaN stays NaN; otherwise truth(a == 0).
      load(0, x);
      a_.movPd(1, 0);
      constant(3, 0.0);
      a_.cmpSd(1, 3, EQ);
      constant(3, 1.0);
      a_.andPd(1, 3);       // truth(a == 0)
      a_.movPd(2, 0);
      a_.cmpSd(2, 2, UNORD);  // NaN mask
      select(2, 0, 1);
      store(d, 2);
      return;
    case Op::Where:
      // c != 0 (NaN true) ? b : x
      load(0, x);
      constant(3, 0.0);
      a_.cmpSd(0, 3, NEQ);
      load(1, y);
      load(2, z);
      select(0, 1, 2);
      store(d, 0);
      return;
    case Op::Min:
    case Op::Max: {
      // isnan(a) || isnan(b) ? a + b : (a <= b ? a : b)   (max: a >= b, that is b <= a)
      load(0, x);
      load(1, y);
      if (e.op == Op::Min) {
        a_.movPd(2, 0);
        a_.cmpSd(2, 1, LE);
      } else {
        a_.movPd(2, 1);
        a_.cmpSd(2, 0, LE);
      }
      a_.movPd(3, 0);
      select(2, 3, 1);  // xmm2 = chosen
      a_.movPd(4, 0);
      a_.addSd(4, 1);   // a + b
      a_.movPd(5, 0);
      a_.cmpSd(5, 1, UNORD);
      select(5, 4, 2);
      store(d, 5);
      return;
    }
    case Op::Relu:
      // a > 0 or NaN: a; otherwise +0. NLE(a, 0) is true for both.
      load(0, x);
      a_.movPd(1, 0);
      constant(2, 0.0);
      a_.cmpSd(1, 2, NLE);
      a_.andPd(0, 1);
      store(d, 0);
      return;
    case Op::Sign:
      // a > 0 ? 1 : (a < 0 ? -1 : a), which keeps ±0 and NaN.
      load(0, x);
      constant(1, 0.0);
      a_.cmpSd(1, 0, LT);  // 0 < a
      a_.movPd(2, 0);
      constant(3, 0.0);
      a_.cmpSd(2, 3, LT);  // a < 0
      a_.movPd(4, 1);
      constant(3, 1.0);
      a_.andPd(4, 3);
      a_.movPd(5, 2);
      constant(3, -1.0);
      a_.andPd(5, 3);
      a_.orPd(4, 5);       // ±1 where a is not zero or NaN
      a_.orPd(1, 2);       // either mask
      a_.andnPd(1, 0);     // a where neither
      a_.orPd(4, 1);
      store(d, 4);
      return;
    case Op::Sigmoid: {
      // e = exp(-|a|); a >= 0 ? 1/(1 + e) : e/(1 + e)   (as evalOp: exp(-a) or exp(a))
      negativeAbs(x);
      callUnary(libmAddress(Op::Exp));
      constant(1, 1.0);
      a_.movPd(2, 1);
      a_.addSd(2, 0);      // 1 + e
      a_.divSd(1, 2);      // 1 / (1 + e)
      a_.divSd(0, 2);      // e / (1 + e)
      constant(3, 0.0);
      load(4, x);
      a_.cmpSd(3, 4, LE);  // 0 <= a
      select(3, 1, 0);
      store(d, 3);
      return;
    }
    case Op::Softplus:
      // l = log1p(exp(-|a|)); a > 0 ? a + l : l
      negativeAbs(x);
      callUnary(libmAddress(Op::Exp));
      callUnary(libmAddress(Op::Log1p));
      load(1, x);
      a_.movPd(2, 1);
      a_.addSd(2, 0);      // a + l
      constant(3, 0.0);
      a_.cmpSd(3, 1, LT);  // 0 < a
      select(3, 2, 0);
      store(d, 3);
      return;
    case Op::LogAddExp:
      // NaN in: a + b. m = a >= b ? a : b; |m| = inf: m; else m + log1p(exp(-|a - b|)).
      load(0, x);
      load(1, y);
      a_.subSd(0, 1);
      a_.movqGprXmm(RAX, 0);
      a_.bitOp(5, RAX, 63);
      a_.movqXmmGpr(0, RAX);
      callUnary(libmAddress(Op::Exp));
      callUnary(libmAddress(Op::Log1p));  // xmm0 = tail
      load(1, x);
      load(2, y);
      a_.movPd(3, 2);
      a_.cmpSd(3, 1, LE);  // b <= a
      a_.movPd(4, 1);
      select(3, 4, 2);     // xmm3 = m
      a_.movPd(5, 3);
      a_.addSd(5, 0);      // m + tail
      a_.movPd(6, 3);
      constant(7, std::bit_cast<double>(std::uint64_t{0x7fffffffffffffff}));
      a_.andPd(6, 7);      // |m|
      constant(7, std::numeric_limits<double>::infinity());
      a_.cmpSd(6, 7, EQ);  // |m| == inf
      a_.movPd(7, 3);
      select(6, 7, 5);     // xmm6 = not-NaN result
      a_.movPd(4, 1);
      a_.addSd(4, 2);      // a + b
      a_.movPd(5, 1);
      a_.cmpSd(5, 2, UNORD);
      select(5, 4, 6);
      store(d, 5);
      return;
    }
    throw std::logic_error("baseline: no code for op " + std::string(opName(e.op)));
  }

  Assembler &a_;
  bool sse41_;
  std::uint64_t maxSlots_;  // kBaselineMaxSlots, or lower (tests)
};

}  // namespace

bool baselineSupported() {
#if defined(__x86_64__) && defined(__linux__)
  return true;
#else
  return false;
#endif
}

MachineCode emitBaseline(std::span<const TapeEntryPoint> entries, std::uint64_t maxSlots) {
  if (!baselineSupported()) throw CodegenError("the baseline code generator needs x86-64");
  Assembler a;
  BaselineEmitter emitter(a, hasSse41(), std::min(maxSlots, kBaselineMaxSlots));
  MachineCode out;
  for (const TapeEntryPoint &entry : entries) {
    while (a.code.size() % 16) a.byte(0xCC);  // each entry point on a 16-byte boundary
    out.offsets.push_back(a.code.size());
    emitter.emit(entry);
  }
  out.bytes = std::move(a.code);
  return out;
}

}  // namespace nabla::codegen
