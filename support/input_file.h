// Reading the files nabla is given — models, CSV data, params files, checkpoints — through one
// reader: it refuses what is not a regular file (a directory, a FIFO, a device such as
// /dev/zero, a socket) before reading a byte, checks the size against a cap before reading, and
// reads in bounded chunks, so that no file makes nabla read without end or hold more than the
// cap. The caps of the files that no option sizes are here too, and the JSON check that runs
// before any JSON parser sees a file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace nabla {

/// The most bytes of a JSON file nabla reads (params files, checkpoints).
inline constexpr std::uint64_t kMaxJsonBytes = std::uint64_t{256} << 20;
/// The deepest nesting of arrays and objects in those files (nabla writes at most 4 levels).
inline constexpr unsigned kMaxJsonDepth = 64;
/// The most bytes of one CSV record (a row, quoted line breaks included).
inline constexpr std::size_t kMaxCsvRecordBytes = std::size_t{16} << 20;
/// The most cells of one CSV record.
inline constexpr std::size_t kMaxCsvColumns = std::size_t{1} << 20;
/// The size of one read.
inline constexpr std::size_t kInputChunkBytes = std::size_t{64} << 10;

/// A file that cannot be read. The message is complete and starts lower-case; a path in it is
/// quoted and safe for a terminal.
class InputError : public std::runtime_error {
public:
  enum class Kind {
    Io,        // missing, unreadable, a directory, not a regular file
    TooLarge,  // more bytes than the cap
    Malformed, // its content breaks a rule checked before parsing (nesting, numbers)
  };
  InputError(Kind kind, const std::string &message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const noexcept { return kind_; }

private:
  Kind kind_;
};

/// An open regular file. `what` names what it should be in messages ("a CSV file").
class InputFile {
public:
  /// Opens `path` (without blocking, should it be a FIFO) and checks it before reading: a
  /// regular file of at most `maxBytes` bytes. Throws InputError: Io, or TooLarge with the
  /// message "cannot read 'P': it is N bytes, more than the limit of M bytes" and, when
  /// `raiseHint` is given, " (raise it with HINT)".
  InputFile(const std::string &path, std::string_view what, std::uint64_t maxBytes = UINT64_MAX,
            std::string_view raiseHint = {});
  ~InputFile();
  InputFile(const InputFile &) = delete;
  InputFile &operator=(const InputFile &) = delete;
  InputFile(InputFile &&other) noexcept;

  const std::string &path() const { return path_; }
  /// The size when it was opened.
  std::uint64_t size() const { return size_; }
  std::uint64_t maxBytes() const { return maxBytes_; }
  /// Up to `n` bytes from `offset` into `out` (fewer only at the end of the file); the file's
  /// position is not used, so reads may come in any order. Throws InputError(Io) on a read error.
  std::size_t readAt(std::uint64_t offset, char *out, std::size_t n) const;
  /// The whole file in chunks, never more than maxBytes: a file that grew past the cap since it
  /// was opened is TooLarge.
  std::string readAll() const;

private:
  std::string path_;
  std::string raiseHint_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::uint64_t maxBytes_ = 0;
};

/// `'path'`, safe for a terminal: how messages name a file.
std::string quotedPath(std::string_view path);

/// Where a JSON text breaks one of the rules checked before parsing, 1-based.
struct JsonProblem {
  std::size_t line = 1;
  std::size_t column = 1;
  std::string message;
};
/// Checks a JSON text in one pass, without recursion, before a parser sees it: arrays and
/// objects nest at most `maxDepth` levels, and every number is one readDecimal accepts (a number
/// that overflows, or underflows to zero or a subnormal, is refused). Strings and their escapes
/// are skipped; the rest of the syntax is the parser's to check. Lines count from `firstLine`.
std::optional<JsonProblem> checkJson(std::string_view text, unsigned maxDepth = kMaxJsonDepth,
                                     std::size_t firstLine = 1);

/// checkJson, as an error: throws InputError(Malformed) "PATH:LINE:COL: MESSAGE" for a problem.
void requireJson(std::string_view path, std::string_view text, std::size_t firstLine = 1);

}  // namespace nabla
