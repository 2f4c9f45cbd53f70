// One process's rows of a CSV file (data-parallel fit): the file cut at line ends.
#include "runtime/data/internal.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace nabla::data {

namespace {

/// Calls `start(k, offset)` for the offset of each record k (0-based) of [begin, end) of the
/// source, a record being a line (`\n`, `\r\n` or `\r` ends it); false, having stopped, at the
/// first double quote.
template <class Start>
bool forEachLine(const CsvSource &source, std::uint64_t begin, std::uint64_t end, Start &&start) {
  constexpr std::size_t kChunk = std::size_t{1} << 20;
  std::vector<char> buffer(kChunk);
  std::size_t k = 0;
  if (begin < end) start(k++, begin);
  bool cr = false; // the byte before was '\r': a '\n' now ends the same line
  for (std::uint64_t pos = begin; pos < end;) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, end - pos));
    const std::size_t got = source.readAt(pos, buffer.data(), want);
    if (got == 0) throw DataError("the file became shorter while it was read");
    if (std::memchr(buffer.data(), '"', got)) return false;
    for (std::size_t i = 0; i < got; ++i) {
      const char c = buffer[i];
      const std::uint64_t at = pos + i;
      if (cr) {
        cr = false;
        if (c == '\n') {
          if (at + 1 < end) start(k++, at + 1);
          continue;
        }
        start(k++, at); // a lone '\r' ended the line before this byte
      }
      if (c == '\r')
        cr = true;
      else if (c == '\n' && at + 1 < end)
        start(k++, at + 1);
    }
    pos += got;
  }
  return true;
}

} // namespace

std::optional<CsvShard> csvShard(const CsvFile &file, std::size_t rank, std::size_t size,
                                 std::size_t maxRows) {
  if (file.numpy || !file.source || size == 0 || file.bodyRow != 0) return std::nullopt;
  const std::uint64_t begin = file.bodyOffset, end = std::max(file.end, file.bodyOffset);
  std::size_t total = 0;
  try {
    if (!forEachLine(*file.source, begin, end, [&](std::size_t, std::uint64_t) { ++total; }))
      return std::nullopt;
  } catch (const DataError &e) {
    throw DataError(file.path + ": " + e.what());
  }
  if (total == 0 || total > maxRows) return std::nullopt;
  CsvShard shard;
  shard.total = total;
  shard.first = total * rank / size;
  const std::size_t last = total * (rank + 1) / size;
  shard.rows = last - shard.first;
  std::uint64_t from = end, to = end;
  (void)forEachLine(*file.source, begin, end, [&](std::size_t k, std::uint64_t offset) {
    if (k == shard.first) from = offset;
    if (k == last) to = offset;
  });
  shard.file = file;
  shard.file.bodyOffset = from;
  shard.file.end = to;
  shard.file.bodyLine = file.bodyLine + shard.first;
  shard.file.bodyRow = shard.first;
  return shard;
}

} // namespace nabla::data
