#include "pty_session.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <poll.h>
#include <pty.h>
#include <stdexcept>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

namespace nabla::test {

PtySession::PtySession(const std::vector<std::string> &args, const std::string &home) {
  std::vector<char *> argv;
  std::string program = NABLA_BINARY;
  argv.push_back(program.data());
  std::vector<std::string> copy = args;
  for (std::string &a : copy)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  winsize size{};
  size.ws_row = 40;
  size.ws_col = 80;
  pid_ = forkpty(&fd_, nullptr, nullptr, &size);
  if (pid_ < 0)
    throw std::runtime_error("forkpty failed");
  if (pid_ == 0) {
    setenv("HOME", home.c_str(), 1);
    setenv("TERM", "xterm", 1);
    unsetenv("NO_COLOR");
    execv(program.c_str(), argv.data());
    _exit(127);
  }
}

PtySession::~PtySession() {
  if (!exited_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (fd_ >= 0)
    close(fd_);
}

void PtySession::send(const std::string &keys) {
  // libedit prints the prompt and only then switches the terminal out of canonical mode: a key
  // sent in between would be read by the kernel's line editing (Ctrl-D there is lost). The
  // terminal's mode is shared by both ends, so wait for the switch (or the program's end).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (termios t{}; tcgetattr(fd_, &t) == 0 && (t.c_lflag & ICANON) &&
                    std::chrono::steady_clock::now() < deadline;) {
    if (!readSome(5) && waitpid(pid_, nullptr, WNOHANG) != 0)
      break;
  }
  sendNow(keys);
}

void PtySession::sendNow(const std::string &keys) {
  std::size_t done = 0;
  while (done < keys.size()) {
    ssize_t n = write(fd_, keys.data() + done, keys.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      throw std::runtime_error("cannot write to the pseudo-terminal");
    done += static_cast<std::size_t>(n);
  }
}

bool PtySession::readSome(int timeoutMs) {
  pollfd p{fd_, POLLIN, 0};
  int r = poll(&p, 1, timeoutMs);
  if (r <= 0)
    return r == 0;  // nothing yet
  char buf[4096];
  ssize_t n = read(fd_, buf, sizeof buf);
  if (n <= 0)
    return false;  // the other side closed (EIO on Linux): the program ended
  raw_.append(buf, static_cast<std::size_t>(n));
  return true;
}

std::string PtySession::screen() const {
  std::string out;
  for (std::size_t i = 0; i < raw_.size(); ++i) {
    char c = raw_[i];
    if (c == '\x1b') {
      // CSI: ESC [ parameters final-byte; SS3: ESC O x; other: ESC x.
      if (i + 1 < raw_.size() && raw_[i + 1] == '[') {
        i += 2;
        while (i < raw_.size() && !(raw_[i] >= 0x40 && raw_[i] <= 0x7e))
          ++i;
      } else {
        i += (i + 1 < raw_.size() && raw_[i + 1] == 'O') ? 2 : 1;
      }
      continue;
    }
    if (c == '\r' || c == '\a' || c == '\b')
      continue;
    out += c;
  }
  return out;
}

std::string PtySession::sinceLastMatch() const { return screen().substr(mark_); }

bool PtySession::expect(const std::string &text, double deadlineSeconds) {
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<long>(deadlineSeconds * 1000));
  for (;;) {
    std::string s = screen();
    std::size_t at = s.find(text, mark_);
    if (at != std::string::npos) {
      mark_ = at + text.size();
      return true;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return false;
    if (!readSome(static_cast<int>(std::min<long>(left.count(), 200))))
      return screen().find(text, mark_) != std::string::npos && expect(text, 0);
  }
}

int PtySession::wait(double deadlineSeconds) {
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<long>(deadlineSeconds * 1000));
  while (!exited_) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      exited_ = true;
      status_ = -1;
      break;
    }
    readSome(50);  // keep draining, so that the program never blocks on a full terminal
  }
  return status_;
}

}  // namespace nabla::test
