// NumPy files as data: a .npy array (structured, or plain of one or two dimensions) or the
// arrays of a .npz archive (numpy.savez, savez_compressed), as named columns of rows. The
// headers are read when the file is opened; an array's data when its columns are read. Every
// size is checked against the file's (or the zip member's) length before it is believed, and a
// deflated member is inflated to at most the size its header declares (no zip bombs).
//   npy  = "\x93NUMPY" major minor header-length header data     (NEP 1, versions 1 to 3)
//   zip  = { local-header data } central-directory end-record    (APPNOTE 6.3, zip64 too)
#include "runtime/data/data.h"
#include "runtime/data/internal.h"

#include "support/input_file.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <variant>

namespace nabla::data {

namespace {

/// The element types read: NumPy's type strings without the byte order.
enum class Type { F8, F4, I1, I2, I4, I8, U1, U2, U4, U8, B1 };

std::optional<Type> typeOf(std::string_view descr, std::size_t &size) {
  if (descr.size() < 3)
    return std::nullopt;
  const char order = descr[0];
  const std::string_view t = descr.substr(1);
  static const std::pair<std::string_view, Type> kTypes[] = {
      {"f8", Type::F8}, {"f4", Type::F4}, {"i1", Type::I1}, {"i2", Type::I2},
      {"i4", Type::I4}, {"i8", Type::I8}, {"u1", Type::U1}, {"u2", Type::U2},
      {"u4", Type::U4}, {"u8", Type::U8}, {"b1", Type::B1}};
  for (const auto &[name, type] : kTypes)
    if (t == name) {
      size = static_cast<std::size_t>(name[1] - '0');
      // One byte has no order ('|'); more must be little-endian ('<', or '=' on this machine).
      if (size == 1 ? order != '|' && order != '<' && order != '>' && order != '='
                    : order != '<' && order != '=')
        return std::nullopt;
      return type;
    }
  return std::nullopt;
}

/// A small Python literal, as a .npy header holds one: a dict of strings, booleans, integers,
/// tuples and lists.
struct Literal {
  std::variant<std::string, bool, long long, std::vector<Literal>> value;
  bool dict = false; // a dict's items are pairs (key, value) in `value`
  const std::string *string() const { return std::get_if<std::string>(&value); }
  const std::vector<Literal> *items() const { return std::get_if<std::vector<Literal>>(&value); }
};

class LiteralParser {
public:
  explicit LiteralParser(std::string_view text) : text_(text) {}
  /// The literal, or nullopt (then `problem()` says why).
  std::optional<Literal> parse() {
    std::optional<Literal> v = value(0);
    skip();
    if (v && pos_ != text_.size())
      return fail("text after the header's dict");
    return v;
  }
  const std::string &problem() const { return problem_; }

private:
  std::optional<Literal> fail(std::string why) {
    if (problem_.empty())
      problem_ = std::move(why);
    return std::nullopt;
  }
  void skip() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n'))
      ++pos_;
  }
  std::optional<Literal> value(int depth) {
    if (depth > 16)
      return fail("the header nests too deep");
    skip();
    if (pos_ >= text_.size())
      return fail("the header ends early");
    const char c = text_[pos_];
    Literal out;
    if (c == '\'' || c == '"') {
      const std::size_t close = text_.find(c, pos_ + 1);
      if (close == std::string_view::npos)
        return fail("a string in the header is not closed");
      out.value = std::string(text_.substr(pos_ + 1, close - pos_ - 1));
      pos_ = close + 1;
      return out;
    }
    if (text_.substr(pos_, 4) == "True" || text_.substr(pos_, 5) == "False") {
      out.value = c == 'T';
      pos_ += c == 'T' ? 4 : 5;
      return out;
    }
    if ((c >= '0' && c <= '9') || c == '-') {
      const bool negative = c == '-';
      std::size_t end = pos_ + negative;
      long long v = 0;
      while (end < text_.size() && text_[end] >= '0' && text_[end] <= '9') {
        if (v > (LLONG_MAX - 9) / 10)
          return fail("a number in the header is too large");
        v = v * 10 + (text_[end++] - '0');
      }
      if (end == pos_ + negative)
        return fail("a '-' without digits in the header");
      out.value = negative ? -v : v;
      pos_ = end;
      return out;
    }
    const char close = c == '(' ? ')' : c == '[' ? ']' : c == '{' ? '}' : 0;
    if (!close)
      return fail("unexpected '" + printable(std::string_view(&c, 1)) + "' in the header");
    out.dict = c == '{';
    ++pos_;
    std::vector<Literal> items;
    while (true) {
      skip();
      if (pos_ < text_.size() && text_[pos_] == close) {
        ++pos_;
        break;
      }
      if (items.size() > kMaxCsvColumns)
        return fail("the header has too many items");
      std::optional<Literal> item = value(depth + 1);
      if (!item)
        return std::nullopt;
      if (out.dict) {
        skip();
        if (pos_ >= text_.size() || text_[pos_] != ':')
          return fail("expected ':' in the header's dict");
        ++pos_;
        std::optional<Literal> v = value(depth + 1);
        if (!v)
          return std::nullopt;
        Literal pair;
        pair.value = std::vector<Literal>{std::move(*item), std::move(*v)};
        items.push_back(std::move(pair));
      } else {
        items.push_back(std::move(*item));
      }
      skip();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      skip();
      if (pos_ >= text_.size() || text_[pos_] != close)
        return fail("expected ',' or a closing bracket in the header");
    }
    out.value = std::move(items);
    return out;
  }
  std::string_view text_;
  std::size_t pos_ = 0;
  std::string problem_;
};

/// One column of an array: where its element lies in a row (or, Fortran order, in the array).
struct Field {
  std::string name;
  Type type = Type::F8;
  std::size_t size = 8;
  std::size_t offset = 0; // within a record (structured), or the column's index (plain 2-D)
};

/// An array's header, checked.
struct ArrayHeader {
  std::size_t dataStart = 0; // bytes before the data
  std::uint64_t rows = 0;
  std::size_t recordSize = 0; // bytes per row
  bool fortran = false;
  bool structured = false;
  std::size_t width = 1; // plain: columns per row
  std::vector<Field> fields;
};

std::uint64_t readLe(const unsigned char *p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i)
    v = v << 8 | p[i];
  return v;
}

