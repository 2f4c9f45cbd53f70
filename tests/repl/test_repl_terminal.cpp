// `nabla repl` at a terminal, driven through a pseudo-terminal: the prompt, line editing keys,
// history kept in $HOME/.nabla_history and recalled with Up, tab completion of names, built-ins
// and commands, the continuation prompt, errors that do not end the session, and Ctrl-D.
#include "pty_session.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using nabla::test::PtySession;

namespace {

const std::string kEnter = "\r", kLeft = "\x1b[D", kRight = "\x1b[C", kUp = "\x1b[A",
                  kBackspace = "\x7f", kTab = "\t", kCtrlA = "\x01", kCtrlD = "\x04";

/// A fresh home directory for one test (its history file starts absent).
struct TempHome {
  std::string path;
  TempHome() {
    char pattern[] = "/tmp/nabla-repl-home-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    path = pattern;
  }
  ~TempHome() {
    std::remove((path + "/.nabla_history").c_str());
    rmdir(path.c_str());
  }
  std::string history() const {
    std::ifstream in(path + "/.nabla_history");
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
};

/// Types a line at the prompt and waits for the next prompt.
void line(PtySession &s, const std::string &keys) {
  s.send(keys + kEnter);
  INFO(s.screen());
  REQUIRE(s.expect("nabla> "));
}

/// A result on a line of its own, between the Enter that asked for it and the next prompt.
void result(PtySession &s, const std::string &keys, const std::string &value) {
  s.send(keys + kEnter);
  INFO("typed: " << keys << "\nscreen:\n" << s.screen());
  REQUIRE(s.expect("\n" + value + "\nnabla> "));
}

}  // namespace

TEST_CASE("the repl on a terminal shows a banner and a prompt, and Ctrl-D ends it", "[repl]") {
  TempHome home;
  PtySession s({"repl"}, home.path);
  REQUIRE(s.expect("nabla "));
  REQUIRE(s.expect(":help"));
  REQUIRE(s.expect("nabla> "));
  s.send(kCtrlD);
  CHECK(s.wait() == 0);
}

TEST_CASE("line editing keys change the line before it is evaluated", "[repl]") {
  TempHome home;
  PtySession s({"repl"}, home.path);
  REQUIRE(s.expect("nabla> "));
  line(s, ":at x=2");
  // Left then Backspace deletes the character before the last: 2*x+11 becomes 2*x+1 = 5.
  result(s, "2*x+11" + kLeft + kBackspace, "5");
  // Two Left, then typing inserts in the middle: 1+3 becomes 10+3.
  result(s, "1+3" + kLeft + kLeft + "0", "13");
  // Right moves back over a character: 1+3, Left Left Right, then 2: 1+23.
  result(s, "1+3" + kLeft + kLeft + kRight + "2", "24");
  // Ctrl-A goes to the start of the line: x+1 becomes 3*x+1 = 7.
  result(s, "x+1" + kCtrlA + "3*", "7");
  s.send(kCtrlD);
  CHECK(s.wait() == 0);
}

TEST_CASE("history is kept in $HOME/.nabla_history and recalled with Up", "[repl]") {
  TempHome home;
  {
    PtySession s({"repl"}, home.path);
    REQUIRE(s.expect("nabla> "));
    result(s, "6*7", "42");
    result(s, "2+3", "5");
    s.send(kCtrlD);
    REQUIRE(s.wait() == 0);
  }
  std::string history = home.history();
  INFO(history);
  CHECK(history.find("6*7") != std::string::npos);
  CHECK(history.find("2+3") != std::string::npos);
  {
    // A new session: Up recalls the last line, Up Up the one before.
    PtySession s({"repl"}, home.path);
    REQUIRE(s.expect("nabla> "));
    result(s, kUp, "5");
    result(s, kUp + kUp, "42");  // 2+3 again is not stored twice: two back is 6*7
    s.send(kCtrlD);
    CHECK(s.wait() == 0);
  }
}

TEST_CASE("tab completes defined names, built-ins and commands", "[repl]") {
  TempHome home;
  PtySession s({"repl"}, home.path);
  REQUIRE(s.expect("nabla> "));
  line(s, "rosenbrock(a, b) = (1 - a)^2 + 100*(b - a^2)^2");
  // A defined name: rosen<Tab> completes to rosenbrock; at (1, 1) its value is 0, at (0, 0) 1.
  result(s, "rosen" + kTab + "(0, 0)", "1");
  // A built-in: sigm<Tab> is sigmoid; sigmoid(0) = 1/2.
  result(s, "sigm" + kTab + "(0)", "0.5");
  // A variable that has a value.
  line(s, ":at velocity=3");
  result(s, "veloc" + kTab + "^2", "9");
  // A command: :hel<Tab> completes to ":help ", which then takes the command's name.
  s.send(":hel" + kTab + "grad" + kEnter);
  REQUIRE(s.expect("gradient"));
  REQUIRE(s.expect("nabla> "));
  // Several candidates: Tab lists them.
  s.send(":he" + kTab);
  REQUIRE(s.expect(":hessian"));
  REQUIRE(s.expect(":help"));
  s.send(kCtrlA + "\x0b");  // Ctrl-A, Ctrl-K: clear the line
  s.send(kCtrlD);
  CHECK(s.wait() == 0);
}

TEST_CASE("an open bracket continues the input on the next line, after a continuation prompt",
          "[repl]") {
  TempHome home;
  PtySession s({"repl"}, home.path);
  REQUIRE(s.expect("nabla> "));
  s.send("g(x, y) = (x +" + kEnter);
  REQUIRE(s.expect("...> "));
  s.send("  y)^2" + kEnter);
  REQUIRE(s.expect("nabla> "));
  result(s, "g(1, 2)", "9");
  s.send(kCtrlD);
  CHECK(s.wait() == 0);
}

TEST_CASE("an error shows a caret under the typed line and the session goes on", "[repl]") {
  TempHome home;
  PtySession s({"repl"}, home.path);
  REQUIRE(s.expect("nabla> "));
  s.send("x + * y" + kEnter);
  REQUIRE(s.expect("error: expected expression after '+'"));
  REQUIRE(s.expect("x + * y\n    ^"));
  REQUIRE(s.expect("nabla> "));
  result(s, "1+1", "2");
  s.send(":quit" + kEnter);
  CHECK(s.wait() == 0);
}

TEST_CASE("Ctrl-C abandons the line being typed, and an unfinished input, but not the session",
          "[repl]") {
  TempHome home;
  PtySession s({"repl"}, home.path);
  REQUIRE(s.expect("nabla> "));
  s.send("1 + 2 +");
  REQUIRE(s.expect("1 + 2 +"));  // echoed: the line editor has the text before Ctrl-C comes
  s.send("\x03");
  REQUIRE(s.expect("nabla> "));
  result(s, "40+2", "42");
  s.send("(2 +" + kEnter);
  REQUIRE(s.expect("...> "));
  s.send("\x03");
  REQUIRE(s.expect("nabla> "));
  result(s, "3", "3");  // not `(2 + 3`
  s.send(kCtrlD);
  CHECK(s.wait() == 0);
}

TEST_CASE("Ctrl-C typed right behind other keys still abandons the line", "[repl]") {
  // Ctrl-C right behind the keys, not after their echo: the signal often comes while libedit
  // echoes a key, between two of its reads, and the read after it must not wait for more keys.
  TempHome home;
  PtySession s({"repl"}, home.path);
  REQUIRE(s.expect("nabla> "));
  for (int i = 0; i < 25; ++i) {
    INFO("attempt " << i);
    s.send("1 + 2 +");
    s.send("\x03");
    REQUIRE(s.expect("nabla> ", 10));
  }
  result(s, "6*7", "42");
  s.send(kCtrlD);
  CHECK(s.wait() == 0);
}

TEST_CASE("a line that makes an open input invalid, or a blank line, ends it at a terminal too",
          "[repl]") {
  TempHome home;
  PtySession s({"repl"}, home.path);
  REQUIRE(s.expect("nabla> "));
  line(s, "a = 2");
  s.send("g(x) = sin(x" + kEnter);
  REQUIRE(s.expect("...> "));
  s.send("1+1" + kEnter);
  REQUIRE(s.expect("error: expected ',' or ')' in argument list"));
  REQUIRE(s.expect("nabla> "));
  result(s, "a*10", "20");
  s.send("(2 +" + kEnter);
  REQUIRE(s.expect("...> "));
  s.send(kEnter);
  REQUIRE(s.expect("error: "));
  REQUIRE(s.expect("nabla> "));
  result(s, "a+1", "3");
  s.send(kCtrlD);
  CHECK(s.wait() == 0);
}

TEST_CASE("an input typed over several lines is one history entry, recalled as one line",
          "[repl]") {
  TempHome home;
  {
    PtySession s({"repl"}, home.path);
    REQUIRE(s.expect("nabla> "));
    s.send("g(x, y) = (x +" + kEnter);
    REQUIRE(s.expect("...> "));
    s.send("  y)^2  # squared" + kEnter);
    REQUIRE(s.expect("nabla> "));
    line(s, ":reset");
    // Up Up: the definition, whole (its first line alone would wait for more at `...>`, and
    // g(1, 2) would then be part of it).
    line(s, kUp + kUp);
    result(s, "g(1, 2)", "9");
    s.send(kCtrlD);
    REQUIRE(s.wait() == 0);
  }
  std::string history = home.history();
  INFO(history);
  CHECK(history.find("g(x,\\040y)\\040=\\040(x\\040+\\040y)^2") != std::string::npos);
  CHECK(history.find("(x\\040+\n") == std::string::npos);  // not the first line alone
  CHECK(history.find("(x\\040+\\012") == std::string::npos);
  CHECK(history.find("squared") == std::string::npos);
  {
    // A new session recalls it too: Up is g(1, 2), Up Up the definition.
    PtySession s({"repl"}, home.path);
    REQUIRE(s.expect("nabla> "));
    line(s, kUp + kUp);
    result(s, "g(2, 1)", "9");
    s.send(kCtrlD);
    CHECK(s.wait() == 0);
  }
}

TEST_CASE("Ctrl-C while a command runs stops the command; the session and its names stay",
          "[repl]") {
  TempHome home;
  // A function whose `:time` takes about 2 s (most of it in LLVM), loaded from a file.
  const std::string model = home.path + "/big.nabla";
  {
    std::ofstream out(model);
    out << "f(x) = 0";
    for (int k = 1; k <= 800; ++k)
      out << " + sin(" << k << "*x)*exp(x/" << k << ")";
    out << "\n";
  }
  {
    PtySession s({"repl", model}, home.path);
    REQUIRE(s.expect("nabla> "));
    line(s, "a = 2");
    s.send(":time f(0.5)" + kEnter);
    REQUIRE(s.expect(":time f(0.5)\n"));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the command has begun
    s.sendNow("\x03");
    INFO(s.screen());
    REQUIRE(s.expect("interrupted"));
    REQUIRE(s.expect("nabla> "));
    CHECK(s.screen().find("LLVM O2") == std::string::npos);
    result(s, "a*100", "200");
    result(s, "f(0)", "0");
    s.send(kCtrlD);
    CHECK(s.wait() == 0);
  }
  std::remove(model.c_str());
}

TEST_CASE("Ctrl-C during one long compile stops it inside LLVM; the indicator shows on a terminal",
          "[repl]") {
  TempHome home;
  // A function whose `:time` spends most of its time in one LLVM compilation at O2 (about 15 s
  // on 2 cores of an AMD EPYC when it runs to its end); Ctrl-C stops it within a part's code
  // generation, a fraction of a second.
  const std::string model = home.path + "/long.nabla";
  {
    std::ofstream out(model);
    out << "f(x) = 0";
    for (int k = 1; k <= 6000; ++k)
      out << " + sin(" << k << "*x)*exp(x/" << k << ")";
    out << "\n";
  }
  {
    PtySession s({"repl", model}, home.path);
    REQUIRE(s.expect("nabla> "));
    line(s, "a = 2");
    CHECK(s.screen().find("working...") == std::string::npos);  // a quick input says nothing
    s.send(":time f(0.5)" + kEnter);
    REQUIRE(s.expect(":time f(0.5)\n"));
    // After a second at work, a line on stderr (the terminal) says so and how to stop it.
    REQUIRE(s.expect("working... (Ctrl-C to stop)"));
    s.sendNow("\x03");
    INFO(s.screen());
    REQUIRE(s.expect("error: interrupted", 20));
    REQUIRE(s.expect("nabla> ", 20));
    CHECK(s.screen().find("LLVM O2") == std::string::npos);
    // The definitions made before, and the file's, are still there and usable.
    result(s, "a*100", "200");
    result(s, "f(0)", "0");
    s.send(kCtrlD);
    CHECK(s.wait() == 0);
  }
  std::remove(model.c_str());
}
