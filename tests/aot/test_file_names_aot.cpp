// The library's file name becomes its soname, and reaches the linker: no character of it may
// become an option (`-o 'libq,-z,execstack,-soname,libq.so'` once gave an executable stack).
// Each name gives either a library whose soname is exactly the file name, with a stack that is
// not executable, read back from the ELF file here, or an error that names the file.
#include "aot_test_util.h"

#include <elf.h>

#include <cstring>
#include <optional>

using namespace nabla::aottest;
using nabla::test::ProcessResult;

namespace {

/// What the test reads of a shared library: its DT_SONAME entries and its PT_GNU_STACK flags.
struct ElfFacts {
  std::vector<std::string> sonames;
  std::optional<std::uint32_t> stackFlags;  // none: no PT_GNU_STACK header
};

template <class T>
T readAt(const std::string &bytes, std::uint64_t offset) {
  if (offset > bytes.size() || bytes.size() - offset < sizeof(T))
    throw std::runtime_error("ELF file truncated at " + std::to_string(offset));
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

/// Reads a 64-bit little-endian ELF shared library by its program headers, as the dynamic
/// loader does (no section headers, no readelf).
ElfFacts readElf(const std::string &bytes) {
  const auto header = readAt<Elf64_Ehdr>(bytes, 0);
  REQUIRE(std::memcmp(header.e_ident, ELFMAG, SELFMAG) == 0);
  REQUIRE(header.e_ident[EI_CLASS] == ELFCLASS64);
  REQUIRE(header.e_type == ET_DYN);
  std::vector<Elf64_Phdr> segments;
  for (unsigned i = 0; i < header.e_phnum; ++i)
    segments.push_back(
        readAt<Elf64_Phdr>(bytes, header.e_phoff + std::uint64_t(i) * header.e_phentsize));
  auto fileOffset = [&](std::uint64_t address) -> std::uint64_t {
    for (const Elf64_Phdr &s : segments)
      if (s.p_type == PT_LOAD && address >= s.p_vaddr && address < s.p_vaddr + s.p_filesz)
        return address - s.p_vaddr + s.p_offset;
    throw std::runtime_error("address outside the loaded segments");
  };
  ElfFacts facts;
  std::vector<std::uint64_t> sonameOffsets;
  std::optional<std::uint64_t> strtab;
  for (const Elf64_Phdr &s : segments) {
    if (s.p_type == PT_GNU_STACK) facts.stackFlags = s.p_flags;
    if (s.p_type != PT_DYNAMIC) continue;
    for (std::uint64_t at = s.p_offset; at + sizeof(Elf64_Dyn) <= s.p_offset + s.p_filesz;
         at += sizeof(Elf64_Dyn)) {
      const auto entry = readAt<Elf64_Dyn>(bytes, at);
      if (entry.d_tag == DT_NULL) break;
      if (entry.d_tag == DT_STRTAB) strtab = entry.d_un.d_ptr;
      if (entry.d_tag == DT_SONAME) sonameOffsets.push_back(entry.d_un.d_val);
    }
  }
  for (std::uint64_t offset : sonameOffsets) {
    REQUIRE(strtab);
    const std::uint64_t begin = fileOffset(*strtab + offset);
    const std::size_t end = bytes.find('\0', begin);
    REQUIRE(end != std::string::npos);
    facts.sonames.push_back(bytes.substr(begin, end - begin));
  }
  return facts;
}

/// `name` for test messages, control characters escaped.
std::string printable(const std::string &name) {
  std::string out;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02X", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

/// Runs `nabla compile` of sq(x) = x^2 in `dir` (its working directory, where a linker would look
/// for a response file), with `dir/tmp` as TMPDIR, and `env` (`CC=...`).
ProcessResult compileIn(const TempDir &dir, const std::string &output,
                        const std::vector<std::string> &env = {}) {
  std::vector<std::string> all = {"-C", dir.path(), "TMPDIR=" + (dir / "tmp")};
  all.insert(all.end(), env.begin(), env.end());
  return runNablaWith({"compile", dir / "sq.nabla", "-o", output}, all);
}

/// Makes `dir` ready for compileIn: the model, the TMPDIR, and files that a linker would read
/// options from if a file name became a response file.
void prepare(const TempDir &dir) {
  writeText(dir / "sq.nabla", "sq(x) = x^2\n");
  writeText(dir / "opts", "-z execstack\n");
  writeText(dir / "libq.so", "-z execstack\n");
  std::filesystem::create_directory(dir / "tmp");
}

/// Whether the link left nothing in its temporary directory.
bool tmpIsEmpty(const TempDir &dir) { return std::filesystem::is_empty(dir / "tmp"); }

/// `nabla compile` of sq(x) = x^2 into `dir/name`: a library whose soname is exactly `name`, with
/// a stack that is not executable, and that computes x^2.
void checkLibraryNamed(const TempDir &dir, const std::string &name,
                       const std::vector<std::string> &env = {}) {
  INFO("file name '" << printable(name) << "' (" << name.size() << " bytes)");
  const std::string path = dir / ("out/" + name);
  ProcessResult r = compileIn(dir, path, env);
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  const ElfFacts facts = readElf(readText(path));
  REQUIRE(facts.sonames.size() == 1);
  CHECK(facts.sonames[0] == name);
  REQUIRE(facts.stackFlags);
  CHECK((*facts.stackFlags & PF_X) == 0);
  Library library(path);
  CHECK(library.get<double (*)(double)>("sq")(3.0) == 9.0);
  CHECK(tmpIsEmpty(dir));
}

}  // namespace

TEST_CASE("the file name of a library is its soname and never a linker option",
          "[aot][library][names]") {
  TempDir dir;
  prepare(dir);
  std::filesystem::create_directory(dir / "out");
  const std::vector<std::string> names = {
      "libq,-z,execstack,-soname,libq.so",  // commas once split the soname into options
      "libq.so,-z,execstack",
      "-z",                                  // a whole name that is an option
      "-libq.so",
      "--version",
      "@opts",                               // a response file to ld and to gcc's driver
      "@libq.so",
      "libq=-z=execstack.so",
      "lib q -z execstack.so",               // spaces
      "lib'q\"$(true)`.so",                  // quotes and shell syntax: no shell runs
      "lib%s%n{o}*.so",                      // gcc spec and printf directives
      "libq\\.so",
      "libq\xc3\xa9\xe2\x88\x87.so",          // UTF-8
      "libq\xff\xfe.so",                     // bytes that are not UTF-8
      "lib" + std::string(240, 'q') + ".so", // near NAME_MAX (255)
  };
  for (const std::string &name : names) checkLibraryNamed(dir, name);

  // The same with a driver of several words from $CC, and with clang when it is there.
  checkLibraryNamed(dir, "libq,-z,execstack,-soname,libq.so", {"CC=cc -m64"});
  if (run({"clang", "--version"}).exitCode == 0)
    checkLibraryNamed(dir, "libq,-z,execstack.so", {"CC=clang"});
}

TEST_CASE("a library's file name with a control character is an error that names it",
          "[aot][errors][names]") {
  TempDir dir;
  prepare(dir);
  const std::vector<std::pair<std::string, std::string>> names = {
      {"libq\n-z execstack.so", "libq\\x0A-z execstack.so"},
      {"libq\r.so", "libq\\x0D.so"},
      {"libq\t.so", "libq\\x09.so"},
      {"libq\x1b[2J.so", "libq\\x1B[2J.so"},  // a terminal escape: shown, not sent
      {"libq\x7f.so", "libq\\x7F.so"},
  };
  for (const auto &[name, shown] : names) {
    INFO(shown);
    ProcessResult r = compileIn(dir, dir / name);
    INFO(r.err);
    CHECK(r.exitCode == 1);
    CHECK(contains(r.err, "cannot link '" + shown + "': the library's file name holds a control "
                          "character"));
    CHECK_FALSE(contains(r.err, name));
    CHECK_FALSE(std::filesystem::exists(dir / name));
    CHECK(tmpIsEmpty(dir));
  }
  // A driver that fails leaves no temporary directory either.
  ProcessResult failing = compileIn(dir, dir / "libq2.so", {"CC=false"});
  CHECK(failing.exitCode == 1);
  CHECK(tmpIsEmpty(dir));
}