/// Parses the header at the start of `bytes` (at least its first 10 bytes and the header, when
/// the array has one that fits). `name` prefixes messages ("d.npy", "d.npz: member 'x.npy'"),
/// `column` names a plain array's columns ("c" for .npy; the array's name for .npz).
ArrayHeader parseHeader(std::string_view bytes, const std::string &name, const std::string &column,
                        bool oneColumnKeepsName) {
  auto bad = [&](const std::string &why) { return DataError(name + ": " + why); };
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
    throw bad("not a NumPy .npy array (its first bytes are not \\x93NUMPY)");
  const auto *u = reinterpret_cast<const unsigned char *>(bytes.data());
  const int major = u[6];
  if (major < 1 || major > 3)
    throw bad("format version " + std::to_string(major) + " of .npy is not supported (1 to 3 are)");
  const std::size_t lengthBytes = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + lengthBytes)
    throw bad("the header is cut short");
  const std::uint64_t length = readLe(u + 8, static_cast<int>(lengthBytes));
  if (length > kMaxNpyHeaderBytes)
    throw bad("the header is " + std::to_string(length) + " bytes, more than the limit of " +
              std::to_string(kMaxNpyHeaderBytes));
  ArrayHeader h;
  h.dataStart = 8 + lengthBytes + static_cast<std::size_t>(length);
  if (bytes.size() < h.dataStart)
    throw bad("the header is cut short");
  LiteralParser parser(bytes.substr(8 + lengthBytes, static_cast<std::size_t>(length)));
  std::optional<Literal> dict = parser.parse();
  if (!dict)
    throw bad("malformed header: " + parser.problem());
  if (!dict->dict)
    throw bad("malformed header: not a dict");
  const Literal *descr = nullptr, *fortran = nullptr, *shape = nullptr;
  for (const Literal &pair : *dict->items()) {
    const std::vector<Literal> &kv = *pair.items();
    const std::string *key = kv[0].string();
    if (!key)
      continue;
    if (*key == "descr")
      descr = &kv[1];
    if (*key == "fortran_order")
      fortran = &kv[1];
    if (*key == "shape")
      shape = &kv[1];
  }
  if (!descr || !fortran || !shape || !std::holds_alternative<bool>(fortran->value) ||
      !shape->items())
    throw bad("malformed header: it needs 'descr', 'fortran_order' and 'shape'");
  h.fortran = std::get<bool>(fortran->value);
  std::vector<std::uint64_t> dims;
  for (const Literal &d : *shape->items()) {
    const long long *n = std::get_if<long long>(&d.value);
    if (!n || *n < 0)
      throw bad("malformed header: the shape holds something other than sizes");
    dims.push_back(static_cast<std::uint64_t>(*n));
  }
  auto unsupported = [&](const std::string &what) {
    return bad("unsupported element type " + what +
               " (float64 '<f8' is read as is; float32, integers, booleans converted exactly)");
  };
  if (const std::string *type = descr->string()) {
    Field f;
    std::optional<Type> t = typeOf(*type, f.size);
    if (!t)
      throw unsupported("'" + printable(*type) + "'");
    f.type = *t;
    if (dims.size() == 1) {
      h.width = 1;
    } else if (dims.size() == 2) {
      h.width = static_cast<std::size_t>(std::min<std::uint64_t>(dims[1], kMaxCsvColumns + 1));
      if (dims[1] > kMaxCsvColumns)
        throw bad("the array has " + std::to_string(dims[1]) + " columns, more than the limit of " +
                  std::to_string(kMaxCsvColumns));
    } else {
      throw bad("an array of " + std::to_string(dims.size()) +
                " dimensions (1 or 2 are read: rows, or rows and columns)");
    }
    for (std::size_t j = 0; j < h.width; ++j) {
      Field c = f;
      c.offset = j;
      c.name = dims.size() == 1 && oneColumnKeepsName ? column : column + std::to_string(j);
      h.fields.push_back(std::move(c));
    }
    h.recordSize = f.size * h.width;
  } else if (const std::vector<Literal> *fields = descr->items()) {
    if (dims.size() != 1)
      throw bad("a structured array must have one dimension, the rows");
    h.structured = true;
    std::size_t offset = 0;
    for (const Literal &item : *fields) {
      const std::vector<Literal> *pair = item.items();
      const std::string *fname = pair && !pair->empty() ? (*pair)[0].string() : nullptr;
      const std::string *ftype = pair && pair->size() == 2 ? (*pair)[1].string() : nullptr;
      if (!fname || !ftype)
        throw bad("malformed header: a field is not a (name, type) pair (fields of arrays are "
                  "not read)");
      Field f;
      std::optional<Type> t = typeOf(*ftype, f.size);
      if (!t)
        throw unsupported("'" + printable(*ftype) + "' of field '" + printable(*fname) + "'");
      f.type = *t;
      f.name = *fname;
      f.offset = offset;
      offset += f.size;
      if (!fname->empty())
        h.fields.push_back(std::move(f)); // numpy's padding is nameless
    }
    h.recordSize = offset;
    if (h.fields.empty())
      throw bad("the structured array has no fields");
  } else {
    throw bad("malformed header: 'descr' is neither a type nor a list of fields");
  }
  h.rows = dims[0];
  return h;
}

