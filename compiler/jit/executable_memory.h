// Pages of machine code made by nabla itself (the baseline tier, codegen/baseline_x86.h): written
// while writable, then made executable and read-only (never both at once). No LLVM here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace nabla::jit {

class ExecutableMemory {
public:
  ExecutableMemory() = default;
  /// Copies `code` into fresh pages and makes them executable. Throws JitError (jit/target.h)
  /// when the system refuses.
  explicit ExecutableMemory(std::span<const std::uint8_t> code);
  ~ExecutableMemory();
  ExecutableMemory(ExecutableMemory &&other) noexcept;
  ExecutableMemory &operator=(ExecutableMemory &&other) noexcept;
  ExecutableMemory(const ExecutableMemory &) = delete;
  ExecutableMemory &operator=(const ExecutableMemory &) = delete;

  /// The address of byte `offset` of the code.
  void *at(std::size_t offset) const { return static_cast<std::uint8_t *>(base_) + offset; }
  std::size_t size() const { return size_; }

private:
  void release();
  void *base_ = nullptr;
  std::size_t size_ = 0;  // bytes mapped
};

}  // namespace nabla::jit
