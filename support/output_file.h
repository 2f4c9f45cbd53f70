// Files that nabla writes: each one written whole to a new temporary file beside its target and
// renamed over the target once it is complete and synced, so that a reader (a host that has the
// old library loaded, a process reading the old log) never sees a truncated or half-written file
// and a failed write leaves the old file as it was. Also: the lock that keeps two runs off one
// checkpoint, the check, before any work, that no output is an input or another output and that
// every output's folder can be written, and a private temporary folder. POSIX only; no LLVM.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nabla {

/// A file that cannot be written, locked or used as asked. The message is complete: it names the
/// path (escaped for a terminal) and says why.
class FileError : public std::runtime_error {
public:
  explicit FileError(const std::string &message, bool conflict = false)
      : std::runtime_error(message), conflict_(conflict) {}
  /// Two files of a command line are one (checkFileUses): a mistake in the command line itself.
  bool conflict() const { return conflict_; }

private:
  bool conflict_;
};

/// Replaces the file at `path` with new contents, all at once.
///
/// The constructor refuses a target that exists and is not a regular file (a FIFO, a device, a
/// socket, a directory, or a symbolic link to one of these), naming what it is; a symbolic link
/// to a regular file (or to nothing) is itself replaced by the new file, and the file it points
/// to stays as it was (as the linker does). It then creates the temporary file in the target's
/// folder under a fresh random name (`.NAME.XXXXXXXXXXXX.tmp`) with O_CREAT | O_EXCL | O_NOFOLLOW
/// (a name that exists, a symbolic link included, is never opened: another name is drawn), mode
/// 0600. commit() syncs the data, gives the file its final mode (the old target's permissions,
/// else `mode` less the umask), renames it over `path` and syncs the folder. Without commit()
/// (an error, an exception) the destructor removes the temporary file.
///
/// After commit() the object still holds the file, now at `path`: write() appends to it (the
/// training log streams its rows this way) and sync() makes them durable.
class AtomicOutput {
public:
  explicit AtomicOutput(std::string path, unsigned mode = 0666);
  ~AtomicOutput();
  AtomicOutput(const AtomicOutput &) = delete;
  AtomicOutput &operator=(const AtomicOutput &) = delete;

  void write(std::string_view bytes);
  void commit();
  void sync();
  /// Removes the temporary file now (a no-op after commit()).
  void discard();

  const std::string &path() const { return path_; }
  /// Where the bytes are until commit(): for a tool that writes the file itself.
  const std::string &tempPath() const { return temp_; }
  bool committed() const { return committed_; }

private:
  [[noreturn]] void fail(const std::string &what, int err);

  std::string path_, temp_;
  unsigned mode_;
  int fd_ = -1;
  bool committed_ = false;
  bool keepMode_ = false;  // the old target's permissions
  unsigned oldMode_ = 0;
};

/// `bytes` to `path` through an AtomicOutput. Throws FileError.
void writeFileAtomically(const std::string &path, std::string_view bytes, unsigned mode = 0666);

/// An exclusive lock that a run holds on a file it writes again and again (a checkpoint), so
/// that a second run naming the same file stops at once with "WHAT 'PATH' is in use by another
/// run" instead of the two replacing each other's files. The lock is flock() on `PATH.lock`,
/// opened with O_NOFOLLOW (a link there is an error) and removed when the lock is released; a
/// lock file left by a run that was killed is taken over. Throws FileError.
class FileLock {
public:
  FileLock() = default;
  FileLock(const std::string &path, const std::string &what);
  ~FileLock();
  FileLock(FileLock &&other) noexcept;
  FileLock &operator=(FileLock &&other) noexcept;
  FileLock(const FileLock &) = delete;
  FileLock &operator=(const FileLock &) = delete;
  bool held() const { return fd_ >= 0; }
  /// `PATH.lock`.
  static std::string lockPath(const std::string &path);

private:
  void release();
  std::string lockPath_;
  int fd_ = -1;
};

/// A file a command reads or writes, as checkFileUses sees it.
struct FileUse {
  enum class Kind {
    Read,              // an input
    Write,             // an output
    WriteOnInterrupt,  // an output written only when the run is interrupted: no folder check
    Open,              // an output already open (standard output): compared with the inputs only
  };
  FileUse(Kind kind, std::string path, std::string role, std::string mayBe = {})
      : kind(kind), path(std::move(path)), role(std::move(role)), mayBe(std::move(mayBe)) {}
  Kind kind = Kind::Read;
  std::string path;
  std::string role;  // how the command line names it: `--data`, `-o`, `the model`
  /// The role of an input this output may be, because the input is read completely before the
  /// output is first written and replacing it is the point (`--checkpoint` and `--resume`).
  std::string mayBe;
};

/// Whether two paths name the same file: the same device and inode when both exist, else the
/// same path once the folder is resolved (`./d.csv`, `dir/../d.csv` and `d.csv` are one file).
bool sameFile(const std::string &a, const std::string &b);

/// The checks every command makes before it starts work: no output is the same file as an input
/// (unless FileUse::mayBe says so) or as another output; every output's target is a regular file,
/// or a link to one, or does not exist yet; and every output's folder exists, is a folder and can
/// be written. Empty paths are skipped. Throws FileError naming both roles and the path.
void checkFileUses(const std::vector<FileUse> &uses);

/// A fresh folder in the system's temporary directory ($TMPDIR, else /tmp) that only this user
/// can enter (mkdtemp: created atomically, mode 0700), removed with everything in it when this
/// goes. Throws FileError.
class TempDir {
public:
  explicit TempDir(const std::string &prefix = "nabla");
  ~TempDir();
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  const std::string &path() const { return path_; }
  /// A path inside, removed with the folder.
  std::string file(const std::string &name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

/// The whole of a regular file (a file of a TempDir, for example). Throws FileError.
std::string readWholeFile(const std::string &path);

}  // namespace nabla