/// The bytes of the array after its header, as the file holds them: `rows * recordSize`
/// exactly.
void checkLength(const ArrayHeader &h, std::uint64_t length, const std::string &name) {
  unsigned __int128 need = static_cast<unsigned __int128>(h.rows) * h.recordSize + h.dataStart;
  if (need != length)
    throw DataError(name + ": its shape says " + std::to_string(h.rows) + " rows of " +
                    std::to_string(h.recordSize) + " bytes, " +
                    (need > length ? "but the data is cut short" : "but more data follows") + " (" +
                    std::to_string(length) + " bytes after the start, not " +
                    (need > UINT64_MAX ? std::string("that many")
                                       : std::to_string(static_cast<std::uint64_t>(need))) +
                    ")");
}

/// A member of a .npz archive.
struct Member {
  std::string name;             // its file name in the archive ("x.npy")
  std::uint64_t dataOffset = 0; // where its (compressed) bytes start in the file
  std::uint64_t compressed = 0, size = 0;
  std::uint32_t crc = 0;
  bool deflated = false;
  ArrayHeader header;
};

} // namespace

class NumpyArrays {
public:
  std::string path;
  std::shared_ptr<InputFile> file;
  bool archive = false;
  std::vector<Member> members; // one for .npy: the whole file
  struct Column {
    std::size_t member = 0, field = 0;
  };
  std::vector<Column> columns; // header order
  std::uint64_t rows = 0;

