// CSV files: the header (and the delimiter it shows), the end of the rows, and the options'
// spellings; the rows themselves are parsed in csv_rows.cpp. Also the one place that picks a
// reader by the file's extension (openData).
#include "runtime/data/data.h"
#include "runtime/data/internal.h"

#include "support/input_file.h"
#include "support/number.h"
#include "support/text.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace nabla::data {

namespace detail {

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

std::string describeRow(std::size_t row, std::size_t line) {
  if (row == 0) return "the header";
  return "row " + std::to_string(row) + " (line " + std::to_string(line) + ")";
}

DataError tooManyRows(const std::string &path, std::size_t maxRows) {
  return DataError(path + ": more than " + std::to_string(maxRows) +
                   " data rows (raise the limit with --max-rows)");
}

} // namespace detail

namespace {

using detail::describeRow;
using detail::ordinal;

/// Blanks around a cell are trimmed: spaces, and tabs unless the tab is the delimiter.
bool isBlank(char c, char delimiter = ',') { return c == ' ' || (c == '\t' && delimiter != '\t'); }

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

/// Reads records (rows) from the source, starting at `pos` (`,` is the file's delimiter; the
/// rows after the header are read by csv_rows.cpp, to the same grammar):
///   record = cell { ',' cell } line-end
///   cell   = blanks ( '"' { any but '"' | '""' } '"' blanks | { any but ',' and line ends } )
/// Cells come out trimmed of blanks and unquoted; only the cells asked for are kept.
class Records {
public:
  Records(const CsvFile &file, std::uint64_t pos, std::size_t line, std::uint64_t end)
      : file_(file), in_(*file.source, pos, end), line_(line), delimiter_(file.delimiter) {}

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
      while (in_.peek() >= 0 && isBlank(static_cast<char>(in_.peek()), delimiter_)) in_.advance();
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
        while (in_.peek() >= 0 && isBlank(static_cast<char>(in_.peek()), delimiter_)) in_.advance();
        const int c = in_.peek();
        if (c >= 0 && c != delimiter_ && c != '\n' && c != '\r')
          throw DataError(file_.path + ": " + where() + ": the " + ordinal(count) +
                          " cell has text after its closing quote");
      } else {
        while (true) {
          const std::string_view w = in_.window();
          if (w.empty()) break;
          const char stops[] = {delimiter_, '\r', '\n', 0};
          std::size_t k = w.find_first_of(stops);
          if (k == std::string_view::npos) k = w.size();
          if (cell) cell->append(w.data(), k);
          in_.advance(k);
          checkSize();
          if (k < w.size()) break;
        }
        if (cell)
          while (!cell->empty() && isBlank(cell->back(), delimiter_)) cell->pop_back();
      }
      if (in_.peek() == delimiter_) {
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
  char delimiter_;
};

/// Where the meaningful bytes of [begin, size) end: trailing line ends and blanks (blank lines at
/// the end of the file) are not rows. Reads backwards from the end, a chunk at a time.
std::uint64_t meaningfulEnd(const std::string &path, const CsvSource &source, std::uint64_t begin,
                            char delimiter) {
  std::vector<char> chunk(kInputChunkBytes);
  std::uint64_t end = source.size();
  while (end > begin) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), end - begin));
    if (source.readAt(end - n, chunk.data(), n) != n)
      throw DataError(path + ": the file became shorter while it was read");
    for (std::size_t i = n; i > 0; --i) {
      const char c = chunk[i - 1];
      if (c != '\n' && c != '\r' && !isBlank(c, delimiter)) return end - n + i;
    }
    end -= n;
  }
  return begin;
}

