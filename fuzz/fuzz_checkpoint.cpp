// Fuzz target: reading checkpoints (runtime/fit/checkpoint.cpp), as `nabla fit --resume` does.
// The first byte chooses the mode: odd, the rest is the whole file; even, the rest is the body
// and a header with its right length and checksum is put before it, so that the JSON reader is
// reached too (format version 1, 2 or 3 when the byte's half is 0, 1 or 2 modulo 3: bytes 0, 2, 4).
//
// Properties: a file that is not a complete, valid checkpoint is refused with a FitError that
// names the file (a body nested deeper than kMaxJsonDepth among them: scripts/test.sh gives this
// target inputs long enough to nest past the depth that once overflowed the parser's stack); one
// that is accepted passes the check before parsing, and writes back to text that reads back to
// the same text.
#include "fuzz_support.h"

#include "runtime/data/data.h"
#include "runtime/fit/fit.h"
#include "support/input_file.h"

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>

namespace {

constexpr const char *kPath = "fuzz.checkpoint";

std::string withHeader(const std::string &body, int version) {
  char hash[20];
  std::snprintf(hash, sizeof hash, "%016" PRIx64, nabla::data::fnv1a(body));
  return "nabla-checkpoint " + std::to_string(version) + " " + std::to_string(body.size()) + " " +
         hash + "\n" + body;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  if (size == 0) return 0;
  std::string rest(reinterpret_cast<const char *>(data + 1), size - 1);
  const std::string text = data[0] % 2 ? rest : withHeader(rest, data[0] / 2 % 3 + 1);
  nabla::fit::Checkpoint c;
  try {
    c = nabla::fit::parseCheckpoint(kPath, text);
  } catch (const nabla::fit::FitError &e) {
    NABLA_FUZZ_CHECK(std::string(e.what()).rfind(kPath, 0) == 0);
    return 0;
  }
  NABLA_FUZZ_CHECK(c.losses.count() == c.step);
  NABLA_FUZZ_CHECK(c.losses.samples().size() <= nabla::fit::LossHistory::kMaxSamples);
  NABLA_FUZZ_CHECK(c.epochs.train.count() <= c.step && c.epochs.val.count() <= c.epochs.train.count());
  NABLA_FUZZ_CHECK(c.epochs.bestEpoch <= c.epochs.val.count());
  NABLA_FUZZ_CHECK(!nabla::checkJson(std::string_view(text).substr(text.find('\n') + 1)));
  const std::string again = nabla::fit::checkpointText(c);
  nabla::fit::Checkpoint d = nabla::fit::parseCheckpoint(kPath, again);
  NABLA_FUZZ_CHECK(nabla::fit::checkpointText(d) == again);
  return 0;
}
