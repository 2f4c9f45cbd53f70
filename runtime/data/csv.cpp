// CSV files: one pass over the file, a chunk at a time, record by record; only the chosen
// columns are kept, and become numbers.
#include "runtime/data/data.h"

#include "support/input_file.h"
#include "support/number.h"
#include "support/text.h"

#include <algorithm>
#include <cstring>

namespace nabla::data {

namespace {

bool isBlank(char c) { return c == ' ' || c == '\t'; }

/// "1st", "2nd", "3rd", "4th", ... for column positions in messages.
std::string ordinal(std::size_t n) {
  const char *suffix = "th";
  if (n % 100 < 11 || n % 100 > 13) {
    if (n % 10 == 1)
      suffix = "st";
    else if (n % 10 == 2)
      suffix = "nd";
    else if (n % 10 == 3)
      suffix = "rd";
  }
  return std::to_string(n) + suffix;
}

/// "the header", "row 3 (line 4)".
std::string describeRow(std::size_t row, std::size_t line) {
  if (row == 0) return "the header";
  return "row " + std::to_string(row) + " (line " + std::to_string(line) + ")";
}

} // namespace

/// The bytes of a CSV file, read at offsets.
class CsvSource {
public:
  virtual ~CsvSource() = default;
  virtual std::uint64_t size() const = 0;
  /// Up to `n` bytes from `offset` (fewer only at the end).
  virtual std::size_t readAt(std::uint64_t offset, char *out, std::size_t n) const = 0;
};

namespace {

class FileSource final : public CsvSource {
public:
  explicit FileSource(InputFile file) : file_(std::move(file)) {}
  std::uint64_t size() const override { return file_.size(); }
  std::size_t readAt(std::uint64_t offset, char *out, std::size_t n) const override {
    return file_.readAt(offset, out, n);
  }

private:
  InputFile file_;
};

class TextSource final : public CsvSource {
public:
  explicit TextSource(std::string text) : text_(std::move(text)) {}
  std::uint64_t size() const override { return text_.size(); }
  std::size_t readAt(std::uint64_t offset, char *out, std::size_t n) const override {
    if (offset >= text_.size()) return 0;
    const std::size_t got = std::min<std::size_t>(n, text_.size() - offset);
    std::memcpy(out, text_.data() + offset, got);
    return got;
  }

private:
  std::string text_;
};

/// The bytes [pos, end) of a source, one chunk of kInputChunkBytes at a time.
class Stream {
public:
  Stream(const CsvSource &source, std::uint64_t pos, std::uint64_t end)
      : source_(source), buffer_(kInputChunkBytes), pos_(pos), end_(end) {}
  std::uint64_t tell() const { return pos_; }
  bool atEnd() const { return pos_ >= end_; }
  /// The next byte, or -1 at the end.
  int peek() {
    if (pos_ >= bufferStart_ + length_ && !fill()) return -1;
    return static_cast<unsigned char>(buffer_[pos_ - bufferStart_]);
  }
  void advance(std::size_t n = 1) { pos_ += n; }
  /// The bytes buffered from here on (empty only at the end).
  std::string_view window() {
    if (peek() < 0) return {};
    const std::size_t at = static_cast<std::size_t>(pos_ - bufferStart_);
    return {buffer_.data() + at, length_ - at};
  }

private:
  bool fill() {
    if (pos_ >= end_) return false;
    bufferStart_ = pos_;
    length_ = source_.readAt(pos_, buffer_.data(),
                             static_cast<std::size_t>(std::min<std::uint64_t>(buffer_.size(), end_ - pos_)));
    if (length_ == 0) end_ = pos_;  // the file is shorter than it was
    return length_ > 0;
  }
  const CsvSource &source_;
  std::vector<char> buffer_;
  std::uint64_t bufferStart_ = 0;
  std::size_t length_ = 0;
  std::uint64_t pos_, end_;
};

/// Reads records (rows) from the source, starting at `pos`:
///   record = cell { ',' cell } line-end
///   cell   = blanks ( '"' { any but '"' | '""' } '"' blanks | { any but ',' and line ends } )
/// Cells come out trimmed of blanks and unquoted; only the cells asked for are kept.
class Records {
public:
  Records(const CsvFile &file, std::uint64_t pos, std::size_t line, std::uint64_t end)
      : file_(file), in_(*file.source, pos, end), line_(line) {}

