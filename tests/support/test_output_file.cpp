// support/output_file.h: files replaced whole (the old file intact when a write fails, readers of
// the old file undisturbed), temporary files that never follow links, targets that are not
// regular files refused, the checks of outputs against inputs, the lock of a checkpoint, and the
// private temporary folder.
#include "support/files.h"  // the tests' scratch folders and files
#include "support/output_file.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

using nabla::AtomicOutput;
using nabla::checkFileUses;
using nabla::FileError;
using nabla::FileLock;
using nabla::FileUse;
using nabla::writeFileAtomically;
using nabla::test::inodeOf;
using nabla::test::readText;
using nabla::test::ScratchDir;
using nabla::test::writeText;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

mode_t lmode(const std::string &path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode;
}

std::string errorOf(const std::function<void()> &f) {
  try {
    f();
  } catch (const FileError &e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a file is replaced whole, and a reader of the old one keeps it", "[support][files]") {
  ScratchDir dir("output_replace");
  const std::string target = dir.file("lib.so");
  writeText(target, "old contents");
  const ino_t before = inodeOf(target);
  const int reader = ::open(target.c_str(), O_RDONLY);
  REQUIRE(reader >= 0);

  writeFileAtomically(target, "new contents, longer than the old");
  CHECK(readText(target) == "new contents, longer than the old");
  CHECK(inodeOf(target) != before);  // a new file under the old name
  char buffer[64] = {};
  CHECK(::pread(reader, buffer, sizeof buffer, 0) == 12);
  CHECK(std::string(buffer) == "old contents");  // never truncated under the reader
  ::close(reader);
  CHECK(dir.names() == std::vector<std::string>{"lib.so"});  // no temporary file left
}

TEST_CASE("a write that does not complete leaves the old file and no temporary file",
          "[support][files]") {
  ScratchDir dir("output_fail");
  const std::string target = dir.file("params.json");
  writeText(target, "good");
  {
    AtomicOutput out(target);
    out.write("half of the new");
    CHECK(fs::exists(out.tempPath()));
    // An exception before commit(): the destructor removes the temporary file.
  }
  CHECK(readText(target) == "good");
  CHECK(dir.names() == std::vector<std::string>{"params.json"});

  // A full disk (here: the file size limit, which fails write() with EFBIG the same way), in a
  // child process so that the limit stays there.
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit {
      16, 16
    };
    ::setrlimit(RLIMIT_FSIZE, &limit);
    try {
      writeFileAtomically(target, std::string(4096, 'x'));
      ::_exit(1);
    } catch (const FileError &e) {
      ::_exit(std::strstr(e.what(), "File too large") ? 0 : 2);
    }
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(readText(target) == "good");
  CHECK(dir.names() == std::vector<std::string>{"params.json"});
}

TEST_CASE("temporary files are new, private, unique and never follow a link", "[support][files]") {
  ScratchDir dir("output_temp");
  const std::string target = dir.file("out.json"), victim = dir.file("victim");
  writeText(victim, "precious");
  // The names a fixed scheme would use, planted as links to the victim.
  for (const char *name : {"out.json.tmp", ".out.json.tmp", "out.json~", "out.json.new"})
    fs::create_symlink(victim, dir.file(name));
  AtomicOutput a(target), b(target);
  CHECK(a.tempPath() != b.tempPath());
  for (const AtomicOutput *o : {&a, &b}) {
    CHECK(fs::path(o->tempPath()).parent_path() == fs::path(target).parent_path());
    CHECK(S_ISREG(lmode(o->tempPath())));
    CHECK((lmode(o->tempPath()) & 0777) == 0600);  // nobody else reads it while it is written
  }
  a.write("from a");
  a.commit();
  b.discard();
  CHECK(readText(victim) == "precious");
  CHECK(readText(target) == "from a");
  CHECK(S_ISREG(lmode(target)));
  CHECK(!fs::exists(b.tempPath()));
}

TEST_CASE("the final mode: the old file's, else the umask's", "[support][files]") {
  ScratchDir dir("output_mode");
  const std::string kept = dir.file("kept"), fresh = dir.file("fresh");
  writeText(kept, "x");
  ::chmod(kept.c_str(), 0640);
  writeFileAtomically(kept, "y");
  CHECK((lmode(kept) & 07777) == 0640);
  const mode_t old = ::umask(027);
  writeFileAtomically(fresh, "z");
  writeFileAtomically(dir.file("exec"), "z", 0777);
  ::umask(old);
  CHECK((lmode(fresh) & 07777) == 0640);
  CHECK((lmode(dir.file("exec")) & 07777) == 0750);
}

TEST_CASE("a target that is not a regular file is refused and left as it is", "[support][files]") {
  ScratchDir dir("output_kinds");
  const std::string fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  CHECK_THAT(errorOf([&] { writeFileAtomically(fifo, "x"); }),
             Contains("'" + fifo + "': it is a FIFO, and nabla replaces only regular files"));
  CHECK(S_ISFIFO(lmode(fifo)));

  fs::create_directory(dir.file("folder"));
  CHECK_THAT(errorOf([&] { writeFileAtomically(dir.file("folder"), "x"); }),
             Contains("it is a folder"));
  CHECK_THAT(errorOf([&] { writeFileAtomically(dir.file("folder") + "/", "x"); }),
             Contains("it names a folder, not a file"));

  // A character device: /dev/null itself, a link to it, and a copy made with mknod where this
  // user may make one.
  CHECK_THAT(errorOf([&] { writeFileAtomically("/dev/null", "x"); }),
             Contains("it is a character device"));
  CHECK(S_ISCHR(lmode("/dev/null")));
  fs::create_symlink("/dev/null", dir.file("null-link"));
  CHECK_THAT(errorOf([&] { writeFileAtomically(dir.file("null-link"), "x"); }),
             Contains("it is a symbolic link to a character device"));
  CHECK(fs::is_symlink(dir.file("null-link")));
  const std::string device = dir.file("null-copy");
  if (::mknod(device.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0) {
    CHECK_THAT(errorOf([&] { writeFileAtomically(device, "x"); }),
               Contains("it is a character device"));
    CHECK(S_ISCHR(lmode(device)));
  } else {
    WARN("mknod is not permitted here (" << std::strerror(errno)
                                         << "): the copy of /dev/null is not tried");
  }
  fs::create_symlink(fifo, dir.file("fifo-link"));
  CHECK_THAT(errorOf([&] { writeFileAtomically(dir.file("fifo-link"), "x"); }),
             Contains("a symbolic link to a FIFO"));

  // Nothing was left behind by the refusals.
  for (const std::string &name : dir.names()) CHECK(name.find(".tmp") == std::string::npos);
}

TEST_CASE("a link to a regular file is replaced, not written through", "[support][files]") {
  ScratchDir dir("output_links");
  const std::string pointed = dir.file("pointed"), link = dir.file("link");
  writeText(pointed, "kept");
  fs::create_symlink(pointed, link);
  writeFileAtomically(link, "new");
  CHECK(!fs::is_symlink(link));
  CHECK(readText(link) == "new");
  CHECK(readText(pointed) == "kept");
  // A dangling link too.
  fs::create_symlink(dir.file("nowhere"), dir.file("dangling"));
  writeFileAtomically(dir.file("dangling"), "there");
  CHECK(readText(dir.file("dangling")) == "there");
  CHECK(!fs::exists(dir.file("nowhere")));
}

TEST_CASE("a read-only file or folder is not replaced", "[support][files]") {
  if (::geteuid() == 0) {
    WARN("running as root, who may write anything: the read-only cases are not tried");
    return;
  }
  ScratchDir dir("output_readonly");
  const std::string file = dir.file("ro");
  writeText(file, "kept");
  ::chmod(file.c_str(), 0444);
  CHECK_THAT(errorOf([&] { writeFileAtomically(file, "x"); }), Contains("Permission denied"));
  CHECK(readText(file) == "kept");
  fs::create_directory(dir.file("sealed"));
  ::chmod(dir.file("sealed").c_str(), 0555);
  CHECK_THAT(errorOf([&] { writeFileAtomically(dir.file("sealed/x"), "x"); }),
             Contains("Permission denied"));
  CHECK_THAT(errorOf([&] { checkFileUses({{FileUse::Kind::Write, dir.file("sealed/x"), "-o"}}); }),
             Contains("its folder '" + dir.file("sealed") + "' cannot be written"));
  ::chmod(dir.file("sealed").c_str(), 0755);
}

TEST_CASE("outputs are checked against inputs and each other", "[support][files]") {
  ScratchDir dir("output_uses");
  using K = FileUse::Kind;
  const std::string data = dir.file("d.csv");
  writeText(data, "x\n1\n");
  fs::create_directory(dir.file("sub"));
  auto refused = [](const std::vector<FileUse> &uses) {
    try {
      checkFileUses(uses);
    } catch (const FileError &e) {
      return std::make_pair(std::string(e.what()), e.conflict());
    }
    return std::make_pair(std::string(), false);
  };
  // The same file: the same path, other spellings, a hard link, a link.
  fs::create_hard_link(data, dir.file("hard.csv"));
  fs::create_symlink(data, dir.file("soft.csv"));
  const std::string cwdBefore = fs::current_path();
  fs::current_path(fs::path(data).parent_path());
  for (const std::string &spelling :
       {data, std::string("d.csv"), std::string("./d.csv"), std::string("sub/../d.csv"),
        dir.file("hard.csv"), dir.file("soft.csv"), dir.file("./sub/../d.csv")}) {
    INFO(spelling);
    auto [message, conflict] = refused({{K::Read, data, "--data"}, {K::Write, spelling, "--log"}});
    CHECK(conflict);
    CHECK_THAT(message, Contains("--log '" + spelling + "' is the same file as --data"));
  }
  // Two outputs that do not exist yet, one name spelled two ways.
  {
    auto [message, conflict] =
        refused({{K::Write, "p.json", "-o"}, {K::Write, "./sub/../p.json", "--plot"}});
    CHECK(conflict);
    CHECK_THAT(message, Contains("are the same file: one output would overwrite the other"));
  }
  fs::current_path(cwdBefore);
  // Different files, an input that is an output's allowed twin, and outputs read nowhere else.
  CHECK(refused({{K::Read, data, "--data"}, {K::Write, dir.file("log.csv"), "--log"}}).first ==
        "");
  CHECK(refused({{K::Read, dir.file("ck"), "--resume"},
                 {K::Write, dir.file("ck"), "--checkpoint", "--resume"}})
            .first == "");
  CHECK(refused({{K::Read, data, "--data"}, {K::Read, data, "--init"}}).first == "");
  CHECK(refused({{K::Read, data, "--init"}, {K::Write, data, "--checkpoint", "--resume"}})
            .second);
  // Output folders: missing, not a folder; and targets that are not regular files.
  auto [missing, c1] = refused({{K::Write, dir.file("nonexistent/p.json"), "-o"}});
  CHECK_FALSE(c1);
  CHECK_THAT(missing, Contains("cannot write '" + dir.file("nonexistent/p.json") +
                               "' (-o): its folder '" + dir.file("nonexistent") +
                               "' does not exist"));
  CHECK_THAT(refused({{K::Write, data + "/p.json", "-o"}}).first, Contains("is not a folder"));
  REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0644) == 0);
  CHECK_THAT(refused({{K::Write, dir.file("fifo"), "-o"}}).first, Contains("it is a FIFO"));
  // Written only on an interrupt: checked against inputs, its folder not required.
  CHECK(refused({{K::WriteOnInterrupt, dir.file("nonexistent/m.checkpoint"), "Ctrl-C"}}).first ==
        "");
  CHECK(refused({{K::Read, data, "--data"}, {K::WriteOnInterrupt, data, "Ctrl-C"}}).second);
  // An output already open (standard output), against the inputs only.
  CHECK(refused({{K::Read, data, "--data"}, {K::Open, data, "standard output"}}).first ==
        "standard output is the same file as --data '" + data +
            "': writing it would destroy the input (give another name)");
  CHECK(refused({{K::Write, data, "-o"}, {K::Open, data, "standard output"}}).first == "");
}

