#include "support/input_file.h"

#include "support/number.h"
#include "support/text.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace nabla {

std::string quotedPath(std::string_view path) { return "'" + escapeForTerminal(path) + "'"; }

namespace {

/// What a file that is not a regular one is, for messages.
const char *kindOfFile(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO (a pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a file";
}

}  // namespace

InputFile::InputFile(const std::string &path, std::string_view what, std::uint64_t maxBytes,
                     std::string_view raiseHint)
    : path_(path), raiseHint_(raiseHint), maxBytes_(maxBytes) {
  auto ioError = [&](const std::string &why) {
    return InputError(InputError::Kind::Io, "cannot read " + quotedPath(path) + ": " + why);
  };
  // O_NONBLOCK: opening a FIFO for reading would wait for a writer. It is refused below anyway.
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd_ < 0) throw ioError(std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const int err = errno;
    ::close(fd_);
    throw ioError(std::strerror(err));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd_);
    throw InputError(InputError::Kind::Io,
                     quotedPath(path) + " is a directory, not " + std::string(what));
  }
  // A FIFO or a device would block or never end (/dev/zero): an input is a regular file.
  if (!S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw ioError(std::string("it is ") + kindOfFile(st.st_mode) + ", not a regular file");
  }
  size_ = static_cast<std::uint64_t>(st.st_size);
  if (size_ > maxBytes_) {
    ::close(fd_);
    std::string message = "cannot read " + quotedPath(path) + ": it is " + std::to_string(size_) +
                          " bytes, more than the limit of " + std::to_string(maxBytes_) + " bytes";
    if (!raiseHint_.empty()) message += " (raise it with " + raiseHint_ + ")";
    throw InputError(InputError::Kind::TooLarge, message);
  }
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

InputFile::InputFile(InputFile &&other) noexcept
    : path_(std::move(other.path_)), raiseHint_(std::move(other.raiseHint_)), fd_(other.fd_),
      size_(other.size_), maxBytes_(other.maxBytes_) {
  other.fd_ = -1;
}

std::size_t InputFile::readAt(std::uint64_t offset, char *out, std::size_t n) const {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t got = ::pread(fd_, out + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      throw InputError(InputError::Kind::Io,
                       "cannot read " + quotedPath(path_) + ": " + std::strerror(errno));
    }
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  return done;
}

std::string InputFile::readAll() const {
  std::string text;
  // The size at open is a hint (the file may have changed since): read up to the cap and one
  // byte more, to know when it is over.
  text.reserve(static_cast<std::size_t>(size_));
  std::vector<char> chunk(kInputChunkBytes);
  while (true) {
    const std::size_t got = readAt(text.size(), chunk.data(), chunk.size());
    if (got == 0) break;
    text.append(chunk.data(), got);
    if (text.size() > maxBytes_) {
      std::string message = "cannot read " + quotedPath(path_) + ": it is more than the limit of " +
                            std::to_string(maxBytes_) + " bytes";
      if (!raiseHint_.empty()) message += " (raise it with " + raiseHint_ + ")";
      throw InputError(InputError::Kind::TooLarge, message);
    }
  }
  return text;
}

std::optional<JsonProblem> checkJson(std::string_view text, unsigned maxDepth,
                                     std::size_t firstLine) {
  std::size_t line = firstLine, lineStart = 0;
  auto at = [&](std::size_t i, std::string message) {
    return JsonProblem{line, i - lineStart + 1, std::move(message)};
  };
  unsigned depth = 0;
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      lineStart = ++i;
    } else if (c == '"') {
      // A string: up to the closing quote, a backslash escaping the next byte. An unterminated
      // one ends the scan (the parser reports it).
      for (++i; i < n && text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;
        else if (text[i] == '\n') {
          ++line;
          lineStart = i + 1;
        }
      }
      ++i;
    } else if (c == '[' || c == '{') {
      if (++depth > maxDepth)
        return at(i, "arrays and objects nest more than " + std::to_string(maxDepth) +
                         " levels deep");
      ++i;
    } else if (c == ']' || c == '}') {
      if (depth > 0) --depth;
      ++i;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      // A number: the characters JSON numbers are made of, as the parser takes them.
      std::size_t end = i + 1;
      while (end < n && (std::strchr("0123456789+-.eE", text[end]) != nullptr && text[end] != '\0'))
        ++end;
      const std::string_view token = text.substr(i, end - i);
      const Decimal d = readDecimal(token);
      if (d.status == DecimalStatus::Overflow || d.status == DecimalStatus::Underflow)
        return at(i, "the number " + escapeForTerminal(token.substr(0, 60)) +
                         (token.size() > 60 ? "..." : "") + " " + std::string(describe(d.status)));
      i = end;
    } else {
      ++i;
    }
  }
  return std::nullopt;
}

void requireJson(std::string_view path, std::string_view text, std::size_t firstLine) {
  if (std::optional<JsonProblem> p = checkJson(text, kMaxJsonDepth, firstLine))
    throw InputError(InputError::Kind::Malformed, escapeForTerminal(path) + ":" +
                                                      std::to_string(p->line) + ":" +
                                                      std::to_string(p->column) + ": " + p->message);
}

}  // namespace nabla
