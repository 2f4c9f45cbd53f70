// Source buffers, the diagnostic sink, the renderer and "did you mean" (compiler/source).
#include "source/source.h"

#include <catch2/catch.hpp>

using namespace nabla;

TEST_CASE("line and column of an offset", "[source]") {
  SourceBuffer b("f", "ab\ncd\r\n\nx");
  CHECK(b.lineColumn(0) == std::make_pair(1u, 1u));
  CHECK(b.lineColumn(1) == std::make_pair(1u, 2u));
  CHECK(b.lineColumn(2) == std::make_pair(1u, 3u));  // the newline itself
  CHECK(b.lineColumn(3) == std::make_pair(2u, 1u));
  CHECK(b.lineColumn(7) == std::make_pair(3u, 1u));
  CHECK(b.lineColumn(8) == std::make_pair(4u, 1u));
  CHECK(b.lineColumn(9) == std::make_pair(4u, 2u));    // end of the buffer
  CHECK(b.lineColumn(100) == std::make_pair(4u, 2u));  // clamped
}

TEST_CASE("the sink counts errors, not warnings, and knows when it is full", "[source]") {
  SourceBuffer b("f", "x");
  DiagnosticSink sink(b, 2);
  sink.warning(SourceRange::point(0), "a warning");
  CHECK(!sink.hasErrors());
  CHECK(!sink.full());
  sink.error(SourceRange::point(0), "one");
  CHECK(sink.hasErrors());
  CHECK(!sink.full());
  sink.error(SourceRange::point(0), "two").notes.push_back({SourceRange{}, "a note"});
  CHECK(sink.full());
  CHECK(sink.errorCount() == 2);
  REQUIRE(sink.diagnostics().size() == 3);
  CHECK(sink.diagnostics()[2].notes.size() == 1);
}

TEST_CASE("rendering: file:line:col, the line and a caret under the range", "[source]") {
  SourceBuffer b("model.nabla", "p = 1\nloss = sinh2(w * x) + b\n");
  DiagnosticSink sink(b);
  Diagnostic &d = sink.error(SourceRange::of(13, 18), "unknown function 'sinh2'");
  d.notes.push_back({SourceRange::of(13, 18), "did you mean 'sinh'?"});
  CHECK(renderDiagnostics(sink) ==
        "model.nabla:2:8: error: unknown function 'sinh2'\n"
        "loss = sinh2(w * x) + b\n"
        "       ^~~~~\n"
        "model.nabla:2:8: note: did you mean 'sinh'?\n");
}

TEST_CASE("rendering: points, unset ranges, notes without a range, warnings", "[source]") {
  SourceBuffer b("in", "x +");
  DiagnosticSink sink(b);
  sink.error(SourceRange::point(3), "expected expression after '+'");
  sink.warning(SourceRange::of(0, 1), "unused 'x'");
  sink.error(SourceRange{}, "no objective").notes.push_back({SourceRange{}, "add 'minimize ...'"});
  CHECK(renderDiagnostics(sink) ==
        "in:1:4: error: expected expression after '+'\n"
        "x +\n"
        "   ^\n"
        "in:1:1: warning: unused 'x'\n"
        "x +\n"
        "^\n"
        "in: error: no objective\n"
        "in: note: add 'minimize ...'\n");
}

TEST_CASE("rendering: the echoed line is safe for a terminal and the caret stays aligned", "[source]") {
  // A tab, an escape sequence, a NUL and a two-byte character before the error: each byte shows
  // as one column, so the caret still lands under 'y'.
  std::string text = std::string("\tx\x1b[0m\0\xc3\xa9 y", 11);
  SourceBuffer b("in", text);
  DiagnosticSink sink(b);
  sink.error(SourceRange::of(10, 11), "here");
  CHECK(renderDiagnostics(sink) ==
        "in:1:11: error: here\n"
        " x?[0m??? y\n"
        "          ^\n");
}

TEST_CASE("rendering: a range that runs past the line end is clipped to the line", "[source]") {
  SourceBuffer b("in", "ab\r\ncd\n");
  DiagnosticSink sink(b);
  sink.error(SourceRange::of(0, 6), "multi-line");
  sink.error(SourceRange::of(4, 100), "past the end");
  CHECK(renderDiagnostics(sink) ==
        "in:1:1: error: multi-line\n"
        "ab\n"
        "^~\n"
        "in:2:1: error: past the end\n"
        "cd\n"
        "^~\n");
}

TEST_CASE("rendering without colour has no escape codes", "[source]") {
  SourceBuffer b("in", "x");
  DiagnosticSink sink(b);
  sink.error(SourceRange::point(0), "bad");
  CHECK(renderDiagnostics(sink, false).find('\x1b') == std::string::npos);
}

TEST_CASE("closestName suggests near names and prefers case-only differences", "[source]") {
  const std::vector<std::string> builtins = {"exp", "log", "sqrt", "sin", "cos", "tan", "sinh",
                                             "cosh", "tanh", "sigmoid", "softplus", "tin"};
  CHECK(closestName("sinh2", builtins) == "sinh");
  CHECK(closestName("Sin", builtins) == "sin");  // "tin" is one edit away too
  CHECK(closestName("EXP", builtins) == "exp");
  CHECK(closestName("sigmod", builtins) == "sigmoid");
  CHECK(closestName("softpuls", builtins) == "softplus");
  CHECK(closestName("foo", builtins).empty());
  CHECK(closestName("sin", {"sin"}).empty());   // the name itself is no suggestion
  CHECK(closestName("x", {"y"}).empty());        // short names: no substitution guesses
  CHECK(closestName("wx", {"w"}) == "w");         // but a dropped or extra letter is one
  CHECK(closestName("ab", {}).empty());
  CHECK(closestName(std::string(100, 'a'), {std::string(99, 'a')}).empty());  // long names: no search
  // Ties go to the first candidate, so the output is deterministic.
  CHECK(closestName("cat", {"bat", "hat"}) == "bat");
}

