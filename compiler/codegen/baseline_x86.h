// The baseline code generator: x86-64 machine code straight from a tape, in one pass, for the
// first tier of the JIT. Every tape slot lives in a frame of doubles and every entry becomes a few
// instructions that load its operands, compute and store the result; there is no register
// allocation, no scheduling and no LLVM, so a function of 10^5 entries is ready in milliseconds.
// The code is several times slower than LLVM's; the JIT replaces it with LLVM's optimized code
// from its background thread (jit/compiled_function.h).
//
// The entry points have the C ABI of codegen/emit_llvm.h (Value, ValueAndGrad, Array) and the
// arithmetic of evalOp op for op: the same C library functions, called at the addresses this
// process resolves, and IEEE operations in the same order, so results equal the interpreter's bit
// for bit. No LLVM here.
#pragma once

#include "codegen/emit_llvm.h"

#include <cstdint>
#include <vector>

namespace nabla::codegen {

/// Whether this build runs on x86-64 (System V), the only target of the baseline generator.
bool baselineSupported();

/// Machine code for several entry points, position-independent except for the absolute addresses
/// of the C library functions it calls. offsets[i] is where entry point i starts in `bytes`.
struct MachineCode {
  std::vector<std::uint8_t> bytes;
  std::vector<std::size_t> offsets;
};

/// The most tape entries (frame slots) of one entry point: slots are addressed by 32-bit
/// displacements of 8 bytes each, so the frame stays within 1 GiB.
inline constexpr std::uint64_t kBaselineMaxSlots = std::uint64_t{1} << 27;

/// Emits every entry point (their tapes bound to argument positions) one after another. Throws
/// CodegenError when the generator is not supported here, and CodegenLimitError (naming the entry
/// point and its size) for an entry point of more than `maxSlots` tape entries (lowered by tests).
MachineCode emitBaseline(std::span<const TapeEntryPoint> entries,
                         std::uint64_t maxSlots = kBaselineMaxSlots);

}  // namespace nabla::codegen
