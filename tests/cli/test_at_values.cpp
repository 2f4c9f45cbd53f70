// Values given with --at are decimal numbers (or inf/nan spelled out): hex text and decimals too
// large for a double are usage errors, not silent infinities.
#include "support/process.h"

#include <catch2/catch.hpp>
#include <llvm/Support/JSON.h>

#include <cmath>

using nabla::test::ProcessResult;
using nabla::test::runNabla;

TEST_CASE("values in --at: hex and overflowing numbers are refused", "[cli]") {
  for (const char *bad : {"x=1e999", "x=-1e400", "x=0x10", "x=1.5q"}) {
    INFO(bad);
    ProcessResult r = runNabla({"eval", "x^2", "--at", bad});
    CHECK(r.exitCode == 2);
    CHECK(r.err.find("--at") != std::string::npos);
  }
}

TEST_CASE("values in --at: inf and nan spelled out, and tiny numbers", "[cli]") {
  ProcessResult r = runNabla({"eval", "x + y", "--at", "x=inf,y=1e-400", "--json"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  auto parsed = llvm::json::parse(r.out);
  REQUIRE(static_cast<bool>(parsed));
  // JSON has no infinity: nabla writes it as the string "inf".
  CHECK(parsed->getAsObject()->getString("value").value_or("") == "inf");
}
