// The compile cache: object code that LLVM made, kept on disk under a key of everything that
// decides it, so that compiling the same module again (in another process, another day) loads
// the object instead of running LLVM (docs/jit.md, "The compile cache").
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace nabla::jit {

/// A folder of objects, one file `KEY.o` per key: a header line `nabla-object 1 SIZE SHA256` and
/// the object's bytes. An entry that is damaged (truncated, its hash wrong, not a regular file,
/// larger than the cap) is never loaded: load() misses, and the next store() replaces it.
/// Entries are written whole and renamed into place, so concurrent processes never see a partial
/// one. Thread-safe (it keeps no state but the folder's path).
class ObjectCache {
public:
  /// The largest object the cache keeps or loads.
  static constexpr std::size_t kMaxObjectBytes = std::size_t{256} << 20;

  /// The cache in `folder`, which is made (mode 0700) when missing. A folder that cannot be
  /// made, is not a folder, belongs to another user or can be written by others is not used:
  /// usable() is false and why() says why (an object from such a folder could be anyone's).
  explicit ObjectCache(std::string folder);

  bool usable() const { return usable_; }
  const std::string &why() const { return why_; }
  const std::string &folder() const { return folder_; }

  /// The object stored under `key`, or nullopt (missing, damaged, or the cache not usable).
  std::optional<std::string> load(std::string_view key) const;
  /// Stores `object` under `key`; false when it could not (the cache is then just colder).
  bool store(std::string_view key, std::string_view object) const;

  /// A key: the SHA-256 of `parts`, each with its length (so that no two lists of parts give the
  /// same bytes), in hex.
  static std::string key(std::initializer_list<std::string_view> parts);

  /// The folder that NABLA_CACHE_DIR names, else with NABLA_CACHE=1 the XDG cache
  /// ($XDG_CACHE_HOME/nabla, else ~/.cache/nabla); empty when the cache is off (the default).
  static std::string folderFromEnvironment();

private:
  std::string path(std::string_view key) const;

  std::string folder_;
  bool usable_ = false;
  std::string why_;
};

}  // namespace nabla::jit