  std::string nameOf(const Member &m) const {
    return archive ? path + ": member '" + printable(m.name) + "'" : path;
  }

  void readExactly(std::uint64_t offset, char *out, std::size_t n) const {
    if (file->readAt(offset, out, n) != n)
      throw DataError(path + ": the file is cut short (or became shorter while it was read)");
  }

  /// The first `limit` bytes of a member as NumPy wrote them (inflated if need be), never more
  /// than its declared size; with `whole`, all of it, checked against its size and CRC-32.
  std::string memberBytes(const Member &m, std::uint64_t limit, bool whole) const {
    const std::string name = nameOf(m);
    limit = std::min(limit, m.size);
    std::string out;
    if (!m.deflated) {
      out.resize(static_cast<std::size_t>(limit));
      readExactly(m.dataOffset, out.data(), out.size());
    } else {
      z_stream z{};
      if (inflateInit2(&z, -MAX_WBITS) != Z_OK)
        throw DataError(name + ": cannot start zlib");
      std::vector<char> in(kInputChunkBytes);
      std::uint64_t read = 0;
      int status = Z_OK;
      // Grows as bytes come: a member that claims more than it holds costs what it holds.
      const std::size_t step = std::size_t{1} << 20;
      while (out.size() < limit && status != Z_STREAM_END) {
        if (z.avail_in == 0) {
          const std::size_t n =
              static_cast<std::size_t>(std::min<std::uint64_t>(in.size(), m.compressed - read));
          if (n == 0) {
            inflateEnd(&z);
            throw DataError(name + ": its compressed data is cut short");
          }
          readExactly(m.dataOffset + read, in.data(), n);
          read += n;
          z.next_in = reinterpret_cast<Bytef *>(in.data());
          z.avail_in = static_cast<uInt>(n);
        }
        const std::size_t had = out.size();
        const std::size_t room =
            static_cast<std::size_t>(std::min<std::uint64_t>(step, limit - had));
        out.resize(had + room);
        z.next_out = reinterpret_cast<Bytef *>(out.data() + had);
        z.avail_out = static_cast<uInt>(room);
        status = inflate(&z, Z_NO_FLUSH);
        out.resize(had + room - z.avail_out);
        if (status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR) {
          inflateEnd(&z);
          throw DataError(name + ": its compressed data is malformed (zlib: " +
                          std::string(z.msg ? z.msg : "error") + ")");
        }
      }
      if (whole && status != Z_STREAM_END) {
        // Full, and more would come: a member that inflates beyond its declared size.
        unsigned char probe;
        z.next_out = &probe;
        z.avail_out = 1;
        const int more = inflate(&z, Z_NO_FLUSH);
        if (!(more == Z_STREAM_END && z.avail_out == 1)) {
          inflateEnd(&z);
          throw DataError(name + ": it inflates to more than its declared " +
                          std::to_string(m.size) + " bytes");
        }
      }
      inflateEnd(&z);
    }
    if (whole) {
      if (out.size() != m.size)
        throw DataError(name + ": it inflates to " + std::to_string(out.size()) +
                        " bytes, not its declared " + std::to_string(m.size));
      if (archive) {
        uLong crc = crc32(0L, Z_NULL, 0);
        for (std::size_t at = 0; at < out.size(); at += std::size_t{1} << 30)
          crc = crc32(
              crc, reinterpret_cast<const Bytef *>(out.data() + at),
              static_cast<uInt>(std::min<std::size_t>(out.size() - at, std::size_t{1} << 30)));
        if (crc != m.crc)
          throw DataError(name + ": its CRC-32 does not match (a damaged file)");
      }
    }
    return out;
  }
};