TEST_CASE("a lock keeps a second run off a checkpoint", "[support][files]") {
  ScratchDir dir("output_lock");
  const std::string ck = dir.file("ck");
  {
    FileLock first(ck, "checkpoint");
    CHECK(first.held());
    CHECK(fs::exists(ck + ".lock"));
    // flock() locks belong to an open file: a second open in this process is another run.
    CHECK(errorOf([&] { FileLock second(ck, "checkpoint"); }) ==
          "checkpoint '" + ck + "' is in use by another run (which holds '" + ck + ".lock')");
    FileLock moved = std::move(first);
    CHECK(moved.held());
    CHECK_FALSE(first.held());
    CHECK_THAT(errorOf([&] { FileLock second(ck, "checkpoint"); }), Contains("in use"));
  }
  CHECK_FALSE(fs::exists(ck + ".lock"));  // released and removed
  // A lock file left by a run that was killed is taken over.
  writeText(ck + ".lock", "");
  {
    FileLock again(ck, "checkpoint");
    CHECK(again.held());
  }
  // A file with data where the lock file goes (another output named like a lock) is neither held
  // nor removed; nor is a file renamed over the lock file while it is held.
  writeText(ck + ".lock", "data");
  CHECK_THAT(errorOf([&] { FileLock l(ck, "checkpoint"); }), Contains("is not an empty lock file"));
  CHECK(readText(ck + ".lock") == "data");
  fs::remove(ck + ".lock");
  {
    FileLock held(ck, "checkpoint");
    writeFileAtomically(ck + ".lock", "a checkpoint");
  }
  CHECK(readText(ck + ".lock") == "a checkpoint");
  fs::remove(ck + ".lock");
  // A link where the lock file goes is not followed.
  writeText(dir.file("victim"), "precious");
  fs::create_symlink(dir.file("victim"), ck + ".lock");
  CHECK_THAT(errorOf([&] { FileLock l(ck, "checkpoint"); }), Contains("is a symbolic link"));
  CHECK(readText(dir.file("victim")) == "precious");
  fs::remove(ck + ".lock");
  REQUIRE(::mkfifo((ck + ".lock").c_str(), 0644) == 0);
  CHECK_THAT(errorOf([&] { FileLock l(ck, "checkpoint"); }), Contains("is a FIFO"));
}

TEST_CASE("a private temporary folder goes with all it holds, links not followed",
          "[support][files]") {
  ScratchDir dir("output_tempdir");
  const std::string outside = dir.file("outside");
  writeText(outside, "kept");
  std::string path;
  {
    nabla::TempDir temp("nabla-test");
    path = temp.path();
    CHECK((lmode(path) & 0777) == 0700);
    writeText(temp.file("a"), "x");
    fs::create_symlink(outside, temp.file("link"));
    fs::create_directory_symlink(fs::path(outside).parent_path(), temp.file("folder-link"));
  }
  CHECK_FALSE(fs::exists(path));
  CHECK(readText(outside) == "kept");
}
