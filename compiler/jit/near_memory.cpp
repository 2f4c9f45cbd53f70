#include "jit/near_memory.h"

#include <llvm/ExecutionEngine/Orc/MemoryMapper.h>
#include <llvm/ExecutionEngine/Orc/Shared/AllocationActions.h>
#include <llvm/ExecutionEngine/Orc/Shared/MemoryFlags.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/Memory.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <system_error>
#include <vector>

#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

namespace nabla::jit {

namespace {

/// The lowest address the main executable is mapped at (0 if unknown).
std::uintptr_t programStart() {
  static const std::uintptr_t start = [] {
    std::uintptr_t lowest = 0;
    // The first object dl_iterate_phdr reports is the main program.
    dl_iterate_phdr(
        [](dl_phdr_info *info, std::size_t, void *out) {
          std::uintptr_t low = UINTPTR_MAX;
          for (int k = 0; k < info->dlpi_phnum; ++k)
            if (info->dlpi_phdr[k].p_type == PT_LOAD)
              low = std::min<std::uintptr_t>(low, info->dlpi_addr + info->dlpi_phdr[k].p_vaddr);
          *static_cast<std::uintptr_t *>(out) = low == UINTPTR_MAX ? 0 : low;
          return 1;  // stop after the first
        },
        &lowest);
    return lowest;
  }();
  return start;
}

std::mutex hintMutex;
std::uintptr_t nextBelow = 0;  // the next hint: below everything mapped so far

}  // namespace

void *mapNearProgram(std::size_t bytes) {
  const std::uintptr_t start = programStart();
  void *hint = nullptr;
  {
    std::lock_guard lock(hintMutex);
    // Below the program, leaving a gap, and below what was mapped before; far enough from 0.
    const std::uintptr_t below = nextBelow != 0 ? nextBelow : start - (std::uintptr_t{16} << 20);
    constexpr std::uintptr_t kLowest = std::uintptr_t{1} << 32;
    if (start != 0 && below > bytes + kLowest) {
      const std::uintptr_t at = (below - bytes) & ~static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE) - 1);
      hint = reinterpret_cast<void *>(at);
    }
  }
  void *p = mmap(hint, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  if (hint && p == hint) {
    std::lock_guard lock(hintMutex);
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    if (nextBelow == 0 || at < nextBelow) nextBelow = at;
  }
  return p;
}

namespace {

using llvm::orc::ExecutorAddr;

/// llvm::orc::InProcessMemoryMapper's behaviour, reserving with mapNearProgram.
class NearMemoryMapper final : public llvm::orc::MemoryMapper {
public:
  NearMemoryMapper() : pageSize_(static_cast<unsigned>(sysconf(_SC_PAGESIZE))) {}
  ~NearMemoryMapper() override {
    std::vector<ExecutorAddr> all;
    {
      std::lock_guard lock(mutex_);
      for (const auto &[base, size] : reservations_) all.push_back(base);
    }
    release(all, [](llvm::Error e) { llvm::consumeError(std::move(e)); });
  }

  unsigned getPageSize() override { return pageSize_; }

  void reserve(std::size_t bytes, OnReservedFunction done) override {
    void *p = mapNearProgram(bytes);
    if (!p) return done(llvm::errorCodeToError(std::error_code(errno, std::generic_category())));
    const ExecutorAddr base = ExecutorAddr::fromPtr(p);
    {
      std::lock_guard lock(mutex_);
      reservations_[base] = bytes;
    }
    done(llvm::orc::ExecutorAddrRange(base, bytes));
  }

  char *prepare(ExecutorAddr address, std::size_t) override { return address.toPtr<char *>(); }

