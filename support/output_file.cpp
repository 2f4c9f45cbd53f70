#include "support/output_file.h"

#include "support/text.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <random>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nabla {

namespace {

std::string shownPath(const std::string &path) { return "'" + escapeForTerminal(path) + "'"; }

/// The folder a path is in (`.` for a bare name) and its last part (empty when the path ends
/// with '/').
std::pair<std::string, std::string> splitPath(const std::string &path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  if (slash == 0) return {"/", path.substr(1)};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

/// What a file of this mode is, for messages: "a FIFO", "a folder", ...
std::string kindOf(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}

/// The process's umask, read without changing it (Linux's /proc/self/status has it since 4.7;
/// otherwise the usual 022).
mode_t currentUmask() {
  if (std::FILE *f = std::fopen("/proc/self/status", "re")) {
    char line[256];
    while (std::fgets(line, sizeof line, f))
      if (std::strncmp(line, "Umask:", 6) == 0) {
        std::fclose(f);
        return static_cast<mode_t>(std::strtoul(line + 6, nullptr, 8) & 0777);
      }
    std::fclose(f);
  }
  return 022;
}

/// Twelve random letters and digits for a temporary file's name.
std::string randomName() {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  unsigned char bytes[12];
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    std::random_device device;
    for (unsigned char &b : bytes) b = static_cast<unsigned char>(device());
  }
  std::string out;
  for (unsigned char b : bytes) out += kAlphabet[b % (sizeof kAlphabet - 1)];
  return out;
}

/// The target of an output as it is now: refuses anything but a regular file, a link to one, a
/// dangling link, or nothing. Returns whether a regular file is there (through a link or not)
/// and its permissions.
struct Target {
  bool exists = false;  // a regular file is there (or a link to one)
  bool link = false;    // the path itself is a symbolic link
  mode_t mode = 0;
};

Target inspectTarget(const std::string &path, const std::string &role) {
  const std::string what = shownPath(path) + (role.empty() ? "" : " (" + role + ")");
  if (splitPath(path).second.empty() || splitPath(path).second == "." ||
      splitPath(path).second == "..")
    throw FileError("cannot write " + what + ": it names a folder, not a file");
  Target t;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return t;
    if (errno == ENOTDIR)
      throw FileError("cannot write " + what + ": " + shownPath(splitPath(path).first) +
                      " is not a folder");
    throw FileError("cannot write " + what + ": " + std::strerror(errno));
  }
  if (S_ISLNK(st.st_mode)) {
    t.link = true;
    struct stat to {};
    if (::stat(path.c_str(), &to) != 0) return t;  // dangling: the link is replaced
    if (!S_ISREG(to.st_mode))
      throw FileError("cannot write " + what + ": it is a symbolic link to " +
                      kindOf(to.st_mode) +
                      ", and nabla replaces only regular files (give another name)");
    t.exists = true;
    t.mode = to.st_mode & 07777;
    return t;
  }
  if (!S_ISREG(st.st_mode))
    throw FileError("cannot write " + what + ": it is " + kindOf(st.st_mode) +
                    ", and nabla replaces only regular files (give another name)");
  t.exists = true;
  t.mode = st.st_mode & 07777;
  return t;
}

/// Writes all of `bytes` to `fd`; false with errno set on failure.
bool writeAll(int fd, std::string_view bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) {
      errno = EIO;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

/// A path with its folder resolved (`./a/../d.csv` -> `/home/u/d.csv`), for comparing paths of
/// files that do not exist yet; lexical when the folder does not exist either.
std::string resolvedPath(const std::string &path) {
  // The part that exists, resolved (links, `..`), and the rest as written, lexically normal.
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  if (ec) return std::filesystem::path(path).lexically_normal().string();
  std::filesystem::path p = std::filesystem::weakly_canonical(absolute, ec);
  if (ec) p = absolute.lexically_normal();
  return p.string();
}

}  // namespace

// --- AtomicOutput ---------------------------------------------------------------------------

