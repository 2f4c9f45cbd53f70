// Runs the nabla binary on a pseudo-terminal and talks to it as a user at a terminal would: keys
// in, the echoed screen out. Every wait has a deadline, so a REPL that hangs fails the test
// instead of blocking the suite; nothing here measures time.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

namespace nabla::test {

class PtySession {
public:
  /// Starts NABLA_BINARY with `args` on a new pseudo-terminal (80 columns), with HOME set to
  /// `home` and TERM to xterm.
  PtySession(const std::vector<std::string> &args, const std::string &home);
  ~PtySession();
  PtySession(const PtySession &) = delete;
  PtySession &operator=(const PtySession &) = delete;

  /// Types `keys` (raw bytes: "\r" is Enter, "\x1b[D" Left, "\x7f" Backspace, "\t" Tab, "\x04"
  /// Ctrl-D).
  void send(const std::string &keys);
  /// Types `keys` at once, without waiting for the program to read a line (send() waits): keys
  /// typed while it works, such as Ctrl-C during a command.
  void sendNow(const std::string &keys);
  /// Reads until `text` appears in the screen text (see screen()) after the previous match;
  /// false when the deadline passes or the program ends first.
  bool expect(const std::string &text, double deadlineSeconds = 30);
  /// Waits for the program to exit: its status, or -1 (killed) when the deadline passes.
  int wait(double deadlineSeconds = 30);

  /// Everything read so far with terminal control sequences, carriage returns and bells removed:
  /// the lines as they appear.
  std::string screen() const;
  /// What screen() holds after the last match.
  std::string sinceLastMatch() const;

private:
  bool readSome(int timeoutMs);
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string raw_;
  std::size_t mark_ = 0;  // in screen()
  bool exited_ = false;
  int status_ = -1;
};

}  // namespace nabla::test