namespace {

/// The zip's members (APPNOTE: end of central directory, zip64 locator and record, central
/// directory headers, local headers).
std::vector<Member> readZip(const NumpyArrays &a) {
  const std::uint64_t size = a.file->size();
  auto bad = [&](const std::string &why) { return DataError(a.path + ": " + why); };
  const std::size_t tail = static_cast<std::size_t>(std::min<std::uint64_t>(size, 22 + 65535));
  if (tail < 22)
    throw bad("not a .npz file (too short for a zip archive)");
  std::string end(tail, '\0');
  a.readExactly(size - tail, end.data(), tail);
  std::size_t at = std::string::npos;
  for (std::size_t i = tail - 22 + 1; i-- > 0;)
    if (std::memcmp(end.data() + i, "PK\x05\x06", 4) == 0) {
      at = i;
      break;
    }
  if (at == std::string::npos)
    throw bad("not a .npz file (no zip end record: not a zip archive, or a truncated one)");
  const auto *e = reinterpret_cast<const unsigned char *>(end.data() + at);
  std::uint64_t entries = readLe(e + 10, 2), cdSize = readLe(e + 12, 4),
                cdOffset = readLe(e + 16, 4);
  if (entries == 0xFFFF || cdSize == 0xFFFFFFFF || cdOffset == 0xFFFFFFFF) {
    const std::uint64_t endAt = size - tail + at;
    unsigned char loc[20], rec[56];
    if (endAt < 20)
      throw bad("malformed zip64 end record");
    a.readExactly(endAt - 20, reinterpret_cast<char *>(loc), 20);
    if (std::memcmp(loc, "PK\x06\x07", 4) != 0)
      throw bad("malformed zip64 end record");
    const std::uint64_t recAt = readLe(loc + 8, 8);
    if (recAt > size || size - recAt < 56)
      throw bad("malformed zip64 end record");
    a.readExactly(recAt, reinterpret_cast<char *>(rec), 56);
    if (std::memcmp(rec, "PK\x06\x06", 4) != 0)
      throw bad("malformed zip64 end record");
    entries = readLe(rec + 32, 8);
    cdSize = readLe(rec + 40, 8);
    cdOffset = readLe(rec + 48, 8);
  }
  if (cdOffset > size || cdSize > size - cdOffset || cdSize > (std::uint64_t{64} << 20) ||
      entries > kMaxCsvColumns || entries * 46 > cdSize)
    throw bad("malformed zip central directory (its size or place is not in the file)");
  std::string cd(static_cast<std::size_t>(cdSize), '\0');
  a.readExactly(cdOffset, cd.data(), cd.size());
  std::vector<Member> out;
  std::size_t p = 0;
  for (std::uint64_t k = 0; k < entries; ++k) {
    if (cd.size() - p < 46 || std::memcmp(cd.data() + p, "PK\x01\x02", 4) != 0)
      throw bad("malformed zip central directory (entry " + std::to_string(k + 1) + ")");
    const auto *h = reinterpret_cast<const unsigned char *>(cd.data() + p);
    const std::size_t nameLen = readLe(h + 28, 2), extraLen = readLe(h + 30, 2),
                      commentLen = readLe(h + 32, 2);
    if (cd.size() - p - 46 < nameLen + extraLen + commentLen)
      throw bad("malformed zip central directory (entry " + std::to_string(k + 1) + ")");
    Member m;
    m.name.assign(cd.data() + p + 46, nameLen);
    const unsigned method = static_cast<unsigned>(readLe(h + 10, 2));
    if (readLe(h + 8, 2) & 1)
      throw bad("member '" + printable(m.name) + "' is encrypted");
    if (method != 0 && method != 8)
      throw bad("member '" + printable(m.name) + "' is compressed with method " +
                std::to_string(method) + " (stored and deflated members are read)");
    m.deflated = method == 8;
    m.crc = static_cast<std::uint32_t>(readLe(h + 16, 4));
    m.compressed = readLe(h + 20, 4);
    m.size = readLe(h + 24, 4);
    std::uint64_t local = readLe(h + 42, 4);
    // zip64: the sizes and offset that do not fit are in extra field 1, in this order.
    for (std::size_t x = 0; x + 4 <= extraLen;) {
      const auto *f = h + 46 + nameLen + x;
      const std::size_t id = readLe(f, 2), len = readLe(f + 2, 2);
      if (x + 4 + len > extraLen)
        break;
      if (id == 1) {
        std::size_t q = 4;
        for (std::uint64_t *v : {&m.size, &m.compressed, &local})
          if (*v == 0xFFFFFFFF && q + 8 <= 4 + len) {
            *v = readLe(f + q, 8);
            q += 8;
          }
      }
      x += 4 + len;
    }
    p += 46 + nameLen + extraLen + commentLen;
    unsigned char lh[30];
    if (local > size || size - local < 30)
      throw bad("member '" + printable(m.name) + "' is not in the file (truncated?)");
    a.readExactly(local, reinterpret_cast<char *>(lh), 30);
    if (std::memcmp(lh, "PK\x03\x04", 4) != 0)
      throw bad("member '" + printable(m.name) + "': malformed local header");
    m.dataOffset = local + 30 + readLe(lh + 26, 2) + readLe(lh + 28, 2);
    if (m.dataOffset > size || m.compressed > size - m.dataOffset)
      throw bad("member '" + printable(m.name) + "' is cut short (a truncated file?)");
    if (!m.deflated && m.compressed != m.size)
      throw bad("member '" + printable(m.name) + "': stored, but its two sizes differ");
    out.push_back(std::move(m));
  }
  return out;
}

} // namespace

