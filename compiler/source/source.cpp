#include "source/source.h"

#include <llvm/ADT/StringRef.h>
#include <llvm/Support/SourceMgr.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>

namespace nabla {

std::pair<unsigned, unsigned> SourceBuffer::lineColumn(std::uint32_t offset) const {
  if (offset > text_.size()) offset = static_cast<std::uint32_t>(text_.size());
  unsigned line = firstLine_;
  std::size_t lineStart = 0;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text_[i] == '\n') {
      ++line;
      lineStart = i + 1;
    }
  }
  return {line, static_cast<unsigned>(offset - lineStart + 1)};
}

Diagnostic &DiagnosticSink::error(SourceRange range, std::string message) {
  ++errorCount_;
  diagnostics_.push_back({Severity::Error, range, std::move(message), {}, false});
  return diagnostics_.back();
}

Diagnostic &DiagnosticSink::warning(SourceRange range, std::string message) {
  diagnostics_.push_back({Severity::Warning, range, std::move(message), {}, false});
  return diagnostics_.back();
}

Diagnostic &DiagnosticSink::add(Diagnostic diagnostic) {
  if (diagnostic.severity == Severity::Error) ++errorCount_;
  diagnostics_.push_back(std::move(diagnostic));
  return diagnostics_.back();
}

namespace {

/// The echoed text must be safe for a terminal and keep the caret aligned, so every byte that is
/// not printable ASCII becomes one `?` (a tab becomes a space). The message itself names the
/// offending character precisely.
std::string sanitizeForEcho(const std::string &text) {
  std::string out = text;
  for (char &c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '\n' || c == '\r') continue;
    if (c == '\t') c = ' ';
    else if (u < 0x20 || u >= 0x7f) c = '?';
  }
  return out;
}

llvm::SourceMgr::DiagKind kindOf(Severity s) {
  switch (s) {
  case Severity::Error: return llvm::SourceMgr::DK_Error;
  case Severity::Warning: return llvm::SourceMgr::DK_Warning;
  case Severity::Note: return llvm::SourceMgr::DK_Note;
  }
  return llvm::SourceMgr::DK_Error;
}

}  // namespace

std::string renderDiagnostics(const DiagnosticSink &sink, bool color) {
  ExcerptBudget budget;
  return renderDiagnostics(sink, color, budget);
}