/// The delimiter of the header line [begin, end): the most frequent of `,` `;` and tab outside
/// double quotes, `,` on a tie or when there is none (pandas' rule for a header; its csv.Sniffer
/// also weighs the rows). Reads at most one record's cap of bytes.
char detectDelimiter(const CsvSource &source, std::uint64_t begin, std::uint64_t end) {
  Stream in(source, begin, std::min<std::uint64_t>(end, begin + kMaxCsvRecordBytes));
  std::size_t comma = 0, semicolon = 0, tab = 0;
  bool quoted = false;
  for (int c; (c = in.peek()) >= 0; in.advance()) {
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    if (c == '\n' || c == '\r') break;
    comma += c == ',';
    semicolon += c == ';';
    tab += c == '\t';
  }
  if (semicolon > comma && semicolon >= tab) return ';';
  if (tab > comma && tab > semicolon) return '\t';
  return ',';
}

CsvFile fromSource(std::string path, std::shared_ptr<const CsvSource> source, char delimiter) {
  CsvFile file;
  file.path = std::move(path);
  file.source = std::move(source);
  char bom[3];
  const std::uint64_t begin =
      file.source->readAt(0, bom, 3) == 3 && std::memcmp(bom, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
  file.end = meaningfulEnd(file.path, *file.source, begin, ',');
  if (file.end == begin)
    throw DataError(file.path + ": the file is empty (expected a header row of column names)");
  file.delimiter = delimiter ? delimiter : detectDelimiter(*file.source, begin, file.end);
  // A tab that delimits is no blank: an empty last cell of the last row stays a cell.
  if (file.delimiter == '\t') file.end = meaningfulEnd(file.path, *file.source, begin, '\t');
  Records records(file, begin, 1, file.end);
  records.next(file.header, 0, nullptr);
  file.header.resize(records.count());
  file.bodyOffset = records.pos();
  file.bodyLine = records.line();
  return file;
}

} // namespace

CsvFile csvFromText(std::string path, std::string text, char delimiter) {
  return fromSource(std::move(path), std::make_shared<TextSource>(std::move(text)), delimiter);
}

CsvFile openCsv(const std::string &path, char delimiter) {
  try {
    return fromSource(path, std::make_shared<FileSource>(InputFile(path, "a CSV file")),
                      delimiter);
  } catch (const InputError &e) {
    throw DataError(e.what());
  }
}

CsvFile openData(const std::string &path, const ReadOptions &options) {
  auto endsWith = [&](std::string_view tail) {
    if (path.size() < tail.size()) return false;
    for (std::size_t i = 0; i < tail.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(path[path.size() - tail.size() + i])) != tail[i])
        return false;
    return true;
  };
  if (endsWith(".npy") || endsWith(".npz")) return openNumpy(path);
  return openCsv(path, options.delimiter);
}

std::optional<char> parseDelimiter(std::string_view text) {
  if (text == "," || text == ";" || text == "\t") return text[0];
  if (text == "tab" || text == "\\t") return '\t';
  return std::nullopt;
}

std::string delimiterName(char delimiter) {
  if (delimiter == '\t') return "tab";
  return std::string("'") + delimiter + "'";
}

std::vector<std::string> parseNaList(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    std::string item(text.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                                        : comma - start));
    if (item == "\"\"") item.clear();
    if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(std::move(item));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string printable(std::string_view text) {
  constexpr std::size_t kShown = 60;
  if (text.size() <= kShown) return escapeForTerminal(text);
  // Cut before a UTF-8 continuation byte, not inside a character.
  std::size_t cut = kShown;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return escapeForTerminal(text.substr(0, cut)) + "...";
}

Table readColumns(const CsvFile &file, const std::vector<std::size_t> &chosen,
                  const ReadOptions &options) {
  for (std::size_t c : chosen)
    if (c >= file.header.size())
      throw DataError(file.path + ": no column " + std::to_string(c + 1));
  return file.numpy ? detail::readNumpyColumns(file, chosen, options)
                    : detail::readCsvRows(file, chosen, options);
}

Table readColumns(const CsvFile &file, const std::vector<std::size_t> &chosen,
                  std::size_t maxRows) {
  ReadOptions options;
  options.maxRows = maxRows;
  return readColumns(file, chosen, options);
}

} // namespace nabla::data
