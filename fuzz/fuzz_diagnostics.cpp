// Fuzz target: text -> diagnostics. Parses and checks the input as a program file and as a bare
// expression (the two entry points of the command line), and renders whatever it reports.
//
// Properties: a compile that fails says why (at least one error); every diagnostic lies inside the
// text; the rendered text shows no raw control character; the same input gives the same messages.
#include "fuzz_options.h"

#include <cstdint>
#include <string>

namespace {

using namespace nabla;

std::string compileAndRender(const std::string &text, bool bare, bool &ok) {
  SourceBuffer buffer("<fuzz>", text);
  DiagnosticSink sink(buffer);
  std::optional<LoweredProgram> program = compileSource(buffer, sink, fuzz::fuzzOptions(bare));
  ok = program.has_value();
  NABLA_FUZZ_CHECK(ok || sink.hasErrors());
  NABLA_FUZZ_CHECK(!ok || !sink.hasErrors());
  for (const Diagnostic &d : sink.diagnostics()) {
    NABLA_FUZZ_CHECK(!d.message.empty());
    NABLA_FUZZ_CHECK(!d.range.valid() || (d.range.begin <= d.range.end && d.range.end <= text.size()));
    for (const DiagnosticNote &n : d.notes)
      NABLA_FUZZ_CHECK(!n.range.valid() || (n.range.begin <= n.range.end && n.range.end <= text.size()));
  }
  std::string rendered = renderDiagnostics(sink);
  for (char c : rendered) {
    const unsigned char u = static_cast<unsigned char>(c);
    NABLA_FUZZ_CHECK(u == '\n' || u >= 0x20);
    NABLA_FUZZ_CHECK(u != 0x7f);
  }
  NABLA_FUZZ_CHECK(rendered.empty() || rendered.back() == '\n');
  return rendered;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string text = size ? std::string(reinterpret_cast<const char *>(data), size) : "";
  for (bool bare : {false, true}) {
    bool ok = false, again = false;
    std::string first = compileAndRender(text, bare, ok);
    // Deterministic: a second compile of the same text reports the same.
    NABLA_FUZZ_CHECK(compileAndRender(text, bare, again) == first);
    NABLA_FUZZ_CHECK(ok == again);
  }
  return 0;
}
