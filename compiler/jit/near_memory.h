// Memory for compiled code near the program's own code. An indirect call from the program into
// code gigabytes away is slower than a call to code a few hundred megabytes away (the seed
// function's value and gradient went from 3.04 to 2.47 ns per call, bench/RESULTS.md), so the
// JIT maps its code just below the main executable when that address range is free, and
// wherever the system puts it otherwise.
#pragma once

#include <cstddef>
#include <memory>

namespace llvm::orc {
class MemoryMapper;
}

namespace nabla::jit {

/// mmap(PROT_READ | PROT_WRITE) of `bytes` (a multiple of the page size), near the main
/// executable where the system allows it; nullptr (errno set) when no memory could be mapped.
void *mapNearProgram(std::size_t bytes);

/// ORC's in-process memory mapper, with reservations from mapNearProgram.
std::unique_ptr<llvm::orc::MemoryMapper> makeNearMemoryMapper();

}  // namespace nabla::jit