CsvFile openNumpy(const std::string &path) {
  auto arrays = std::make_shared<NumpyArrays>();
  arrays->path = path;
  const bool archive = path.size() >= 4 && (path.back() == 'z' || path.back() == 'Z');
  try {
    arrays->file = std::make_shared<InputFile>(path, archive ? "a .npz file" : "a .npy file");
  } catch (const InputError &e) {
    throw DataError(e.what());
  }
  arrays->archive = archive;
  CsvFile out;
  out.path = path;
  if (archive) {
    arrays->members = readZip(*arrays);
    if (arrays->members.empty())
      throw DataError(path + ": the archive holds no arrays");
  } else {
    Member m;
    m.name = path;
    m.size = m.compressed = arrays->file->size();
    arrays->members.push_back(m);
  }
  for (std::size_t i = 0; i < arrays->members.size(); ++i) {
    Member &m = arrays->members[i];
    std::string column = "c";
    if (archive) {
      if (m.name.size() < 5 || m.name.compare(m.name.size() - 4, 4, ".npy") != 0)
        throw DataError(path + ": member '" + printable(m.name) +
                        "' is not a .npy array (numpy.savez writes NAME.npy)");
      column = m.name.substr(0, m.name.size() - 4);
    }
    const std::string name = arrays->nameOf(m);
    m.header =
        parseHeader(arrays->memberBytes(m, 12 + kMaxNpyHeaderBytes, false), name, column, archive);
    checkLength(m.header, m.size, name);
    if (i == 0)
      arrays->rows = m.header.rows;
    if (m.header.rows != arrays->rows)
      throw DataError(name + " has " + std::to_string(m.header.rows) + " rows, but member '" +
                      printable(arrays->members[0].name) + "' has " + std::to_string(arrays->rows));
    for (std::size_t f = 0; f < m.header.fields.size(); ++f) {
      const std::string &c = m.header.fields[f].name;
      if (out.header.size() >= kMaxCsvColumns)
        throw DataError(path + ": more than the limit of " + std::to_string(kMaxCsvColumns) +
                        " columns");
      out.header.push_back(c);
      arrays->columns.push_back({i, f});
    }
  }
  out.numpy = std::move(arrays);
  return out;
}