  /// The next record into `cells` (cells[i] is the i-th cell; one not in `keep` is left empty);
  /// false at the end. `keep` null keeps every cell. `row` numbers it in messages (0: the header).
  bool next(std::vector<std::string> &cells, std::size_t row, const std::vector<char> *keep) {
    if (in_.atEnd()) return false;
    auto where = [&] { return describeRow(row, recordLine_); };
    recordLine_ = line_;
    const std::uint64_t start = in_.tell();
    // A record past the cap is refused before more of it is kept.
    auto checkSize = [&] {
      if (in_.tell() - start > kMaxCsvRecordBytes)
        throw DataError(file_.path + ": " + where() + " is more than the limit of " +
                        std::to_string(kMaxCsvRecordBytes) + " bytes for one row");
    };
    std::size_t count = 0;
    while (true) {
      if (count == kMaxCsvColumns)
        throw DataError(file_.path + ": " + where() + " has more than the limit of " +
                        std::to_string(kMaxCsvColumns) + " cells");
      const bool kept = !keep || (count < keep->size() && (*keep)[count]);
      if (kept && count >= cells.size()) cells.resize(count + 1);
      std::string *cell = kept ? &cells[count] : nullptr;
      if (cell) cell->clear();
      ++count;
      while (in_.peek() == ' ' || in_.peek() == '\t') in_.advance();
      if (in_.peek() == '"') {
        std::size_t openLine = line_;
        in_.advance();
        while (true) {
          const int c = in_.peek();
          if (c < 0)
            throw DataError(file_.path + ": " + where() + ": the quote opened on line " +
                            std::to_string(openLine) + " is never closed");
          in_.advance();
          checkSize();
          if (c == '"') {
            if (in_.peek() == '"') {
              if (cell) *cell += '"';
              in_.advance();
              continue;
            }
            break;
          }
          if (c == '\n' || (c == '\r' && in_.peek() != '\n')) ++line_;
          if (cell) *cell += static_cast<char>(c);
        }
        while (in_.peek() == ' ' || in_.peek() == '\t') in_.advance();
        const int c = in_.peek();
        if (c >= 0 && c != ',' && c != '\n' && c != '\r')
          throw DataError(file_.path + ": " + where() + ": the " + ordinal(count) +
                          " cell has text after its closing quote");
      } else {
        while (true) {
          const std::string_view w = in_.window();
          if (w.empty()) break;
          std::size_t k = w.find_first_of(",\r\n");
          if (k == std::string_view::npos) k = w.size();
          if (cell) cell->append(w.data(), k);
          in_.advance(k);
          checkSize();
          if (k < w.size()) break;
        }
        if (cell)
          while (!cell->empty() && isBlank(cell->back())) cell->pop_back();
      }
      if (in_.peek() == ',') {
        in_.advance();
        continue;
      }
      // A line end (or the end of the text) ends the record.
      if (in_.peek() == '\r') in_.advance();
      if (in_.peek() == '\n') in_.advance();
      ++line_;
      break;
    }
    count_ = count;
    return true;
  }
  std::size_t count() const { return count_; }
  std::size_t recordLine() const { return recordLine_; }
  std::uint64_t pos() const { return in_.tell(); }
  std::size_t line() const { return line_; }

private:
  const CsvFile &file_;
  Stream in_;
  std::size_t line_;
  std::size_t recordLine_ = 0;
  std::size_t count_ = 0;
};

/// Where the meaningful bytes of [begin, size) end: trailing line ends and blanks (blank lines at
/// the end of the file) are not rows. Reads backwards from the end, a chunk at a time.
std::uint64_t meaningfulEnd(const std::string &path, const CsvSource &source, std::uint64_t begin) {
  std::vector<char> chunk(kInputChunkBytes);
  std::uint64_t end = source.size();
  while (end > begin) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), end - begin));
    if (source.readAt(end - n, chunk.data(), n) != n)
      throw DataError(path + ": the file became shorter while it was read");
    for (std::size_t i = n; i > 0; --i) {
      const char c = chunk[i - 1];
      if (c != '\n' && c != '\r' && !isBlank(c)) return end - n + i;
    }
    end -= n;
  }
  return begin;
}

