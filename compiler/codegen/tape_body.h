// The body of a tape as instructions: straight-line code, or for a long tape a sequence of internal
// part functions that pass values through a frame. Shared by the scalar entry points and the
// batched kernels (where every value is a vector of rows). Internal to codegen/ (includes LLVM).
#pragma once

#include "codegen/op_emitter.h"
#include "codegen/tape.h"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include <functional>
#include <span>
#include <string>
#include <vector>

namespace nabla::codegen {

/// Frames and scratch buffers up to this many bytes live on the stack; larger ones come from
/// malloc, so that no input can overflow a thread's stack.
inline constexpr std::uint64_t kMaxStackBytes = 64 * 1024;

/// What the code of a tape needs from the function it is emitted into.
struct BodyEnvironment {
  /// The values every part function receives (the enclosing function's pointers and counters),
  /// by type; the frame comes after them.
  std::vector<llvm::Type *> types;
  /// Loads the variable bound to argument position `argument`, given the current function's
  /// environment values.
  std::function<llvm::Value *(llvm::IRBuilder<> &, std::span<llvm::Value *const> env,
                              std::uint32_t argument)>
      loadVariable;
};

struct BodyOptions {
  std::size_t maxPartSize = 256;  // 0 or more than the tape: no parts
  bool fastMath = false;          // function attributes of the parts
  std::string partName;           // parts are `partName.part0`, `partName.part1`, ...
  /// Unsplit bodies: called after each computed (non-leaf) entry with its slot and value.
  std::function<void(std::uint32_t slot, llvm::Value *value)> computed;
  /// Unsplit bodies: read every variable before computing anything.
  bool variablesFirst = false;
};

/// The frame a split body needs: slot -> frame index (Tape::kNoSlot: not in the frame) and the
/// number of frame entries (values of the emitter's type). Empty when the tape is not split.
struct FrameLayout {
  std::vector<std::uint32_t> index;
  std::uint32_t size = 0;
  bool split = false;
};
/// A tape of at most max(splitAbove, maxPartSize) entries is not split.
FrameLayout layOutFrame(const Tape &tape, std::size_t maxPartSize, std::size_t splitAbove = 0);

/// Emits the tape at the builder's insertion point of the function it is in, and returns the value
/// of every root (in tape.roots order) there. `env` are the function's environment values (passed
/// on to the parts); `frame` points to layout.size values of emit.type() (nullptr unless split).
std::vector<llvm::Value *> emitTapeBody(llvm::Module &module, llvm::IRBuilder<> &b,
                                        const Tape &tape, OpEmitter &emit,
                                        const BodyEnvironment &environment,
                                        std::span<llvm::Value *const> env,
                                        const FrameLayout &layout, llvm::Value *frame,
                                        const BodyOptions &options);

/// A scratch buffer of `count` elements of `type`: on the stack when small, else from malloc.
/// For a heap buffer, the builder continues in a block reached only when malloc succeeded, and
/// `failed` is a new empty block for the caller to fill; `free` must then be called before
/// returning.
struct Scratch {
  llvm::Value *pointer = nullptr;
  llvm::FunctionCallee free;
  bool onHeap = false;
  llvm::BasicBlock *failed = nullptr;
};
Scratch allocateScratch(llvm::Module &module, llvm::IRBuilder<> &b, llvm::Type *type,
                        std::uint64_t count, const char *name);

/// The function attributes of fast math (when LLVM's `fast` flags are on).
void addFastMathAttributes(llvm::Function &fn);

}  // namespace nabla::codegen
