#include "jit/object_cache.h"

#include "support/input_file.h"
#include "support/output_file.h"

#include <llvm/ADT/ArrayRef.h>
#include <llvm/ADT/StringRef.h>
#include <llvm/Support/SHA256.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

namespace nabla::jit {

namespace {

constexpr std::string_view kMagic = "nabla-object 1 ";

std::string hex(llvm::ArrayRef<std::uint8_t> bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

std::string sha256(std::string_view bytes) {
  llvm::SHA256 hash;
  hash.update(llvm::StringRef(bytes.data(), bytes.size()));
  const std::array<std::uint8_t, 32> digest = hash.final();
  return hex(digest);
}

/// Whether every character of `key` is a lower-case hex digit (a key names a file).
bool validKey(std::string_view key) {
  if (key.empty() || key.size() > 128) return false;
  for (char c : key)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

ObjectCache::ObjectCache(std::string folder) : folder_(std::move(folder)) {
  if (folder_.empty()) {
    why_ = "no folder";
    return;
  }
  if (::mkdir(folder_.c_str(), 0700) != 0 && errno != EEXIST) {
    why_ = "cannot make the folder: " + std::string(std::strerror(errno));
    return;
  }
  struct stat st {};
  if (::lstat(folder_.c_str(), &st) != 0) {
    why_ = std::string(std::strerror(errno));
    return;
  }
  if (!S_ISDIR(st.st_mode)) {
    why_ = "it is not a folder";
    return;
  }
  if (st.st_uid != ::geteuid()) {
    why_ = "it belongs to another user";
    return;
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    why_ = "others can write to it";
    return;
  }
  usable_ = true;
}

std::string ObjectCache::path(std::string_view key) const {
  return folder_ + "/" + std::string(key) + ".o";
}

std::optional<std::string> ObjectCache::load(std::string_view key) const {
  if (!usable_ || !validKey(key)) return std::nullopt;
  std::string text;
  try {
    InputFile file(path(key), "a cached object", kMaxObjectBytes + 256);
    text = file.readAll();
  } catch (const InputError &) {
    return std::nullopt;  // missing, not a regular file, too large
  }
  // `nabla-object 1 SIZE SHA256\n` and SIZE bytes whose hash is SHA256.
  if (text.compare(0, kMagic.size(), kMagic) != 0) return std::nullopt;
  const std::size_t newline = text.find('\n');
  if (newline == std::string::npos || newline > 128) return std::nullopt;
  const std::string header = text.substr(kMagic.size(), newline - kMagic.size());
  const std::size_t space = header.find(' ');
  if (space == std::string::npos) return std::nullopt;
  char *end = nullptr;
  const unsigned long long size = std::strtoull(header.c_str(), &end, 10);
  if (end != header.c_str() + space || size > kMaxObjectBytes) return std::nullopt;
  if (text.size() - newline - 1 != size) return std::nullopt;
  std::string object = text.substr(newline + 1);
  if (sha256(object) != header.substr(space + 1)) return std::nullopt;
  return object;
}

bool ObjectCache::store(std::string_view key, std::string_view object) const {
  if (!usable_ || !validKey(key) || object.size() > kMaxObjectBytes) return false;
  std::string bytes(kMagic);
  bytes += std::to_string(object.size()) + " " + sha256(object) + "\n";
  bytes += object;
  try {
    writeFileAtomically(path(key), bytes, 0600);
    return true;
  } catch (const FileError &) {
    return false;  // a full disk, a folder gone: the cache is just colder
  }
}

std::string ObjectCache::key(std::initializer_list<std::string_view> parts) {
  llvm::SHA256 hash;
  for (std::string_view part : parts) {
    const std::string length = std::to_string(part.size()) + ":";
    hash.update(llvm::StringRef(length));
    hash.update(llvm::StringRef(part.data(), part.size()));
  }
  const std::array<std::uint8_t, 32> digest = hash.final();
  return hex(digest);
}

std::string ObjectCache::folderFromEnvironment() {
  if (const char *dir = std::getenv("NABLA_CACHE_DIR"); dir && *dir) return dir;
  const char *on = std::getenv("NABLA_CACHE");
  if (!on || std::string_view(on) != "1") return {};
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg == '/') return std::string(xdg) + "/nabla";
  if (const char *home = std::getenv("HOME"); home && *home == '/') {
    const std::string cache = std::string(home) + "/.cache";
    ::mkdir(cache.c_str(), 0700);  // the XDG cache itself, as other programs make it
    return cache + "/nabla";
  }
  return {};
}

}  // namespace nabla::jit