TEST_CASE("renderer: source lines are echoed for the first three diagnostics only", "[source]") {
  std::string text;
  for (int i = 0; i < 8; ++i) text += "secret" + std::to_string(i) + " line\n";
  SourceBuffer buffer("f.txt", text);
  DiagnosticSink sink(buffer);
  for (std::uint32_t i = 0; i < 8; ++i) {
    Diagnostic &d = sink.error(SourceRange::point(static_cast<std::uint32_t>(text.find("secret" + std::to_string(i)))), "bad");
    d.notes.push_back({SourceRange::point(0), "first line"});
  }
  const std::string out = renderDiagnostics(sink);
  for (int i = 0; i < 8; ++i) {
    INFO(i);
    CHECK(out.find("f.txt:" + std::to_string(i + 1) + ":1: error: bad\n") != std::string::npos);
    // Lines 1-3 are shown (line 1 also for the notes of the first three); the rest never.
    CHECK((out.find("secret" + std::to_string(i) + " line") != std::string::npos) == (i < 3));
  }
  CHECK(out.find("f.txt:1:1: note: first line\nsecret0 line") != std::string::npos);
  // The budget carries over between renderings shown together.
  ExcerptBudget budget;
  SourceBuffer one("g.txt", "aaa\n");
  std::string joined;
  for (int i = 0; i < 5; ++i) {
    DiagnosticSink s(one);
    s.error(SourceRange::point(1), "again");
    joined += renderDiagnostics(s, false, budget);
  }
  CHECK(budget.left == 0);
  std::size_t shown = 0;
  for (std::size_t at = joined.find("aaa\n"); at != std::string::npos; at = joined.find("aaa\n", at + 1))
    ++shown;
  CHECK(shown == kMaxSourceExcerpts);
  // Without a location nothing is echoed, and nothing is used of the budget.
  DiagnosticSink s(one);
  s.error(SourceRange{}, "nowhere");
  ExcerptBudget fresh;
  CHECK(renderDiagnostics(s, false, fresh) == "g.txt: error: nowhere\n");
  CHECK(fresh.left == kMaxSourceExcerpts);
}

TEST_CASE("renderer: a note rendered on its own goes with the diagnostic before it", "[source]") {
  // The REPL renders a note that points into another input as a diagnostic of its own: it shows
  // its line when the diagnostic before it did, and costs nothing of the budget.
  SourceBuffer here("a.txt", "here line\n"), there("b.txt", "there line\n");
  ExcerptBudget budget;
  std::string out;
  for (std::size_t i = 0; i < kMaxSourceExcerpts + 1; ++i) {
    DiagnosticSink error(here);
    error.error(SourceRange::point(0), "bad");
    out += renderDiagnostics(error, false, budget);
    DiagnosticSink note(there);
    note.add({Severity::Note, SourceRange::point(0), "defined here", {}});
    out += renderDiagnostics(note, false, budget);
  }
  std::size_t heres = 0, theres = 0;
  for (std::size_t at = out.find("here line\n"); at != std::string::npos; at = out.find("here line\n", at + 1))
    ++heres;
  for (std::size_t at = out.find("there line\n"); at != std::string::npos; at = out.find("there line\n", at + 1))
    ++theres;
  // "there line" contains "here line": every echo of b.txt is also counted in heres.
  CHECK(theres == kMaxSourceExcerpts);
  CHECK(heres - theres == kMaxSourceExcerpts);
  CHECK(budget.left == 0);
  // The last pair is past the budget: both are first lines only.
  CHECK(out.find("a.txt:1:1: error: bad\nb.txt:1:1: note: defined here\n") != std::string::npos);
}

TEST_CASE("renderer: a long line is cut around the caret", "[source]") {
  for (std::size_t column : {std::size_t{0}, std::size_t{100}, std::size_t{1000}, std::size_t{4990}}) {
    INFO(column);
    std::string line(5000, 'a');
    line[column] = 'X';
    SourceBuffer buffer("long.txt", "x = 1\n" + line + "\n");
    DiagnosticSink sink(buffer);
    sink.error(SourceRange::of(static_cast<std::uint32_t>(6 + column), static_cast<std::uint32_t>(6 + column + 3)), "here");
    const std::string out = renderDiagnostics(sink);
    const std::size_t first = out.find('\n'), second = out.find('\n', first + 1);
    CHECK(out.substr(0, first) == "long.txt:2:" + std::to_string(column + 1) + ": error: here");
    const std::string shown = out.substr(first + 1, second - first - 1);
    const std::string caret = out.substr(second + 1, out.size() - second - 2);
    CHECK(shown.size() <= kMaxExcerptBytes + 6);
    CHECK(shown.size() >= kMaxExcerptBytes);
    // The caret stands under the marked character, and the range is underlined.
    const std::size_t at = caret.find('^');
    REQUIRE(at != std::string::npos);
    CHECK(shown[at] == 'X');
    CHECK(caret.substr(at) == "^~~");
    CHECK((shown.rfind("...", 0) == 0) == (column >= kMaxExcerptBytes / 2));
  }
}
