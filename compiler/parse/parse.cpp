// parseProgram: the size limit, a character pre-pass that also splits the text into statements
// and bounds bracket nesting, then the grammar (grammar/grammar.cpp) once per statement.
//
// Splitting first makes error recovery simple (a failed statement is dropped and parsing goes on at
// the next one) and means the grammar never sees a statement nested deeper than the limit, which
// is what bounds its recursion.
#include "parse/parse.h"

#include "grammar/grammar.h"
#include "parse/ast_builder.h"
#include "parse/characters.h"

#include <pthread.h>

#include <algorithm>
#include <exception>
#include <functional>
#include <string>
#include <vector>

namespace nabla {

namespace {

struct StatementSpan {
  std::uint32_t begin, end;
  bool skip;          // an error was already reported inside it (bad character, nesting)
  unsigned maxDepth;  // bracket nesting reached inside it
};

/// One pass over the text: reports characters outside the language (once per run of them) and
/// brackets nested deeper than the limit, and cuts statements at `;` and newlines outside brackets.
/// Comments are skipped whole: any text may appear in them.
std::vector<StatementSpan> scanStatements(const SourceBuffer &buffer, DiagnosticSink &sink,
                                          const ParseLimits &limits,
                                          const std::function<bool()> &stop) {
  const std::string &text = buffer.text();
  const std::uint32_t n = static_cast<std::uint32_t>(text.size());
  std::vector<StatementSpan> spans;
  std::uint32_t stmtBegin = 0;
  bool skip = false;
  unsigned depth = 0, maxDepth = 0;
  std::uint32_t i = 0;
  while (i < n && !stop()) {
    char c = text[i];
    if (c == '#') {
      while (i < n && text[i] != '\n') ++i;
      continue;
    }
    if ((c == '\n' || c == ';') && depth == 0) {
      spans.push_back({stmtBegin, i, skip, maxDepth});
      stmtBegin = i + 1;
      skip = false;
      maxDepth = 0;
      ++i;
      continue;
    }
    if (c == '(' || c == '[') {
      ++depth;
      if (depth > maxDepth) maxDepth = depth;
      if (depth > limits.maxNesting && !skip) {
        sink.error(SourceRange::of(i, i + 1), "nesting deeper than " +
                                                  std::to_string(limits.maxNesting) +
                                                  " levels (raise the limit with --max-nesting)")
            .limit = true;
        skip = true;
      }
    } else if (c == ')' || c == ']') {
      if (depth > 0) --depth;
    }
    if (parse::isSourceChar(c)) {
      ++i;
      continue;
    }
    // A run of characters that may not appear: one error, naming the first.
    std::uint32_t runBegin = i;
    parse::CharInfo first = parse::decodeChar(text, i);
    i += first.length;
    while (i < n && !parse::isSourceChar(text[i])) i += parse::decodeChar(text, i).length;
    SourceRange range = SourceRange::of(runBegin, i);
    Diagnostic &d = sink.error(range, parse::describeInvalid(first, text, runBegin));
    std::string hint = parse::lookalikeHint(first);
    if (!hint.empty())
      d.notes.push_back({SourceRange::of(runBegin, runBegin + first.length), hint});
    skip = true;
  }
  spans.push_back({stmtBegin, n, skip, maxDepth});
  return spans;
}

// Stack budget for the grammar per bracket level: about 1.2 KiB at -O2, several times that
// without optimization or under AddressSanitizer. Only reserved address space: pages are touched
// as the recursion goes.
// (NABLA_ASAN: defined by CMake in NABLA_SANITIZE builds.)
#if defined(NABLA_ASAN)
constexpr std::size_t kStackPerLevel = std::size_t{64} << 10;
#else
constexpr std::size_t kStackPerLevel = std::size_t{16} << 10;
#endif
constexpr std::size_t kStackBase = std::size_t{1} << 20;
constexpr unsigned kInlineDepth = 32;

/// Runs `work` on a new thread with a stack of `stackBytes` and waits for it; rethrows what it
/// threw. False if no such thread could be made.
bool runWithStack(std::size_t stackBytes, const std::function<void()> &work) {
  struct Job {
    const std::function<void()> *work;
    std::exception_ptr error;
  } job{&work, nullptr};
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) return false;
  bool ok = pthread_attr_setstacksize(&attr, stackBytes) == 0;
  pthread_t thread;
  ok = ok && pthread_create(
                 &thread, &attr,
                 [](void *arg) -> void * {
                   Job *j = static_cast<Job *>(arg);
                   try {
                     (*j->work)();
                   } catch (...) {
                     j->error = std::current_exception();
                   }
                   return nullptr;
                 },
                 &job) == 0;
  pthread_attr_destroy(&attr);
  if (!ok) return false;
  pthread_join(thread, nullptr);
  if (job.error) std::rethrow_exception(job.error);
  return true;
}

bool isBlankSpan(const std::string &text, StatementSpan span) {
  for (std::uint32_t i = span.begin; i < span.end; ++i) {
    char c = text[i];
    if (c == '#') {
      while (i < span.end && text[i] != '\n') ++i;
      continue;
    }
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

}  // namespace

std::optional<ast::Program> parseProgram(const SourceBuffer &buffer, DiagnosticSink &sink,
                                         const ParseOptions &options) {
  const std::string &text = buffer.text();
  // Offsets are 32-bit; the limit is checked before anything else looks at the text.
  const std::size_t hardLimit = std::size_t{UINT32_MAX} - 1;
  const std::size_t limit = std::min(options.limits.maxSourceBytes, hardLimit);
  if (text.size() > limit) {
    sink.error(SourceRange::point(0),
               "input is " + std::to_string(text.size()) + " bytes, more than the limit of " +
                   std::to_string(limit) + " (raise it with --max-source-bytes)")
        .limit = true;
    return std::nullopt;
  }
  const std::size_t errorsBefore = sink.errorCount();
  // Stop once this run has filled the sink (a sink that was full before still gets our first
  // error).
  auto stop = [&] { return sink.errorCount() > errorsBefore && sink.full(); };
  std::vector<StatementSpan> spans = scanStatements(buffer, sink, options.limits, stop);

  ast::Program program;
  parse::AstBuilder builder(program, text.data(), text.size());
  bool sawStatement = false;
  unsigned deepest = 0;
  for (const StatementSpan &span : spans)
    if (!span.skip && span.maxDepth > deepest) deepest = span.maxDepth;
  auto parseAll = [&] {
    for (const StatementSpan &span : spans) {
      if (stop()) break;
      if (isBlankSpan(text, span)) continue;
      sawStatement = true;
      if (span.skip) continue;
      parse::ParseError error;
      if (!grammar::parseStatement(builder, text.data() + span.begin, text.data() + span.end,
                                   options.allowBareExpression, error)) {
        Diagnostic &d = sink.error(error.range, std::move(error.message));
        d.notes = std::move(error.notes);
      }
    }
  };
  // The grammar recurses once per bracket level. Shallow input parses on the caller's stack
  // (whatever its size: a host's worker thread may have little); deeper input, up to the limit,
  // gets a thread whose stack fits the depth actually reached.
  if (deepest <= kInlineDepth) {
    parseAll();
  } else if (!runWithStack(kStackBase + std::size_t{deepest} * kStackPerLevel, parseAll)) {
    sink.error(SourceRange::point(0),
               "input nested " + std::to_string(deepest) +
                   " levels deep needs more stack than this system provides")
        .limit = true;
    return std::nullopt;
  }
  if (!sawStatement && options.allowBareExpression && sink.errorCount() == errorsBefore)
    sink.error(SourceRange::point(0), "empty expression");
  if (sink.errorCount() != errorsBefore) return std::nullopt;
  return program;
}

}  // namespace nabla
