// Source buffers, positions and diagnostics: what every stage reports problems with.
#pragma once

#include "support/text.h"  // closestName

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nabla {

/// A half-open byte range [begin, end) in one SourceBuffer. An empty range marks a point.
struct SourceRange {
  static constexpr std::uint32_t kNone = UINT32_MAX;
  std::uint32_t begin = kNone;
  std::uint32_t end = kNone;
  bool valid() const { return begin != kNone; }
  static SourceRange of(std::uint32_t b, std::uint32_t e) { return {b, e < b ? b : e}; }
  static SourceRange point(std::uint32_t at) { return {at, at}; }
  /// The smallest range covering both (either may be unset).
  static SourceRange join(SourceRange a, SourceRange b) {
    if (!a.valid()) return b;
    if (!b.valid()) return a;
    return {a.begin < b.begin ? a.begin : b.begin, a.end > b.end ? a.end : b.end};
  }
};

/// The text of one input (a file, a command-line expression, or standard input), kept byte for
/// byte: NUL bytes and invalid UTF-8 are part of the text and are diagnosed, never truncated.
class SourceBuffer {
public:
  /// `firstLine`: the line number of the text's first line, when the text is a piece of a longer
  /// input (the REPL's one statement of a script).
  SourceBuffer(std::string name, std::string text, unsigned firstLine = 1)
      : name_(std::move(name)), text_(std::move(text)), firstLine_(firstLine ? firstLine : 1) {}
  const std::string &name() const { return name_; }
  const std::string &text() const { return text_; }
  unsigned firstLine() const { return firstLine_; }
  /// 1-based line and column (in bytes) of an offset.
  std::pair<unsigned, unsigned> lineColumn(std::uint32_t offset) const;

private:
  std::string name_;
  std::string text_;
  unsigned firstLine_ = 1;
};

enum class Severity { Error, Warning, Note };

struct DiagnosticNote {
  SourceRange range;  // may be unset: then the note is printed without a location
  std::string message;
};

/// One problem in the input. Messages start lower-case and have no final period.
struct Diagnostic {
  Severity severity = Severity::Error;
  SourceRange range;
  std::string message;
  std::vector<DiagnosticNote> notes;
  /// The input is beyond a limit (its size, nesting, nodes, array elements) rather than wrong.
  bool limit = false;
};

/// Collects diagnostics for one buffer. Stages report here and never print or exit.
class DiagnosticSink {
public:
  explicit DiagnosticSink(const SourceBuffer &buffer, std::size_t maxErrors = 20)
      : buffer_(&buffer), maxErrors_(maxErrors) {}
  const SourceBuffer &buffer() const { return *buffer_; }

  Diagnostic &error(SourceRange range, std::string message);
  Diagnostic &warning(SourceRange range, std::string message);
  /// Any diagnostic, as it is (an error counts as one).
  Diagnostic &add(Diagnostic diagnostic);
  bool hasErrors() const { return errorCount_ > 0; }
  std::size_t errorCount() const { return errorCount_; }
  /// True when enough errors were reported that further ones would only be noise.
  bool full() const { return errorCount_ >= maxErrors_; }
  const std::vector<Diagnostic> &diagnostics() const { return diagnostics_; }

private:
  const SourceBuffer *buffer_;
  std::size_t maxErrors_;
  std::size_t errorCount_ = 0;
  std::vector<Diagnostic> diagnostics_;
};

/// The source a rendering echoes is capped, since the text may be any file (`:load /etc/passwd`):
/// only the first kMaxSourceExcerpts located diagnostics (with their notes) show their source
/// line, and a line is shown at most kMaxExcerptBytes wide, cut around the caret with `...`.
inline constexpr std::size_t kMaxSourceExcerpts = 3;
inline constexpr std::size_t kMaxExcerptBytes = 300;
/// How many more diagnostics may show their source line: one budget shared by renderings that
/// are shown together (the REPL renders one fragment at a time).
/// A note rendered on its own (a note of the diagnostic before it, in another buffer) shows its
/// line when that diagnostic did, and costs nothing.
struct ExcerptBudget {
  std::size_t left = kMaxSourceExcerpts;
  bool lastEchoed = false;  // whether the last diagnostic other than a note showed its line
};

/// Renders diagnostics as `file:line:col: error: message`, the source line and a caret under the
/// range (LLVM's SourceMgr format), within the caps above; diagnostics past them are the first
/// line only. Bytes that are not printable ASCII in the echoed line are shown as `?`, so that a
/// terminal is never fed raw control characters.
std::string renderDiagnostics(const DiagnosticSink &sink, bool color = false);
std::string renderDiagnostics(const DiagnosticSink &sink, bool color, ExcerptBudget &budget);


}  // namespace nabla
