// The rows of a CSV file, parsed in parallel: the file is read in rounds (kCsvRoundBytes per
// thread), a round is cut at line ends into one piece per thread, and each piece is parsed into
// numbers of its own; the pieces are then joined in file order, and the first piece with an
// error decides the error. Records follow the header's grammar (csv.cpp, Records):
//   record = cell { D cell } line-end            D: the file's delimiter
//   cell   = blanks ( '"' { any but '"' | '""' } '"' blanks | { any but D and line ends } )
// A line end inside quotes does not end a record, so a round with a double quote anywhere in it
// is parsed by one thread: cutting it would need to know where quotes open, which only a parse
// from the start knows (a `"` inside an unquoted cell is text).
#include "runtime/data/data.h"
#include "runtime/data/internal.h"

#include "support/input_file.h"
#include "support/number.h"

#include <algorithm>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstring>
#include <exception>
#include <thread>

namespace nabla::data::detail {

namespace {

/// The first problem of a piece, located within it; the message is made once the rows and
/// lines before the piece are known.
struct PieceError {
  enum class Kind { TooLong, TooManyCells, Unclosed, TextAfterQuote, CellCount, Cell, Missing };
  Kind kind = Kind::Cell;
  std::size_t row = 0;      // 1-based within the piece
  std::size_t line = 0;     // the record's first line, counted from the piece's first (0)
  std::size_t openLine = 0; // Unclosed: where the quote opened, counted the same way
  std::size_t count = 0;    // CellCount: the cells; TextAfterQuote: which cell
  std::size_t column = 0;   // Cell, Missing: the header index
  std::string cell;         // Cell, Missing: the text
  DecimalStatus status = DecimalStatus::Ok;
  /// Errors found while reading the record itself, before its cells are counted: they come
  /// before the --max-rows error for the row after the last one allowed, as they always have.
  bool recordLevel() const {
    return kind == Kind::TooLong || kind == Kind::TooManyCells || kind == Kind::Unclosed ||
           kind == Kind::TextAfterQuote;
  }
};

/// What every piece shares: the header's width, which cells are kept, the options.
struct Layout {
  std::size_t width = 0;
  char delimiter = ',';
  std::vector<std::size_t> chosen;
  std::vector<int> slotOf; // header index -> its slot among the kept cells, or -1
  std::size_t slots = 0;
  std::vector<std::size_t> slotOfChosen; // chosen[k] -> its slot
  const ReadOptions *options = nullptr;
};

struct Piece {
  const char *begin = nullptr, *end = nullptr;
  bool final = false; // `end` ends the rows (else a record that reaches it is left for later)
  std::vector<std::vector<double>> columns;
  std::size_t rows = 0;               // records read (kept or dropped), the bad one excluded
  std::size_t dropped = 0;            // of which left out for a missing value
  std::vector<std::size_t> droppedAt; // their rows in the piece (0-based)
  std::size_t lines = 0;              // lines of the records read
  const char *stop = nullptr;         // where the first record not read starts
  std::optional<PieceError> error;
  std::exception_ptr failure; // our own trouble (memory)
};

/// readDecimal's rule, fast: std::from_chars (libstdc++'s is fast_float's algorithm, correctly
/// rounded like strtod) for the numbers it reads in full to a zero or a normal double, and
/// readDecimal itself for everything else, which then gives the value or the refusal. The
/// syntax from_chars accepts is strtod's decimal syntax but for a leading '+', stripped here.
bool readNumber(const char *b, const char *e, double &out, DecimalStatus &status) {
  const char *s = b;
  if (s < e && *s == '+' && !(s + 1 < e && (s[1] == '+' || s[1] == '-')))
    ++s;
  const std::from_chars_result r = std::from_chars(s, e, out);
  if (r.ec == std::errc() && r.ptr == e && std::isfinite(out)) {
    if (std::fabs(out) >= DBL_MIN)
      return true;
    if (out == 0) {
      // Zero written as zero; a non-zero digit before the exponent means it underflowed.
      const char *p = s;
      while (p < e && *p != 'e' && *p != 'E' && !(*p >= '1' && *p <= '9'))
        ++p;
      if (p == e || *p == 'e' || *p == 'E')
        return true;
    }
  }
  const Decimal d = readDecimal(std::string_view(b, static_cast<std::size_t>(e - b)));
  out = d.value;
  status = d.status;
  return d.status == DecimalStatus::Ok;
}

/// Whether [b, e), which from_chars read as `v`, is a number readNumber accepts as it is: a
/// normal double, or a zero written as one (no non-zero digit before an exponent).
bool normalOrZero(const char *b, const char *e, double v) {
  if (std::fabs(v) >= DBL_MIN)
    return std::isfinite(v);
  if (v != 0)
    return false;
  for (; b < e && *b != 'e' && *b != 'E'; ++b)
    if (*b >= '1' && *b <= '9')
      return false;
  return true;
}

/// Clinger's fast path (1990), as fast_float and glibc take it first: a decimal of at most 15
/// significant digits... here of a mantissa below 2^53, and a power of ten 10^k with |k| <= 22,
/// are both exact doubles, so one IEEE multiplication or division rounds their product or
/// quotient correctly: the double strtod gives. Reads `[+-]digits[.digits]` from `p` (no
/// exponent: the numbers of most files); false, with `p` untouched, for anything else.
bool readSimpleDecimal(const char *&p, const char *end, double &out) {
  static constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  const char *q = p;
  const bool negative = q < end && *q == '-';
  if (negative)
    ++q;
  std::uint64_t mantissa = 0;
  int digits = 0, fraction = 0;
  const char *start = q;
  while (q < end && static_cast<unsigned>(*q - '0') < 10) {
    mantissa = mantissa * 10 + static_cast<unsigned>(*q - '0');
    ++q;
    digits += mantissa != 0; // leading zeros are not significant
  }
  const bool whole = q > start;
  if (q < end && *q == '.') {
    const char *f = ++q;
    while (q < end && static_cast<unsigned>(*q - '0') < 10) {
      mantissa = mantissa * 10 + static_cast<unsigned>(*q - '0');
      ++q;
      digits += mantissa != 0;
    }
    fraction = static_cast<int>(q - f);
    if (!whole && fraction == 0)
      return false; // "." or "-."
  } else if (!whole) {
    return false;
  }
  // 15 significant digits keep the mantissa below 2^53 (and no overflow of 64 bits).
  if (digits > 15 || fraction > 22 || (q < end && (*q == 'e' || *q == 'E')))
    return false;
  double v = static_cast<double>(mantissa);
  if (fraction)
    v /= kPow10[fraction];
  out = negative ? -v : v;
  p = q;
  return true;
}

bool isMissing(std::string_view cell, const std::vector<std::string> &na) {
  for (const std::string &s : na)
    if (cell == s)
      return true;
  return false;
}

/// Parses the records of [begin, end) of the piece. Returns at the end of the piece, at a
/// record that reaches the end of a non-final piece (stop: its start), or at the first error.
void parsePiece(Piece &piece, const Layout &layout) {
  const char delim = layout.delimiter;
  const bool tabDelimits = delim == '\t';
  auto blank = [&](char c) { return c == ' ' || (c == '\t' && !tabDelimits); };
  const ReadOptions &options = *layout.options;
  const bool checkNa = !options.na.empty();
  const char *p = piece.begin;
  const char *const end = piece.end;
  piece.columns.resize(layout.chosen.size());
  for (auto &c : piece.columns) {
    c.clear(); // kept from the last round: its memory is reused
    c.reserve(static_cast<std::size_t>(end - p) / (8 * layout.width + 1) + 1);
  }
  std::vector<std::string_view> cells(layout.slots);
  // Kept cells that were read as numbers while the record was parsed (the common case: the
  // number's end is the cell's end), and their values.
  std::vector<char> parsed(layout.slots);
  std::vector<double> values(layout.slots);
  std::vector<std::string> scratch(layout.slots); // kept quoted cells with `""` in them
  std::size_t line = 0;
  auto fail = [&](PieceError::Kind kind, std::size_t recordLine) {
    PieceError e;
    e.kind = kind;
    e.row = piece.rows + 1;
    e.line = recordLine;
    piece.error = std::move(e);
    return &*piece.error;
  };
  while (p < end) {
    const char *const recordStart = p;
    const std::size_t recordLine = line;
    auto tooLong = [&] { return static_cast<std::size_t>(p - recordStart) > kMaxCsvRecordBytes; };
    std::size_t count = 0;
    bool incomplete = false, bad = false;
    while (true) {
      if (count == kMaxCsvColumns) {
        fail(PieceError::Kind::TooManyCells, recordLine);
        bad = true;
        break;
      }
      const int slot = count < layout.width ? layout.slotOf[count] : -1;
      ++count;
      while (p < end && blank(*p))
        ++p;
      if (p < end && *p == '"') {
        const std::size_t openLine = line;
        ++p;
        const char *content = p;
        bool escaped = false;
        if (slot >= 0) {
          scratch[slot].clear();
          parsed[slot] = 0;
        }
        while (true) {
          if (p == end) {
            if (!piece.final) {
              incomplete = true;
            } else {
              fail(PieceError::Kind::Unclosed, recordLine)->openLine = openLine;
              bad = true;
            }
            break;
          }
          const char c = *p++;
          if (tooLong()) {
            fail(PieceError::Kind::TooLong, recordLine);
            bad = true;
            break;
          }
          if (c == '"') {
            if (p == end && !piece.final) {
              incomplete = true; // `""` or the closing quote: the next byte decides
              break;
            }
            if (p < end && *p == '"') {
              if (slot >= 0) {
                if (!escaped)
                  scratch[slot].assign(content, p - 1);
                escaped = true;
                scratch[slot] += '"';
              }
              ++p;
              continue;
            }
            if (slot >= 0)
              cells[slot] =
                  escaped ? std::string_view(scratch[slot])
                          : std::string_view(content, static_cast<std::size_t>(p - 1 - content));
            break;
          }
          if (c == '\r' && p == end && !piece.final) {
            incomplete = true; // a line end of one byte or two
            break;
          }
          if (c == '\n' || (c == '\r' && !(p < end && *p == '\n')))
            ++line;
          if (escaped)
            scratch[slot] += c;
        }
        if (incomplete || bad)
          break;
        while (p < end && blank(*p))
          ++p;
        if (tooLong()) {
          fail(PieceError::Kind::TooLong, recordLine);
          bad = true;
          break;
        }
        if (p == end && !piece.final) {
          incomplete = true;
          break;
        }
        if (p < end && *p != delim && *p != '\n' && *p != '\r') {
          fail(PieceError::Kind::TextAfterQuote, recordLine)->count = count;
          bad = true;
          break;
        }
      } else {
        const char *s = p;
        if (slot >= 0 && p < end && ((*p >= '0' && *p <= '9') || *p == '-' || *p == '.')) {
          double v;
          const char *q = p;
          bool ok = readSimpleDecimal(q, end, v);
          if (!ok) {
            const std::from_chars_result r = std::from_chars(p, end, v);
            q = r.ptr;
            ok = r.ec == std::errc() && normalOrZero(p, q, v);
          }
          if (ok && q < end && (*q == delim || *q == '\n' || *q == '\r') &&
              (v != 0 || normalOrZero(p, q, v))) {
            values[slot] = v;
            parsed[slot] = 1;
            cells[slot] = std::string_view(s, static_cast<std::size_t>(q - s));
            p = q;
            if (tooLong()) {
              fail(PieceError::Kind::TooLong, recordLine);
              bad = true;
              break;
            }
            if (*p == delim) {
              ++p;
              continue;
            }
            if (*p == '\r') {
              ++p;
              if (p == end && !piece.final) {
                incomplete = true;
                break;
              }
            }
            if (p < end && *p == '\n')
              ++p;
            ++line;
            break;
          }
        }
        if (slot >= 0)
          parsed[slot] = 0;
        while (p < end && *p != delim && *p != '\n' && *p != '\r')
          ++p;
        if (tooLong()) {
          fail(PieceError::Kind::TooLong, recordLine);
          bad = true;
          break;
        }
        if (p == end && !piece.final) {
          incomplete = true;
          break;
        }
        if (slot >= 0) {
          const char *t = p;
          while (t > s && blank(t[-1]))
            --t;
          cells[slot] = std::string_view(s, static_cast<std::size_t>(t - s));
        }
      }
      if (p < end && *p == delim) {
        ++p;
        continue;
      }
      // A line end (or the end of the text) ends the record.
      if (p < end && *p == '\r') {
        ++p;
        if (p == end && !piece.final) {
          incomplete = true;
          break;
        }
      }
      if (p < end && *p == '\n')
        ++p;
      ++line;
      break;
    }
    if (incomplete) {
      p = recordStart;
      line = recordLine;
      break;
    }
    if (bad) {
      piece.stop = recordStart;
      piece.lines = recordLine;
      return;
    }
    if (count != layout.width) {
      fail(PieceError::Kind::CellCount, recordLine)->count = count;
      piece.stop = recordStart;
      piece.lines = recordLine;
      return;
    }
    // The chosen cells in order: the first bad one is the error. With dropNa, a row with a
    // missing value is left out whatever its other cells hold.
    bool drop = false;
    if (checkNa && options.dropNa)
      for (std::size_t k = 0; k < layout.chosen.size() && !drop; ++k)
        drop = isMissing(cells[layout.slotOfChosen[k]], options.na);
    if (drop) {
      ++piece.dropped;
      piece.droppedAt.push_back(piece.rows);
    } else {
      for (std::size_t k = 0; k < layout.chosen.size(); ++k) {
        const std::string_view cell = cells[layout.slotOfChosen[k]];
        auto cellError = [&](PieceError::Kind kind, DecimalStatus status) {
          PieceError *e = fail(kind, recordLine);
          e->column = layout.chosen[k];
          e->cell = std::string(cell);
          e->status = status;
          for (std::size_t j = 0; j < k; ++j)
            piece.columns[j].pop_back();
        };
        if (checkNa && isMissing(cell, options.na)) {
          cellError(PieceError::Kind::Missing, DecimalStatus::Ok);
          break;
        }
        double v = values[layout.slotOfChosen[k]];
        DecimalStatus status = DecimalStatus::Ok;
        if (!parsed[layout.slotOfChosen[k]] &&
            !readNumber(cell.data(), cell.data() + cell.size(), v, status)) {
          cellError(PieceError::Kind::Cell, cell.empty() ? DecimalStatus::Malformed : status);
          break;
        }
        piece.columns[k].push_back(v);
      }
      if (piece.error) {
        piece.stop = recordStart;
        piece.lines = recordLine;
        return;
      }
    }
    ++piece.rows;
  }
  piece.stop = p;
  piece.lines = line;
}

std::string message(const std::string &path, const std::vector<std::string> &header,
                    const PieceError &e, std::size_t row, std::size_t line, std::size_t lineBase) {
  const std::string where = path + ": " + describeRow(row, line);
  switch (e.kind) {
  case PieceError::Kind::TooLong:
    return where + " is more than the limit of " + std::to_string(kMaxCsvRecordBytes) +
           " bytes for one row";
  case PieceError::Kind::TooManyCells:
    return where + " has more than the limit of " + std::to_string(kMaxCsvColumns) + " cells";
  case PieceError::Kind::Unclosed:
    return where + ": the quote opened on line " + std::to_string(lineBase + e.openLine) +
           " is never closed";
  case PieceError::Kind::TextAfterQuote:
    return where + ": the " + ordinal(e.count) + " cell has text after its closing quote";
  case PieceError::Kind::CellCount:
    return where + " has " + std::to_string(e.count) + (e.count == 1 ? " cell" : " cells") +
           ", but the header has " + std::to_string(header.size());
  case PieceError::Kind::Cell:
  case PieceError::Kind::Missing: {
    const std::string prefix = where + ", column " + std::to_string(e.column + 1) + " '" +
                               printable(header[e.column]) + "': ";
    if (e.kind == PieceError::Kind::Missing)
      return prefix + "missing value '" + printable(e.cell) +
             "' (leave such rows out with --drop-na)";
    if (e.cell.empty())
      return prefix + "empty cell (a number is needed)";
    return prefix + "'" + printable(e.cell) + "' " + std::string(describe(e.status));
  }
  }
  return where;
}

/// Where to cut [0, n) of text without quotes so that piece k starts near k * n / pieces: just
/// after a line end (`\r\n` kept whole; a `\r` at the very end decides nothing yet).
std::vector<std::size_t> cuts(const char *text, std::size_t n, unsigned pieces) {
  std::vector<std::size_t> out{0};
  for (unsigned k = 1; k < pieces; ++k) {
    std::size_t i = std::max(out.back(), n / pieces * k);
    while (i < n && text[i] != '\n' && text[i] != '\r')
      ++i;
    if (i >= n)
      break;
    std::size_t cut = i + 1;
    if (text[i] == '\r') {
      if (i + 1 >= n)
        break;
      if (text[i + 1] == '\n')
        cut = i + 2;
    }
    if (cut >= n)
      break;
    out.push_back(cut);
  }
  return out;
}

} // namespace

Table readCsvRows(const CsvFile &file, const std::vector<std::size_t> &chosen,
                  const ReadOptions &options) {
  Layout layout;
  layout.width = file.header.size();
  layout.delimiter = file.delimiter;
  layout.chosen = chosen;
  layout.options = &options;
  layout.slotOf.assign(layout.width, -1);
  for (std::size_t c : chosen) {
    if (layout.slotOf[c] < 0)
      layout.slotOf[c] = static_cast<int>(layout.slots++);
    layout.slotOfChosen.push_back(static_cast<std::size_t>(layout.slotOf[c]));
  }
  unsigned threads = options.threads ? options.threads : std::thread::hardware_concurrency();
  threads = std::clamp(threads, 1u, kMaxCsvThreads);
  const std::size_t chunk = options.chunkBytes ? options.chunkBytes : kCsvRoundBytes;

  Table table;
  table.columns.resize(chosen.size());
  const std::uint64_t end = std::max(file.end, file.bodyOffset);
  std::uint64_t pos = file.bodyOffset;
  // A shard (csvShard) counts rows from its first one's place in the file, so that messages and
  // --max-rows see the file's row numbers.
  const std::size_t before = file.bodyRow;
  std::size_t lineBase = file.bodyLine, rows = before;
  std::vector<char> text; // the round's text: what the last round left, then what it read
  std::size_t held = 0;
  std::vector<Piece> pieces;
  std::vector<std::size_t> droppedRows;
  bool first = true;
  while (true) {
    const std::size_t want = static_cast<std::size_t>(
        std::min<std::uint64_t>(std::uint64_t{threads} * chunk, end - pos));
    if (text.size() < held + want)
      text.resize(held + want);
    std::size_t got = 0;
    while (got < want) {
      const std::size_t n = file.source->readAt(pos + got, text.data() + held + got, want - got);
      if (n == 0)
        throw DataError(file.path + ": the file became shorter while it was read");
      got += n;
    }
    pos += got;
    held += got;
    const bool final = pos >= end;
    if (held == 0)
      break;

    const bool quoted = std::memchr(text.data(), '"', held) != nullptr;
    // A small file is not worth a thread (unless a test asks for small rounds).
    const bool small = options.chunkBytes == 0 && held < (std::size_t{256} << 10);
    const std::vector<std::size_t> at = quoted || small || threads == 1
                                            ? std::vector<std::size_t>{0}
                                            : cuts(text.data(), held, threads);
    pieces.resize(at.size());
    for (std::size_t k = 0; k < at.size(); ++k) {
      pieces[k].rows = pieces[k].dropped = pieces[k].lines = 0;
      pieces[k].droppedAt.clear();
      pieces[k].error.reset();
      pieces[k].failure = nullptr;
      pieces[k].begin = text.data() + at[k];
      pieces[k].end = text.data() + (k + 1 < at.size() ? at[k + 1] : held);
      pieces[k].final = k + 1 < at.size() || final; // a cut is a record's end
    }
    auto work = [&](Piece &piece) {
      try {
        parsePiece(piece, layout);
      } catch (...) {
        piece.failure = std::current_exception();
      }
    };
    std::vector<std::thread> running;
    for (std::size_t k = 0; k + 1 < pieces.size(); ++k)
      running.emplace_back(work, std::ref(pieces[k]));
    work(pieces.back());
    for (std::thread &t : running)
      t.join();

    for (Piece &piece : pieces) {
      if (piece.failure)
        std::rethrow_exception(piece.failure);
      if (piece.error) {
        const PieceError &e = *piece.error;
        const std::size_t row = rows + e.row;
        if (row > options.maxRows && !(row == options.maxRows + 1 && e.recordLevel()))
          throw tooManyRows(file.path, options.maxRows);
        throw DataError(message(file.path, file.header, e, row, lineBase + e.line, lineBase));
      }
      if (rows + piece.rows > options.maxRows)
        throw tooManyRows(file.path, options.maxRows);
      for (std::size_t r : piece.droppedAt)
        droppedRows.push_back(rows + r);
      rows += piece.rows;
      table.dropped += piece.dropped;
      lineBase += piece.lines;
      for (std::size_t k = 0; k < chosen.size(); ++k)
        table.columns[k].insert(table.columns[k].end(), piece.columns[k].begin(),
                                piece.columns[k].end());
    }
    // After the first round, room for the rows the rest of the file is likely to hold (5% more
    // than its rows per byte so far), so that the columns are seldom moved as they grow.
    if (first && !final && rows > 0) {
      const double perByte =
          static_cast<double>(rows - before) / static_cast<double>(pos - file.bodyOffset);
      const double expect = perByte * static_cast<double>(end - file.bodyOffset) * 1.05 + 16;
      const auto room =
          static_cast<std::size_t>(std::min(expect, static_cast<double>(options.maxRows) + 1));
      for (std::vector<double> &c : table.columns)
        c.reserve(room);
    }
    first = false;
    // The record the last piece could not finish starts the next round.
    const std::size_t used = static_cast<std::size_t>(pieces.back().stop - text.data());
    std::memmove(text.data(), text.data() + used, held - used);
    held -= used;
    if (final)
      break;
    if (held > kMaxCsvRecordBytes + 2) // a record the pieces should have refused: never loop
      throw DataError(file.path + ": " + describeRow(rows + 1, lineBase) +
                      " is more than the limit of " + std::to_string(kMaxCsvRecordBytes) +
                      " bytes for one row");
  }
  if (rows == before)
    throw DataError(file.path + ": the file has a header but no data rows");
  table.rows = rows - before - table.dropped;
  if (table.rows == 0)
    throw DataError(file.path + ": every one of its " + std::to_string(rows - before) +
                    " data rows has a missing value (--drop-na left none)");
  if (table.dropped) {
    table.kept.reserve(table.rows);
    std::size_t next = 0;
    for (std::size_t r = before; r < rows; ++r) {
      if (next < droppedRows.size() && droppedRows[next] == r)
        ++next;
      else
        table.kept.push_back(r);
    }
  }
  return table;
}

} // namespace nabla::data::detail