AtomicOutput::AtomicOutput(std::string path, unsigned mode) : path_(std::move(path)), mode_(mode) {
  const Target target = inspectTarget(path_, "");
  if (target.exists && !target.link) {
    keepMode_ = true;
    oldMode_ = target.mode;
    // A file its owner made read-only stays protected, as when nabla wrote into it.
    if (::access(path_.c_str(), W_OK) != 0 && errno == EACCES)
      throw FileError("cannot write " + shownPath(path_) + ": " + std::strerror(EACCES));
  }
  auto [dir, base] = splitPath(path_);
  // Names stay within NAME_MAX (255 bytes): a long name is cut for its temporary file's.
  const std::string stem = base.size() > 200 ? base.substr(0, 200) : base;
  const std::string folder =
      path_.find('/') == std::string::npos ? "" : dir == "/" ? "/" : dir + "/";
  for (int attempt = 0; attempt < 100; ++attempt) {
    const std::string temp = folder + "." + stem + "." + randomName() + ".tmp";
    fd_ = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd_ >= 0) {
      temp_ = temp;
      return;
    }
    if (errno != EEXIST) {
      const int err = errno;
      if (err == ENOENT)
        throw FileError("cannot write " + shownPath(path_) + ": its folder " + shownPath(dir) +
                        " does not exist");
      throw FileError("cannot write " + shownPath(path_) + ": cannot create a file in its folder " +
                      shownPath(dir) + ": " + std::strerror(err));
    }
  }
  throw FileError("cannot write " + shownPath(path_) +
                  ": no free name for a temporary file in its folder " + shownPath(dir));
}

AtomicOutput::~AtomicOutput() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
}

void AtomicOutput::fail(const std::string &what, int err) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
  temp_.clear();
  throw FileError("cannot write " + shownPath(path_) + ": " + what + std::strerror(err));
}

void AtomicOutput::write(std::string_view bytes) {
  if (fd_ < 0) throw FileError("cannot write " + shownPath(path_) + ": the file is closed");
  if (!writeAll(fd_, bytes)) fail("", errno);
}

void AtomicOutput::sync() {
  if (fd_ >= 0 && ::fsync(fd_) != 0 && errno != EINVAL) fail("", errno);
}

void AtomicOutput::commit() {
  if (committed_) return;
  if (fd_ < 0) throw FileError("cannot write " + shownPath(path_) + ": the file is closed");
  // The data first, then the name: after a crash the target is the old file or the new one.
  if (::fsync(fd_) != 0 && errno != EINVAL) fail("", errno);
  const mode_t mode = keepMode_ ? oldMode_ : (mode_ & 0777 & ~currentUmask());
  if (::fchmod(fd_, mode) != 0) fail("", errno);
  // What is there now is checked again: a FIFO or a folder made since is not replaced.
  try {
    inspectTarget(path_, "");
  } catch (const FileError &) {
    discard();
    throw;
  }
  if (::rename(temp_.c_str(), path_.c_str()) != 0) fail("", errno);
  committed_ = true;
  const std::string dir = splitPath(path_).first;
  const int dirFd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirFd >= 0) {
    ::fsync(dirFd);  // the new name, durable; a folder that cannot be synced keeps it anyway
    ::close(dirFd);
  }
}

void AtomicOutput::discard() {
  if (committed_) return;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temp_.empty()) ::unlink(temp_.c_str());
  temp_.clear();
}

void writeFileAtomically(const std::string &path, std::string_view bytes, unsigned mode) {
  AtomicOutput out(path, mode);
  out.write(bytes);
  out.commit();
}

// --- FileLock -------------------------------------------------------------------------------

std::string FileLock::lockPath(const std::string &path) { return path + ".lock"; }

FileLock::FileLock(const std::string &path, const std::string &what) {
  const std::string lock = lockPath(path);
  auto failure = [&](const std::string &why) {
    return FileError("cannot lock " + what + " " + shownPath(path) + ": " + why);
  };
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd =
        ::open(lock.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
    if (fd < 0) {
      const int err = errno;
      if (err == ELOOP)
        throw failure("its lock file " + shownPath(lock) + " is a symbolic link (remove it)");
      throw failure("cannot open its lock file " + shownPath(lock) + ": " + std::strerror(err));
    }
    struct stat mine {};
    if (::fstat(fd, &mine) != 0 || !S_ISREG(mine.st_mode)) {
      const mode_t mode = mine.st_mode;
      ::close(fd);
      throw failure("its lock file " + shownPath(lock) + " is " + kindOf(mode) + " (remove it)");
    }
    // A lock file is always empty: a file with bytes in it is someone's data (another output
    // named like a lock), which a lock must neither hold nor remove.
    if (mine.st_size != 0) {
      ::close(fd);
      throw failure(shownPath(lock) + " is not an empty lock file (give another name)");
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK)
        throw FileError(what + " " + shownPath(path) + " is in use by another run (which holds " +
                        shownPath(lock) + ")");
      throw failure(std::strerror(err));
    }
    // The lock file may have been removed by the run that held it, between our open and our
    // lock: then the lock is on a file nobody else will find, and we try again.
    struct stat there {};
    if (::lstat(lock.c_str(), &there) == 0 && there.st_dev == mine.st_dev &&
        there.st_ino == mine.st_ino) {
      lockPath_ = lock;
      fd_ = fd;
      return;
    }
    ::close(fd);
  }
  throw failure("its lock file " + shownPath(lock) + " keeps changing");
}