namespace detail {

namespace {

/// The element at `p` as a double, exactly; false for a 64-bit integer beyond 2^53.
bool toDouble(Type t, const unsigned char *p, double &v) {
  switch (t) {
  case Type::F8: {
    std::uint64_t b = readLe(p, 8);
    std::memcpy(&v, &b, 8);
    return true;
  }
  case Type::F4: {
    std::uint32_t b = static_cast<std::uint32_t>(readLe(p, 4));
    float f;
    std::memcpy(&f, &b, 4);
    v = f;
    return true;
  }
  case Type::I1:
    v = static_cast<std::int8_t>(p[0]);
    return true;
  case Type::I2:
    v = static_cast<std::int16_t>(readLe(p, 2));
    return true;
  case Type::I4:
    v = static_cast<std::int32_t>(readLe(p, 4));
    return true;
  case Type::U1:
    v = p[0];
    return true;
  case Type::U2:
    v = static_cast<double>(readLe(p, 2));
    return true;
  case Type::U4:
    v = static_cast<double>(readLe(p, 4));
    return true;
  case Type::B1:
    v = p[0] != 0;
    return true;
  case Type::I8: {
    const auto i = static_cast<std::int64_t>(readLe(p, 8));
    v = static_cast<double>(i);
    return i >= -(std::int64_t{1} << 53) && i <= (std::int64_t{1} << 53);
  }
  case Type::U8: {
    const std::uint64_t i = readLe(p, 8);
    v = static_cast<double>(i);
    return i <= (std::uint64_t{1} << 53);
  }
  }
  return false;
}

} // namespace

Table readNumpyColumns(const CsvFile &file, const std::vector<std::size_t> &chosen,
                       const ReadOptions &options) {
  const NumpyArrays &a = *file.numpy;
  if (a.rows > options.maxRows)
    throw tooManyRows(file.path, options.maxRows);
  if (a.rows == 0)
    throw DataError(file.path + ": the arrays have no rows");
  const std::size_t rows = static_cast<std::size_t>(a.rows);
  Table table;
  table.columns.assign(chosen.size(), {});
  std::vector<char> missing(rows, 0);
  // One array at a time: its bytes, then every chosen column of it.
  for (std::size_t m = 0; m < a.members.size(); ++m) {
    std::vector<std::size_t> mine;
    for (std::size_t k = 0; k < chosen.size(); ++k)
      if (a.columns[chosen[k]].member == m)
        mine.push_back(k);
    if (mine.empty())
      continue;
    const Member &member = a.members[m];
    const ArrayHeader &h = member.header;
    const std::string bytes = a.memberBytes(member, member.size, true);
    const auto *data = reinterpret_cast<const unsigned char *>(bytes.data()) + h.dataStart;
    // Element r of column k is at base + r * stride. The columns of a member are filled in one
    // pass over its rows (a structured array's records are read once, not once per field).
    struct Source {
      std::size_t k;
      const unsigned char *base;
      std::size_t stride;
      Type type;
    };
    std::vector<Source> sources;
    bool allF8 = true;
    for (std::size_t k : mine) {
      const Field &f = h.fields[a.columns[chosen[k]].field];
      const unsigned char *base = h.structured ? data + f.offset
                                  : h.fortran  ? data + f.offset * rows * f.size
                                               : data + f.offset * f.size;
      const std::size_t stride = h.structured ? h.recordSize
                                 : h.fortran  ? f.size
                                              : h.width * f.size;
      sources.push_back({k, base, stride, f.type});
      allF8 = allF8 && f.type == Type::F8;
      table.columns[k].resize(rows);
    }
    auto fail = [&](std::size_t r, std::size_t k, const std::string &why) {
      const std::size_t c = chosen[k];
      return DataError(file.path + ": row " + std::to_string(r + 1) + ", column " +
                       std::to_string(c + 1) + " '" + printable(file.header[c]) + "': " + why);
    };
    for (std::size_t r = 0; r < rows; ++r)
      for (const Source &s : sources) {
        double &v = table.columns[s.k][r];
        if (allF8) {
          // The common case, on a little-endian machine a copy (checked below like every type).
          std::uint64_t b;
          std::memcpy(&b, s.base + r * s.stride, 8);
          b = readLe(reinterpret_cast<const unsigned char *>(&b), 8);
          std::memcpy(&v, &b, 8);
        } else if (!toDouble(s.type, s.base + r * s.stride, v)) {
          throw fail(r, s.k, "the integer is too large to be exact as a double");
        }
      }
    // Checked in row order, so that the earliest bad row is the error.
    for (std::size_t r = 0; r < rows; ++r)
      for (const Source &s : sources) {
        const double v = table.columns[s.k][r];
        if (std::isfinite(v))
          continue;
        if (std::isnan(v)) {
          if (!options.dropNa)
            throw fail(r, s.k, "missing value (NaN) (leave such rows out with --drop-na)");
          missing[r] = 1;
        } else {
          throw fail(r, s.k,
                     "'" + std::string(v > 0 ? "inf" : "-inf") + "' is not a finite number");
        }
      }
  }
  std::size_t kept = rows;
  if (options.dropNa) {
    kept = 0;
    for (std::size_t r = 0; r < rows; ++r)
      kept += !missing[r];
    if (kept < rows)
      for (std::vector<double> &col : table.columns) {
        std::size_t w = 0;
        for (std::size_t r = 0; r < rows; ++r)
          if (!missing[r])
            col[w++] = col[r];
        col.resize(w);
      }
    if (kept == 0)
      throw DataError(file.path + ": every one of its " + std::to_string(rows) +
                      " rows has a missing value (--drop-na left none)");
  }
  table.rows = kept;
  table.dropped = rows - kept;
  if (table.dropped)
    for (std::size_t r = 0; r < rows; ++r)
      if (!missing[r])
        table.kept.push_back(r);
  return table;
}

} // namespace detail
} // namespace nabla::data
