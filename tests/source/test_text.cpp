// support/text.h: the one escape that every message uses before it reaches a terminal, and "did
// you mean".
#include "support/text.h"

#include <catch2/catch.hpp>

#include <string>

using nabla::closestName;
using nabla::escapeForTerminal;

TEST_CASE("escapeForTerminal: controls, C1, bidi, invalid UTF-8 escaped; the rest kept",
          "[source][escape]") {
  CHECK(escapeForTerminal("plain text, x^2 + y") == "plain text, x^2 + y");
  CHECK(escapeForTerminal("\x1b[2J") == "\\x1B[2J");
  CHECK(escapeForTerminal(std::string("a\0b", 3)) == "a\\x00b");
  CHECK(escapeForTerminal("tab\there\nline") == "tab\\x09here\\x0Aline");
  CHECK(escapeForTerminal("tab\there\nline", true) == "tab\there\nline");
  CHECK(escapeForTerminal("\x7f") == "\\x7F");
  // C1 controls as UTF-8 (U+009B is a CSI on some terminals).
  CHECK(escapeForTerminal("\xc2\x9b" "31m") == "\\u009B31m");
  CHECK(escapeForTerminal("\xc2\x80") == "\\u0080");
  // Bidirectional overrides and isolates, zero-width characters, the BOM.
  CHECK(escapeForTerminal("abc\xe2\x80\xae" "cba") == "abc\\u202Ecba");
  CHECK(escapeForTerminal("\xe2\x81\xa6x\xe2\x81\xa9") == "\\u2066x\\u2069");
  CHECK(escapeForTerminal("a\xe2\x80\x8b" "b") == "a\\u200Bb");
  CHECK(escapeForTerminal("\xef\xbb\xbf" "x") == "\\uFEFFx");
  // Printable UTF-8 stays as it is.
  CHECK(escapeForTerminal("∂f/∂x = 2·x²") == "∂f/∂x = 2·x²");
  CHECK(escapeForTerminal("日本語") == "日本語");
  // Bytes that are not UTF-8: lone continuation bytes, truncated sequences, overlong forms,
  // surrogates, code points past U+10FFFF.
  CHECK(escapeForTerminal("\x80") == "\\x80");
  CHECK(escapeForTerminal("\xc3") == "\\xC3");
  CHECK(escapeForTerminal("\xe2\x82") == "\\xE2\\x82");
  CHECK(escapeForTerminal("\xc0\xaf") == "\\xC0\\xAF");
  CHECK(escapeForTerminal("\xed\xa0\x80") == "\\xED\\xA0\\x80");
  CHECK(escapeForTerminal("\xf4\x90\x80\x80") == "\\xF4\\x90\\x80\\x80");
  // Whatever it is given, the result has no control byte and is valid UTF-8 of safe characters.
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  const std::string escaped = escapeForTerminal(all);
  for (char c : escaped) {
    const unsigned char u = static_cast<unsigned char>(c);
    CHECK((u >= 0x20 && u < 0x7f));
  }
  CHECK(escapeForTerminal(escaped) == escaped);  // escaping twice changes nothing more
}

TEST_CASE("closestName: one edit per three characters, case first", "[source]") {
  CHECK(closestName("sinh2", {"sin", "sinh", "cosh"}) == "sinh");
  CHECK(closestName("Sin", {"sin", "sign"}) == "sin");
  CHECK(closestName("b", {"w"}).empty());
  CHECK(closestName("alpa", {"alpha", "beta"}) == "alpha");
  CHECK(closestName("completely", {"other"}).empty());
  CHECK(closestName(std::string(100, 'a'), {std::string(99, 'a')}).empty());
}