std::string renderDiagnostics(const DiagnosticSink &sink, bool color, ExcerptBudget &budget) {
  const SourceBuffer &buffer = sink.buffer();
  const std::string &text = buffer.text();
  const std::string name = escapeForTerminal(buffer.name());
  const llvm::SourceMgr mgr;  // SMDiagnostic wants one; the line is given to it directly

  std::string out;
  llvm::raw_string_ostream os(out);
  if (color) os.enable_colors(true);
  // `name:line:col: kind: message` alone (SourceMgr's colours: a diagnostic without a line number
  // prints its file name, here with the position in it, and no source).
  auto printFirstLine = [&](Severity severity, std::uint32_t at, const std::string &message) {
    auto [line, column] = buffer.lineColumn(at);
    const std::string where = name + ":" + std::to_string(line) + ":" + std::to_string(column);
    llvm::SMDiagnostic(where, kindOf(severity), message).print(nullptr, os, color);
  };
  // Only the line of each diagnostic is looked at and copied: rendering costs the size of the
  // lines shown, not of the buffer.
  auto print = [&](Severity severity, SourceRange range, const std::string &rawMessage, bool echo) {
    // Messages may quote names from outside (a path, a column): never raw control characters.
    const std::string message = escapeForTerminal(rawMessage, true);
    if (!range.valid()) {
      llvm::SMDiagnostic(name, kindOf(severity), message).print(nullptr, os, color);
      return;
    }
    const std::size_t size = text.size();
    const std::size_t begin = std::min<std::size_t>(range.begin, size);
    if (!echo) {
      printFirstLine(severity, static_cast<std::uint32_t>(begin), message);
      return;
    }
    std::size_t lineStart = begin;
    while (lineStart > 0 && text[lineStart - 1] != '\n' && text[lineStart - 1] != '\r')
      --lineStart;
    // The line ends at its line break (a CRLF's CR included, or the underline would run one
    // column past the echoed text); the underline stays within it.
    std::size_t lineEnd = text.find_first_of("\r\n", begin);
    if (lineEnd == std::string::npos)
      lineEnd = size;
    const std::size_t end = std::min<std::size_t>(std::max<std::size_t>(range.end, begin), lineEnd);
    const std::size_t column = begin - lineStart, length = lineEnd - lineStart;
    if (length <= kMaxExcerptBytes) {
      const std::string line = sanitizeForEcho(text.substr(lineStart, length));
      llvm::SmallVector<std::pair<unsigned, unsigned>, 1> ranges;
      if (end > begin + 1)
        ranges.push_back({static_cast<unsigned>(column), static_cast<unsigned>(end - lineStart)});
      const unsigned lineNumber = buffer.lineColumn(static_cast<std::uint32_t>(begin)).first;
      llvm::SMDiagnostic(mgr, llvm::SMLoc(), name, static_cast<int>(lineNumber),
                         static_cast<int>(column), kindOf(severity), message, line, ranges)
          .print(nullptr, os, color);
      return;
    }
    // A long line: kMaxExcerptBytes of it around the caret, the cut ends marked `...`.
    printFirstLine(severity, static_cast<std::uint32_t>(begin), message);
    const std::size_t from = column < kMaxExcerptBytes / 2
                                 ? 0
                                 : std::min(column - kMaxExcerptBytes / 2, length - kMaxExcerptBytes);
    const std::size_t to = from + kMaxExcerptBytes;
    const std::size_t shift = from > 0 ? 3 : 0;  // the leading `...`
    std::string shown = (from > 0 ? "..." : "") +
                        sanitizeForEcho(text.substr(lineStart + from, kMaxExcerptBytes)) +
                        (to < length ? "..." : "");
    std::string caret(column - from + shift, ' ');
    caret += '^';
    const std::size_t underlineEnd = std::min<std::size_t>(end - lineStart, to);
    for (std::size_t c = column + 1; c < underlineEnd; ++c) caret += '~';
    os << shown << '\n';
    if (color) os.changeColor(llvm::raw_ostream::GREEN, true);
    os << caret;
    if (color) os.resetColor();
    os << '\n';
  };
  for (const Diagnostic &d : sink.diagnostics()) {
    bool echo;
    if (d.severity == Severity::Note) {
      echo = d.range.valid() && budget.lastEchoed;
    } else {
      echo = d.range.valid() && budget.left > 0;
      if (echo) --budget.left;
      budget.lastEchoed = echo;
    }
    print(d.severity, d.range, d.message, echo);
    for (const DiagnosticNote &n : d.notes) {
      bool sameLocation = !n.range.valid() || (n.range.begin == d.range.begin && n.range.end == d.range.end);
      if (!sameLocation || !d.range.valid()) {
        print(Severity::Note, n.range, n.message, echo);
        continue;
      }
      // A note about the very spot just shown ("did you mean ...?") is one line, not the source again.
      auto [line, column] = buffer.lineColumn(d.range.begin);
      if (color) os.changeColor(llvm::raw_ostream::SAVEDCOLOR, true);
      os << name << ':' << line << ':' << column << ": ";
      if (color) os.changeColor(llvm::raw_ostream::BLACK, true);
      os << "note: ";
      if (color) os.changeColor(llvm::raw_ostream::SAVEDCOLOR, true);
      os << escapeForTerminal(n.message, true) << '\n';
      if (color) os.resetColor();
    }
  }
  os.flush();
  return out;
}

}  // namespace nabla