FileLock::~FileLock() { release(); }

FileLock::FileLock(FileLock &&other) noexcept
    : lockPath_(std::move(other.lockPath_)), fd_(other.fd_) {
  other.fd_ = -1;
}

FileLock &FileLock::operator=(FileLock &&other) noexcept {
  if (this != &other) {
    release();
    lockPath_ = std::move(other.lockPath_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

void FileLock::release() {
  if (fd_ < 0) return;
  // Removed while still locked: a run waiting to lock it finds it gone and makes a new one. Only
  // when the name still is this lock's file, empty: never a file renamed over it since.
  struct stat mine {}, there {};
  if (::fstat(fd_, &mine) == 0 && ::lstat(lockPath_.c_str(), &there) == 0 &&
      mine.st_dev == there.st_dev && mine.st_ino == there.st_ino && there.st_size == 0)
    ::unlink(lockPath_.c_str());
  ::close(fd_);
  fd_ = -1;
}

// --- checks before work ---------------------------------------------------------------------

bool sameFile(const std::string &a, const std::string &b) {
  struct stat sa {}, sb {};
  const bool hasA = ::stat(a.c_str(), &sa) == 0, hasB = ::stat(b.c_str(), &sb) == 0;
  if (hasA && hasB) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  // A file that does not exist yet is the one another path names when both resolve alike.
  return resolvedPath(a) == resolvedPath(b);
}

void checkFileUses(const std::vector<FileUse> &uses) {
  using Kind = FileUse::Kind;
  auto describe = [](const FileUse &u) { return shownPath(u.path) + " (" + u.role + ")"; };
  auto named = [](const FileUse &u) {
    return u.kind == Kind::Open ? u.role : u.role + " " + shownPath(u.path);
  };
  for (const FileUse &u : uses) {
    if (u.path.empty() || u.kind == Kind::Read || u.kind == Kind::Open) continue;
    const Target target = inspectTarget(u.path, u.role);
    if (u.kind == Kind::WriteOnInterrupt) continue;
    const std::string dir = splitPath(u.path).first;
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
      const int err = errno;
      throw FileError("cannot write " + describe(u) + ": its folder " + shownPath(dir) +
                      (err == ENOENT ? " does not exist" : std::string(": ") + std::strerror(err)));
    }
    if (!S_ISDIR(st.st_mode))
      throw FileError("cannot write " + describe(u) + ": " + shownPath(dir) + " is not a folder");
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
      const int err = errno;
      throw FileError("cannot write " + describe(u) + ": its folder " + shownPath(dir) +
                      " cannot be written (" + std::strerror(err) + ")");
    }
    if (target.exists && !target.link && ::access(u.path.c_str(), W_OK) != 0 && errno == EACCES)
      throw FileError("cannot write " + describe(u) + ": " + std::strerror(EACCES));
  }
  for (std::size_t i = 0; i < uses.size(); ++i)
    for (std::size_t j = 0; j < uses.size(); ++j) {
      const FileUse &w = uses[i], &o = uses[j];
      if (i == j || w.kind == Kind::Read || w.path.empty() || o.path.empty()) continue;
      // Each pair once: an output against every input, two outputs in the order given.
      if (o.kind != Kind::Read && j < i) continue;
      if (o.kind == Kind::Open || (w.kind == Kind::Open && o.kind != Kind::Read)) continue;
      if (!sameFile(w.path, o.path)) continue;
      if (o.kind == Kind::Read) {
        if (!w.mayBe.empty() && w.mayBe == o.role) continue;
        throw FileError(named(w) + " is the same file as " + named(o) +
                        ": writing it would destroy the input (give another name)",
                        true);
      }
      throw FileError(named(w) + " and " + named(o) +
                      " are the same file: one output would overwrite the other (give "
                      "another name)",
                      true);
    }
}

// --- TempDir --------------------------------------------------------------------------------

TempDir::TempDir(const std::string &prefix) {
  const char *env = std::getenv("TMPDIR");
  std::string base = env && *env ? env : "/tmp";
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  std::string pattern = base + "/" + prefix + "-XXXXXX";
  if (!::mkdtemp(pattern.data())) {
    const int err = errno;
    throw FileError("cannot create a temporary folder in " + shownPath(base) + ": " +
                    std::strerror(err));
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);  // links inside are removed, never followed
}

std::string readWholeFile(const std::string &path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    throw FileError("cannot read " + shownPath(path) + ": " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw FileError("cannot read " + shownPath(path) + ": not a regular file");
  }
  std::string out;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      throw FileError("cannot read " + shownPath(path) + ": " + std::strerror(err));
    }
    if (n == 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace nabla