  void initialize(AllocInfo &info, OnInitializedFunction done) override {
    ExecutorAddr low(~0ull), high(0);
    for (const AllocInfo::SegInfo &segment : info.Segments) {
      const ExecutorAddr base = info.MappingBase + segment.Offset;
      const std::size_t size = segment.ContentSize + segment.ZeroFillSize;
      low = std::min(low, base);
      high = std::max(high, base + size);
      std::memset((base + segment.ContentSize).toPtr<void *>(), 0, segment.ZeroFillSize);
      if (std::error_code e = llvm::sys::Memory::protectMappedMemory(
              {base.toPtr<void *>(), size},
              llvm::orc::toSysMemoryProtectionFlags(segment.AG.getMemProt())))
        return done(llvm::errorCodeToError(e));
      if (static_cast<unsigned>(segment.AG.getMemProt()) & static_cast<unsigned>(llvm::orc::MemProt::Exec))
        llvm::sys::Memory::InvalidateInstructionCache(base.toPtr<void *>(), size);
    }
    llvm::Expected<std::vector<llvm::orc::shared::WrapperFunctionCall>> undo =
        llvm::orc::shared::runFinalizeActions(info.Actions);
    if (!undo) return done(undo.takeError());
    {
      std::lock_guard lock(mutex_);
      allocations_[low] = Allocation{static_cast<std::size_t>(high - low), std::move(*undo)};
    }
    done(low);
  }

  void deinitialize(llvm::ArrayRef<ExecutorAddr> bases, OnDeinitializedFunction done) override {
    llvm::Error error = llvm::Error::success();
    {
      std::lock_guard lock(mutex_);
      deinitializeLocked(bases, error);
    }
    // Outside the lock: the caller's callback takes the memory manager's lock, which is held
    // around reserve() (the other order).
    done(std::move(error));
  }

  void release(llvm::ArrayRef<ExecutorAddr> bases, OnReleasedFunction done) override {
    llvm::Error error = llvm::Error::success();
    for (ExecutorAddr base : bases) {
      std::size_t size = 0;
      {
        std::lock_guard lock(mutex_);
        auto it = reservations_.find(base);
        if (it == reservations_.end()) continue;
        size = it->second;
        reservations_.erase(it);
        std::vector<ExecutorAddr> inside;
        for (auto a = allocations_.lower_bound(base); a != allocations_.end() && a->first < base + size; ++a)
          inside.push_back(a->first);
        deinitializeLocked(inside, error);
      }
      if (munmap(base.toPtr<void *>(), size) != 0)
        error = llvm::joinErrors(std::move(error),
                                 llvm::errorCodeToError(std::error_code(errno, std::generic_category())));
    }
    done(std::move(error));
  }

private:
  /// Runs the allocations' deallocation actions and makes them read-write again, so that their
  /// ranges can take new code. Called with mutex_ held.
  void deinitializeLocked(llvm::ArrayRef<ExecutorAddr> bases, llvm::Error &error) {
    for (ExecutorAddr base : llvm::reverse(bases)) {
      auto it = allocations_.find(base);
      if (it == allocations_.end()) continue;
      if (llvm::Error e = llvm::orc::shared::runDeallocActions(it->second.undo))
        error = llvm::joinErrors(std::move(error), std::move(e));
      if (it->second.size > 0)
        if (std::error_code e = llvm::sys::Memory::protectMappedMemory(
                {base.toPtr<void *>(), it->second.size},
                llvm::sys::Memory::MF_READ | llvm::sys::Memory::MF_WRITE))
          error = llvm::joinErrors(std::move(error), llvm::errorCodeToError(e));
      allocations_.erase(it);
    }
  }

  struct Allocation {
    std::size_t size = 0;
    std::vector<llvm::orc::shared::WrapperFunctionCall> undo;
  };
  unsigned pageSize_;
  std::mutex mutex_;
  std::map<ExecutorAddr, std::size_t> reservations_;
  std::map<ExecutorAddr, Allocation> allocations_;
};

}  // namespace

std::unique_ptr<llvm::orc::MemoryMapper> makeNearMemoryMapper() {
  return std::make_unique<NearMemoryMapper>();
}

}  // namespace nabla::jit
