#include "jit/executable_memory.h"

#include "jit/near_memory.h"
#include "jit/target.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include <sys/mman.h>
#include <unistd.h>

namespace nabla::jit {

ExecutableMemory::ExecutableMemory(std::span<const std::uint8_t> code) {
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  size_ = (std::max<std::size_t>(code.size(), 1) + page - 1) / page * page;
  void *p = mapNearProgram(size_);
  if (!p) {
    size_ = 0;
    throw JitError(std::string("cannot map memory for code: ") + std::strerror(errno));
  }
  base_ = p;
  if (!code.empty()) std::memcpy(base_, code.data(), code.size());
  if (mprotect(base_, size_, PROT_READ | PROT_EXEC) != 0) {
    const int error = errno;
    release();
    throw JitError(std::string("cannot make code executable: ") + std::strerror(error));
  }
}

ExecutableMemory::~ExecutableMemory() { release(); }

ExecutableMemory::ExecutableMemory(ExecutableMemory &&other) noexcept
    : base_(std::exchange(other.base_, nullptr)), size_(std::exchange(other.size_, 0)) {}

ExecutableMemory &ExecutableMemory::operator=(ExecutableMemory &&other) noexcept {
  if (this != &other) {
    release();
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void ExecutableMemory::release() {
  if (base_) munmap(base_, size_);
  base_ = nullptr;
  size_ = 0;
}

}  // namespace nabla::jit