CsvFile fromSource(std::string path, std::shared_ptr<const CsvSource> source) {
  CsvFile file;
  file.path = std::move(path);
  file.source = std::move(source);
  char bom[3];
  const std::uint64_t begin =
      file.source->readAt(0, bom, 3) == 3 && std::memcmp(bom, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
  file.end = meaningfulEnd(file.path, *file.source, begin);
  if (file.end == begin)
    throw DataError(file.path + ": the file is empty (expected a header row of column names)");
  Records records(file, begin, 1, file.end);
  records.next(file.header, 0, nullptr);
  file.header.resize(records.count());
  file.bodyOffset = records.pos();
  file.bodyLine = records.line();
  return file;
}

} // namespace

CsvFile csvFromText(std::string path, std::string text) {
  return fromSource(std::move(path), std::make_shared<TextSource>(std::move(text)));
}

CsvFile openCsv(const std::string &path) {
  try {
    return fromSource(path, std::make_shared<FileSource>(InputFile(path, "a CSV file")));
  } catch (const InputError &e) {
    throw DataError(e.what());
  }
}

std::string printable(std::string_view text) {
  constexpr std::size_t kShown = 60;
  if (text.size() <= kShown) return escapeForTerminal(text);
  // Cut before a UTF-8 continuation byte, not inside a character.
  std::size_t cut = kShown;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return escapeForTerminal(text.substr(0, cut)) + "...";
}

Table readColumns(const CsvFile &file, const std::vector<std::size_t> &columns,
                  std::size_t maxRows) {
  const std::size_t width = file.header.size();
  std::vector<char> keep(width, 0);
  for (std::size_t c : columns) {
    if (c >= width) throw DataError(file.path + ": no column " + std::to_string(c + 1));
    keep[c] = 1;
  }
  Table table;
  std::vector<std::vector<double>> &out = table.columns;
  out.resize(columns.size());
  Records records(file, file.bodyOffset, file.bodyLine, std::max(file.end, file.bodyOffset));
  std::vector<std::string> cells(width);
  std::size_t row = 0;
  while (true) {
    if (!records.next(cells, row + 1, &keep)) break;
    if (row == maxRows)
      throw DataError(file.path + ": more than " + std::to_string(maxRows) +
                      " data rows (raise the limit with --max-rows)");
    ++row;
    auto where = [&] { return describeRow(row, records.recordLine()); };
    if (records.count() != width)
      throw DataError(file.path + ": " + where() + " has " + std::to_string(records.count()) +
                      (records.count() == 1 ? " cell" : " cells") + ", but the header has " +
                      std::to_string(width));
    for (std::size_t k = 0; k < columns.size(); ++k) {
      const std::size_t c = columns[k];
      const std::string &cell = cells[c];
      auto fail = [&](const std::string &why) {
        return DataError(file.path + ": " + where() + ", column " + std::to_string(c + 1) + " '" +
                         printable(file.header[c]) + "': " + why);
      };
      if (cell.empty()) throw fail("empty cell (a number is needed)");
      // One rule for numbers in files (support/number.h): no hex, no nan or inf, nothing that
      // overflows, nothing non-zero that underflows to 0 or a subnormal.
      const Decimal d = readDecimal(cell);
      if (d.status != DecimalStatus::Ok)
        throw fail("'" + printable(cell) + "' " + std::string(describe(d.status)));
      out[k].push_back(d.value);
    }
  }
  if (row == 0) throw DataError(file.path + ": the file has a header but no data rows");
  table.rows = row;
  return table;
}

} // namespace nabla::data
