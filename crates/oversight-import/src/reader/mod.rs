//! The CSV reader (any delimiter and quote, UTF-8 with or without BOM, Latin-1 and other encodings, CRLF, bare
//! CR): it hands the engine rows of text with their source line. Parquet files are read by DuckDB
//! (`Store::scan_parquet`, called from `import.rs`), not here.

mod decode;

use crate::ImportError;
pub(crate) use decode::*;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

/// How a CSV file is read: what the reader needs of a profile's `[source]` (checked when the profile loads).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CsvOptions {
    pub(crate) encoding: Encoding,
    pub(crate) delimiter: u8,
    pub(crate) quote: u8,
    /// Lines to skip before the header line.
    pub(crate) skip_lines: usize,
    pub(crate) limits: QuoteLimits,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            encoding: Encoding::Utf8,
            delimiter: b',',
            quote: b'"',
            skip_lines: 0,
            limits: QuoteLimits { lines: 100, bytes: 1 << 20 },
        }
    }
}

/// Records of a source stored back to back: all their text in one string and where each field ends. A
/// chunk of thousands of records is a handful of allocations, written front to back by the reading thread
/// and read the same way by a mapping thread on another core.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rows {
    text: String,
    /// Where each field ends in `text`. A record's first field starts where the record does, every other
    /// one a byte after the end of the field before it.
    ends: Vec<u32>,
    /// Per record: where it starts in `text` and the index of its first field in `ends`.
    starts: Vec<(u32, u32)>,
    /// Per record: the line of the source it starts on.
    lines: Vec<u64>,
}

/// Offsets are 32-bit: one set of rows holds less than 4 GiB of text.
const TEXT_LIMIT: usize = u32::MAX as usize;

/// What separates fields in `Rows::text` when they are not a line's own (never part of a field).
const SEPARATOR: char = '\u{1f}';

/// More text than [`Rows`] can hold.
#[derive(Debug)]
pub(crate) struct TooLong;

impl Rows {
    pub(crate) fn len(&self) -> usize {
        self.starts.len()
    }

    /// Bytes of text held.
    pub(crate) fn text_len(&self) -> usize {
        self.text.len()
    }

    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.starts.clear();
        self.lines.clear();
    }

    /// Record `r` (panics when there is no such record).
    pub(crate) fn row(&self, r: usize) -> Row<'_> {
        let (start, first) = self.starts[r];
        let last = self.starts.get(r + 1).map_or(self.ends.len(), |&(_, f)| f as usize);
        Row { text: &self.text, start: start as usize, ends: &self.ends[first as usize..last] }
    }

    /// The line record `r` starts on.
    pub(crate) fn line(&self, r: usize) -> u64 {
        self.lines[r]
    }

    /// Every record with its line.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Row<'_>, u64)> {
        (0..self.len()).map(|r| (self.row(r), self.lines[r]))
    }

    /// Appends a record of these fields, read from `line`.
    pub(crate) fn push<'a>(&mut self, fields: impl IntoIterator<Item = &'a str>, line: u64) -> Result<(), TooLong> {
        let (start, first) = (self.text.len(), self.ends.len());
        for (i, f) in fields.into_iter().enumerate() {
            if i > 0 {
                self.text.push(SEPARATOR);
            }
            self.text.push_str(f);
            self.ends.push(self.text.len() as u32);
        }
        if self.text.len() > TEXT_LIMIT {
            self.text.truncate(start);
            self.ends.truncate(first);
            return Err(TooLong);
        }
        self.starts.push((start as u32, first as u32));
        self.lines.push(line);
        Ok(())
    }
}

/// The reason a record with the wrong number of fields is rejected, if it has. Extra fields that are all
/// empty (a delimiter at the end of each row, as some exports write) hold no value and are let through.
pub(crate) fn shape_problem(row: &Row<'_>, width: usize) -> Option<String> {
    let empty_tail = row.len() > width && (width..row.len()).all(|i| row.get(i).is_some_and(|f| f.trim().is_empty()));
    (row.len() != width && !empty_tail).then(|| {
        format!(
            "the row has {} fields where the header has {width} (a delimiter or quote missing or one too many, or \
             a truncated row)",
            row.len()
        )
    })
}

/// Whether every field of the record is blank (a line of spaces or of delimiters only): no record.
pub(crate) fn is_blank(row: &Row<'_>) -> bool {
    row.iter().all(|f| f.trim().is_empty())
}

/// One record of [`Rows`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row<'a> {
    text: &'a str,
    start: usize,
    ends: &'a [u32],
}

impl<'a> Row<'a> {
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&'a str> {
        let end = *self.ends.get(i)? as usize;
        let start = match i.checked_sub(1) {
            None => self.start,
            Some(j) => self.ends[j] as usize + 1,
        };
        self.text.get(start..end)
    }

    pub(crate) fn iter(self) -> impl Iterator<Item = &'a str> {
        (0..self.len()).map(move |i| self.get(i).unwrap_or_default())
    }
}

/// Why records could not be read.
enum RecordError {
    Io(std::io::Error),
    /// Bytes that are not UTF-8, in the record starting at this line.
    Utf8 {
        line: u64,
    },
    /// More than [`Rows`] can hold, at this line.
    TooLong {
        line: u64,
    },
    /// A NUL byte on this line.
    Nul {
        line: u64,
    },
    /// A quoted field opened on this line is never closed: it runs to the end of the input.
    Unclosed {
        line: u64,
    },
    /// A quoted field opened on this line runs over more lines or bytes than the limits allow.
    QuotedTooLong {
        line: u64,
        lines: u64,
        bytes: usize,
    },
}

/// How far one quoted field may run before the file is refused (a quote left open swallows the rows after
/// it into one field).
#[derive(Debug, Clone, Copy)]
pub(crate) struct QuoteLimits {
    pub(crate) lines: u64,
    pub(crate) bytes: usize,
}

impl Default for QuoteLimits {
    fn default() -> Self {
        Self { lines: 100, bytes: 1 << 20 }
    }
}

/// What the short path did.
enum Short {
    /// Read records.
    Read,
    /// Read nothing: no whole line is buffered.
    NeedData,
    /// Read nothing: the next line holds a quote character.
    Quoted,
}

/// CSV records read with `csv_core` (the `csv` crate's parser, set up as `csv::Reader` with a `\n`
/// terminator, no header handling and flexible records: the same records and line numbers), plus a short
/// path for the common case, runs of whole lines that end in `\n` and hold no quote character: they are
/// split at the delimiter eight bytes at a time and copied into [`Rows`] in one piece.
struct Records<R> {
    src: R,
    core: csv_core::Reader,
    delimiter: u8,
    quote: u8,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// Output of the general path.
    fields: Vec<u8>,
    ends: Vec<usize>,
    /// Whether the general path has read anything yet (it alone reads the first record, where `csv_core`
    /// drops a byte-order mark).
    started: bool,
    /// Empty lines passed (they are no record).
    blank: u64,
    /// The last byte of the input read so far (whether the last line ends in `\n`).
    last_byte: Option<u8>,
    limits: QuoteLimits,
}

/// High bit set in each byte of `x` that is zero, and nothing else (the exact test: the shorter
/// `(x - 0x01..) & !x` form also marks a byte above a zero one that holds 0x01).
#[inline(always)]
fn zero_bytes(x: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    !(((x & LOW7) + LOW7) | x | LOW7)
}

impl<R: Read> Records<R> {
    fn new(src: R, delimiter: u8, quote: u8, limits: QuoteLimits) -> Self {
        let core = csv_core::ReaderBuilder::new()
            .terminator(csv_core::Terminator::Any(b'\n'))
            .delimiter(delimiter)
            .quote(quote)
            .build();
        Self {
            src,
            core,
            delimiter,
            quote,
            buf: vec![0; 1 << 20],
            start: 0,
            end: 0,
            eof: false,
            fields: vec![0; 1 << 12],
            ends: vec![0; 64],
            started: false,
            blank: 0,
            last_byte: None,
            limits,
        }
    }

    /// Physical lines read so far (all of them, once the input has ended).
    fn lines(&self) -> u64 {
        let newlines = self.core.line() - 1;
        newlines + u64::from(self.last_byte.is_some_and(|b| b != b'\n') && self.start == self.end)
    }

    /// The line the next unread byte is on, and the line of a NUL byte met after the buffered text.
    fn nul_line(&self) -> u64 {
        self.core.line() + memchr::memchr_iter(b'\n', &self.buf[self.start..self.end]).count() as u64
    }

    fn io_error(&self, e: std::io::Error) -> RecordError {
        if is_nul_error(&e) { RecordError::Nul { line: self.nul_line() } } else { RecordError::Io(e) }
    }

    /// Reads more input after what is buffered, keeping what is not consumed yet; false at the end.
    fn fill(&mut self) -> std::io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < 2 {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let n = self.src.read(&mut self.buf[self.end..])?;
        self.end += n;
        if n > 0 {
            self.last_byte = Some(self.buf[self.end - 1]);
        }
        self.eof = n == 0;
        Ok(n > 0)
    }

    /// Reads until a `\n` arrives or the input ends (so that a long line is not split again after every
    /// read); false when nothing more arrived.
    fn fill_line(&mut self) -> std::io::Result<bool> {
        let mut any = false;
        loop {
            let seen = self.end - self.start;
            if !self.fill()? {
                return Ok(any);
            }
            any = true;
            if memchr::memchr(b'\n', &self.buf[self.start + seen..self.end]).is_some() {
                return Ok(true);
            }
        }
    }

    /// Reads records into `rows` until it holds `max` records or `max_text` bytes of text or the input
    /// ends; returns how many it added (none: the input has ended).
    fn read(&mut self, rows: &mut Rows, max: usize, max_text: usize) -> Result<usize, RecordError> {
        let before = rows.len();
        while rows.len() < max && rows.text.len() < max_text {
            if self.started {
                match self.short(rows, max)? {
                    Short::Read => continue,
                    Short::NeedData if self.fill_line().map_err(|e| self.io_error(e))? => continue,
                    // The end of the input (a last line without `\n`) or a quoted record.
                    Short::NeedData | Short::Quoted => {}
                }
            }
            if !self.read_general(rows)? {
                break;
            }
        }
        Ok(rows.len() - before)
    }

    /// The short path over what is buffered: whole lines without a quote character, up to `max` records.
    fn short(&mut self, rows: &mut Rows, max: usize) -> Result<Short, RecordError> {
        let data = &self.buf[self.start..self.end];
        let [delimiter, quote, newline] = [self.delimiter, self.quote, b'\n'].map(|b| u64::from_ne_bytes([b; 8]));
        let base = rows.text.len();
        let (rows_before, ends_before) = (rows.len(), rows.ends.len());
        // `line` counts the lines passed; a record is numbered with the line after the record before it
        // (`rec_line`), blank lines between them included, as csv_core numbers them.
        let mut line = self.core.line();
        let mut rec_line = line;
        // The line being split starts at `line_start`, its first field is `first` in `rows.ends`; `done`
        // bytes of `data` are read, up to the end of the last record (blank lines after it are passed
        // again by the next read, so that the record after them gets the line csv_core gives it).
        let (mut line_start, mut first, mut done) = (0, rows.ends.len(), 0);
        let mut quoted = false;
        let mut pos = 0;
        'words: while let Some(w) = data.get(pos..pos + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(w);
            let x = u64::from_le_bytes(word);
            let ends_line = zero_bytes(x ^ newline);
            let quotes = zero_bytes(x ^ quote);
            let mut marks = zero_bytes(x ^ delimiter) | ends_line;
            if quotes != 0 {
                // Lines that end before the quote are still read here.
                marks &= (quotes & quotes.wrapping_neg()) - 1;
                quoted = true;
            }
            while marks != 0 {
                let bit = marks.trailing_zeros();
                let at = pos + (bit / 8) as usize;
                if ends_line >> bit & 1 == 1 {
                    line += 1;
                    // A blank line is no record (as csv_core reads it): it is counted and passed, and the
                    // next record is numbered with its own line.
                    if at > line_start {
                        rows.ends.push((base + at) as u32);
                        rows.starts.push(((base + line_start) as u32, first as u32));
                        rows.lines.push(rec_line);
                    } else {
                        self.blank += 1;
                    }
                    rec_line = line;
                    done = at + 1;
                    line_start = at + 1;
                    first = rows.ends.len();
                    if rows.len() >= max {
                        break 'words;
                    }
                } else {
                    rows.ends.push((base + at) as u32);
                }
                marks &= marks - 1;
            }
            if quoted {
                break;
            }
            pos += 8;
        }
        // Fields of a line not seen to its end are read again later.
        rows.ends.truncate(first);
        if done == 0 {
            return Ok(if quoted { Short::Quoted } else { Short::NeedData });
        }
        let fail = |rows: &mut Rows, e: RecordError| {
            rows.ends.truncate(ends_before);
            rows.starts.truncate(rows_before);
            rows.lines.truncate(rows_before);
            Err(e)
        };
        if base + done > TEXT_LIMIT {
            return fail(rows, RecordError::TooLong { line: self.core.line() });
        }
        match std::str::from_utf8(&data[..done]) {
            Ok(text) => rows.text.push_str(text),
            Err(e) => {
                // The first record holding the first bad byte.
                let bad = (base + e.valid_up_to()) as u32;
                let k = rows.starts[rows_before..].partition_point(|&(s, _)| s <= bad);
                let line = rows.lines[rows_before + k.saturating_sub(1)];
                return fail(rows, RecordError::Utf8 { line });
            }
        }
        self.start += done;
        self.core.set_line(rec_line);
        Ok(Short::Read)
    }

    /// One record through `csv_core`'s state machine; false at the end of the input. Empty lines before
    /// it are counted and passed first, so the record is numbered with the line it starts on. A quoted
    /// field that runs to the end of the input, or past the limits, fails with the line it opened on.
    fn read_general(&mut self, rows: &mut Rows) -> Result<bool, RecordError> {
        use csv_core::ReadRecordResult as R;
        self.started = true;
        loop {
            if self.start == self.end && !self.fill().map_err(|e| self.io_error(e))? {
                break;
            }
            if self.buf[self.start] != b'\n' {
                break;
            }
            self.start += 1;
            self.blank += 1;
            self.core.set_line(self.core.line() + 1);
        }
        let line = self.core.line();
        let (mut nout, mut nend) = (0, 0);
        // Quote characters met in the record, and the line of the first one.
        let (mut quotes, mut quote_line) = (0usize, None::<u64>);
        let mut raw_bytes = 0usize;
        loop {
            // An empty input tells csv_core the file has ended: read more first while there is more.
            if self.start == self.end {
                self.fill().map_err(|e| self.io_error(e))?;
            }
            let line_before = self.core.line();
            let (res, nin, o, e) = self.core.read_record(
                &self.buf[self.start..self.end],
                &mut self.fields[nout..],
                &mut self.ends[nend..],
            );
            let consumed = &self.buf[self.start..self.start + nin];
            if let Some(k) = memchr::memchr(self.quote, consumed) {
                quotes += memchr::memchr_iter(self.quote, consumed).count();
                quote_line
                    .get_or_insert_with(|| line_before + memchr::memchr_iter(b'\n', &consumed[..k]).count() as u64);
            }
            raw_bytes += nin;
            self.start += nin;
            nout += o;
            nend += e;
            let spanned = self.core.line() - line;
            if (spanned > self.limits.lines || raw_bytes > self.limits.bytes)
                && let Some(q) = quote_line
            {
                return Err(RecordError::QuotedTooLong { line: q, lines: spanned, bytes: raw_bytes });
            }
            match res {
                R::InputEmpty => {}
                R::OutputFull => {
                    let n = self.fields.len() * 2;
                    self.fields.resize(n, 0);
                }
                R::OutputEndsFull => {
                    let n = self.ends.len() * 2;
                    self.ends.resize(n, 0);
                }
                R::Record => break,
                R::End => return Ok(false),
            }
        }
        let text = std::str::from_utf8(&self.fields[..nout]).map_err(|_| RecordError::Utf8 { line })?;
        // A record that ends with the input while an odd number of quotes is open never closed its quote.
        if quotes % 2 == 1 && self.eof && self.start == self.end && self.core.line() > line {
            return Err(RecordError::Unclosed { line: quote_line.unwrap_or(line) });
        }
        let mut from = 0;
        let fields = self.ends[..nend].iter().map(|&to| {
            let f = text.get(from..to).unwrap_or_default();
            from = to;
            f
        });
        rows.push(fields, line).map_err(|TooLong| RecordError::TooLong { line })?;
        Ok(true)
    }
}

/// A CSV file being read.
pub(crate) struct CsvSource {
    reader: Records<LineEnds<Decoding<BufReader<Counting<std::fs::File>>>>>,
    pub(crate) header: Vec<String>,
    /// Fields every record must have: the header's, up to its last named one (more are allowed when empty).
    pub(crate) width: usize,
    display: String,
    line_offset: u64,
}

impl CsvSource {
    /// Opens a CSV file and reads its header; with `hash`, every byte read is also hashed (see
    /// [`CsvSource::finish_hash`]).
    pub(crate) fn open(
        path: &Path,
        display: &str,
        opts: &CsvOptions,
        counter: Arc<AtomicU64>,
        hash: bool,
    ) -> Result<Self, ImportError> {
        let enc = opts.encoding;
        sniff(path, display, enc)?;
        let file = std::fs::File::open(path).map_err(|e| ImportError::io(display, e))?;
        let mut buf = BufReader::with_capacity(
            1 << 20,
            Counting { inner: file, count: counter, own: 0, hasher: hash.then(sha2::Sha256::default) },
        );
        let mut skipped = 0u64;
        for _ in 0..opts.skip_lines {
            let mut line = Vec::new();
            let n = buf.read_until(b'\n', &mut line).map_err(|e| ImportError::io(display, e))?;
            if n == 0 {
                break;
            }
            skipped += 1;
        }
        // Records end at '\n' so that line numbers count physical lines exactly (a CRLF's '\r' is dropped
        // from the last field when values are read); a bare '\r' ends a line too, and is read as '\n'.
        let reader = Records::new(LineEnds::new(Decoding::new(buf, enc)), opts.delimiter, opts.quote, opts.limits);
        let mut s = Self { reader, header: Vec::new(), width: 0, display: display.to_owned(), line_offset: skipped };
        // The header is the first line with a value: lines of blanks or delimiters before it are blank lines.
        let mut first = Rows::default();
        loop {
            first.clear();
            if s.read_rows(&mut first, 1, usize::MAX)? == 0 {
                return Err(ImportError::refused(
                    display,
                    None,
                    None,
                    format!(
                        "the file is empty: it has no header line ({} blank lines and nothing else)",
                        s.reader.blank
                    ),
                ));
            }
            if !is_blank(&first.row(0)) {
                break;
            }
            s.reader.blank += 1;
        }
        let (rec, line) = (first.row(0), Some(first.line(0)));
        s.header = rec.iter().map(|h| h.trim().to_owned()).collect();
        // Rows must have the header's fields up to its last named one; empty names after it (a delimiter at
        // the end of the header line) are extra fields like any other.
        s.width = s.header.iter().rposition(|h| !h.is_empty()).map_or(rec.len(), |i| i + 1);
        if s.header.last().is_some_and(|h| h.is_empty()) && rec.len() > 1 && rec.get(rec.len() - 1) == Some("\r") {
            s.header.pop();
        }
        for (i, h) in s.header.iter().enumerate() {
            if !h.is_empty() && s.header[..i].contains(h) {
                return Err(ImportError::refused(
                    display,
                    line,
                    Some(h),
                    format!(
                        "the header names column {h:?} twice (columns {} and {}): rename one so it is clear which \
                         the profile reads",
                        s.header[..i].iter().position(|x| x == h).unwrap_or(0) + 1,
                        i + 1
                    ),
                ));
            }
        }
        Ok(s)
    }

    /// The sha256 of the bytes read (when opened with `hash`) and how many were read: of the whole file,
    /// once it has been read to the end.
    pub(crate) fn finish(self) -> (Option<String>, u64) {
        let mut counting = self.reader.src.into_inner().inner.into_inner();
        (counting.hasher.take().map(|h| hex::encode(sha2::Digest::finalize(h))), counting.own)
    }

    /// Empty lines passed so far (the lines skipped before the header not included).
    pub(crate) fn blank_lines(&self) -> u64 {
        self.reader.blank
    }

    /// Physical lines read so far, the lines skipped before the header included (all of them, once the
    /// file has been read to its end).
    pub(crate) fn lines_read(&self) -> u64 {
        self.reader.lines() + self.line_offset
    }

    /// Reads records into `rows` until it holds `max` records or `max_text` bytes of text, or the file
    /// ends; returns how many were added (none: the file has ended). Bytes that are not valid in the
    /// encoding refuse the whole file, naming the line.
    pub(crate) fn read_rows(&mut self, rows: &mut Rows, max: usize, max_text: usize) -> Result<usize, ImportError> {
        let before = rows.len();
        let refused = |line: u64, message: String| {
            ImportError::refused(&self.display, Some(line + self.line_offset), None, message)
        };
        match self.reader.read(rows, max, max_text) {
            Ok(n) => {
                for l in &mut rows.lines[before..] {
                    *l += self.line_offset;
                }
                Ok(n)
            }
            Err(RecordError::Utf8 { line }) => Err(refused(
                line,
                "bytes that are not valid UTF-8: if the file is Latin-1 or Windows-1252, set [source] encoding in the profile".to_owned(),
            )),
            Err(RecordError::TooLong { line }) => {
                Err(refused(line, "more than 4 GiB of text in records held at once: the file is too large for this use".to_owned()))
            }
            Err(RecordError::Nul { line }) => Err(refused(
                line,
                "a NUL byte (binary data) in the text: the file is damaged or not a text file in the profile's \
                 encoding"
                    .to_owned(),
            )),
            Err(RecordError::Unclosed { line }) => Err(refused(
                line,
                "a quoted field opened on this line is never closed: it runs to the end of the file (a quote \
                 character missing or one too many)"
                    .to_owned(),
            )),
            Err(RecordError::QuotedTooLong { line, lines, bytes }) => Err(refused(
                line,
                format!(
                    "a quoted field opened on this line runs over {lines} lines ({bytes} bytes) without closing: a \
                     quote character is missing or one too many (if such long fields are right, raise [source] \
                     max_quoted_lines or max_quoted_bytes)"
                ),
            )),
            Err(RecordError::Io(e)) => {
                Err(ImportError::refused(&self.display, None, None, format!("unreadable CSV: {e}")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::{Rng, SeedableRng};

    /// What `csv::Reader`, set up as this module used it before `Records`, reads: (line, fields) per
    /// record, or the line of the first record that is not UTF-8. A record is numbered with the line it
    /// starts on (the csv crate numbers it with the first of the empty lines before it).
    fn reference(data: &[u8], delimiter: u8) -> (Vec<(u64, Vec<String>)>, Option<u64>) {
        let blank_before = |byte: u64| data[byte as usize..].iter().take_while(|&&b| b == b'\n').count() as u64;
        let mut r = csv::ReaderBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .delimiter(delimiter)
            .quote(b'"')
            .has_headers(false)
            .flexible(true)
            .from_reader(data);
        let mut out = Vec::new();
        let mut rec = csv::StringRecord::new();
        loop {
            match r.read_record(&mut rec) {
                Ok(true) => {
                    let line = rec.position().map(|p| p.line() + blank_before(p.byte())).unwrap_or(0);
                    out.push((line, rec.iter().map(str::to_owned).collect()))
                }
                Ok(false) => return (out, None),
                Err(e) => return (out, e.position().map(|p| p.line() + blank_before(p.byte()))),
            }
        }
    }

    /// Hands out at most a few bytes per read, so that lines and words straddle every refill. (The first
    /// read holds more than a byte-order mark: csv_core looks for one in its first input only and takes
    /// an input of nothing else for the end; the importer drops the mark before csv_core sees it anyway.)
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.step = self.step % 13 + 1;
            if self.step < 4 && self.data.starts_with(&[0xEF]) {
                self.step = 4;
            }
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// What `Records` reads, `max` records at a time: (line, fields) per record, or the line of the first
    /// record that is not UTF-8 (or of a quote never closed: `u64::MAX - line`).
    fn ours(src: impl Read, delimiter: u8, max: usize) -> (Vec<(u64, Vec<String>)>, Option<u64>) {
        let mut r = Records::new(src, delimiter, b'"', QuoteLimits { lines: u64::MAX, bytes: usize::MAX });
        let mut out = Vec::new();
        let mut rows = Rows::default();
        loop {
            rows.clear();
            match r.read(&mut rows, max, usize::MAX) {
                Ok(0) => return (out, None),
                Ok(n) => {
                    assert!(n <= max);
                    out.extend(rows.iter().map(|(row, line)| (line, row.iter().map(str::to_owned).collect())));
                }
                Err(RecordError::Utf8 { line }) => return (out, Some(line)),
                Err(RecordError::Unclosed { line }) => return (out, Some(u64::MAX - line)),
                Err(RecordError::TooLong { .. } | RecordError::QuotedTooLong { .. }) => panic!("too long"),
                Err(RecordError::Nul { line }) => panic!("NUL at {line}"),
                Err(RecordError::Io(e)) => panic!("{e}"),
            }
        }
    }

    /// Reads the same records with the same line numbers as `csv::Reader`, however many are read at a
    /// time and however the input arrives. Records read together with one that is not UTF-8 are not
    /// returned (the file is refused); a quote left open to the end refuses the file where the csv crate
    /// reads the rest as one field.
    fn same(data: &[u8], delimiter: u8) {
        let (want, want_err) = reference(data, delimiter);
        for max in [1, 3, usize::MAX] {
            // (Trickling a long file a few bytes at a time takes long, and adds nothing.)
            for trickle in [false, data.len() < 100_000] {
                let (got, err) = if trickle {
                    ours(Trickle { data, step: max % 5 }, delimiter, max)
                } else {
                    ours(data, delimiter, max)
                };
                let what = format!("{:?}, {max} at a time, trickled {trickle}", String::from_utf8_lossy(data));
                if let Some(open) = err.filter(|e| *e > u64::MAX / 2) {
                    // The last record the csv crate read holds the open quote, on a line of its own or after.
                    let open = u64::MAX - open;
                    let last = want.last().expect("a record");
                    assert!(want_err.is_none() && got.len() < want.len() && last.0 <= open, "{what}");
                    assert!(got == want[..got.len()] && data.contains(&b'"'), "{what}");
                    continue;
                }
                assert_eq!(err, want_err, "{what}");
                if err.is_some() {
                    assert!(got.len() <= want.len() && got == want[..got.len()], "{what}");
                } else {
                    assert_eq!(got, want, "{what}");
                }
            }
        }
    }

    #[test]
    fn records_and_line_numbers_equal_the_csv_crates_on_awkward_files() {
        for text in [
            "",
            "\n\n\n",
            "a,b,c\n1,2,3\n",
            "a,b,c\n1,2,3",
            "a,b\r\n1,2\r\n\r\n3,4\r\n",
            "\na,b\n\n\n1,2\n\n",
            "a,\"b\nc\",d\n1,\"x\"\"y\",2\n\"\",,\n",
            "a,b\n\"unterminated,1\n2,3\n",
            " a , b \n\r\n\r",
            "h\n\"q\"\n\"q\"x\ny\"z\n",
            "\u{feff}a,b\n1,2\n",
            "a;b;c\n1;\"2;3\";4\n",
        ] {
            same(text.as_bytes(), b',');
            same(text.as_bytes(), b';');
        }
        // Bytes that are not UTF-8, in a plain line and in a quoted one.
        same(b"a,b\n1,\xff\n2,3\n", b',');
        same(b"a,b\n1,2\n\"x\xff\",3\n", b',');
    }

    #[test]
    fn records_cross_buffer_refills_and_lines_longer_than_the_buffer() {
        let mut data = String::from("id,text\n");
        for i in 0..150_000 {
            match i % 97 {
                0 => data.push_str(&format!("{i},\"quoted, with a\nnewline\"\n")),
                1 => data.push('\n'),
                _ => data.push_str(&format!("{i},value {i}\n")),
            }
        }
        data.push_str(&format!("long,{}\n", "y".repeat(3 << 20)));
        data.push_str("last,\"q\"");
        same(data.as_bytes(), b',');
    }

    #[test]
    fn random_text_reads_the_same_as_with_the_csv_crate() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let alphabet = [b'a', b'b', b',', b'"', b'\n', b'\r', b' ', b'\t'];
        for _ in 0..3000 {
            let len = (rng.next_u32() % 60) as usize;
            let data: Vec<u8> = (0..len).map(|_| alphabet[(rng.next_u32() % 8) as usize]).collect();
            same(&data, b',');
            same(&data, b'\t');
        }
    }

    #[test]
    fn long_random_lines_with_multibyte_text_read_the_same_as_with_the_csv_crate() {
        // Lines of every length around the eight-byte words the short path tests at once, with two-byte
        // characters (and, split apart, bytes that are not UTF-8) and the odd quote.
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let alphabet: [&[u8]; 9] = [b"a", b"bc", b",", b",", b";", "\u{e9}".as_bytes(), b"\n", b" ", b"\""];
        for round in 0..3000 {
            let mut data = Vec::new();
            let pieces = (rng.next_u32() % 120) as usize;
            for _ in 0..pieces {
                let k = (rng.next_u32() % if round % 3 == 0 { 9 } else { 8 }) as usize;
                data.extend_from_slice(alphabet[k]);
            }
            if round % 50 == 0 && data.len() > 3 {
                data[2] = 0xC3;
            }
            same(&data, b',');
            same(&data, b';');
        }
    }

    /// Everything `LineEnds` makes of `data` read through `Trickle` reads of every size, or the bytes
    /// before a NUL and the error.
    fn line_ends(data: &[u8], step: usize) -> (Vec<u8>, bool) {
        let mut r = LineEnds::new(Trickle { data, step });
        let mut out = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            match r.read(&mut buf) {
                Ok(0) => return (out, false),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => {
                    assert!(is_nul_error(&e), "{e}");
                    return (out, true);
                }
            }
        }
    }

    #[test]
    fn bare_carriage_returns_end_lines_and_crlf_stays_whatever_the_reads() {
        for step in 0..13 {
            assert_eq!(line_ends(b"a,b\r1,2\r\n3,4\n5,6\r", step), (b"a,b\n1,2\r\n3,4\n5,6\n".to_vec(), false));
            assert_eq!(line_ends(b"\r\r\n\r", step), (b"\n\r\n\n".to_vec(), false));
            assert_eq!(line_ends(b"x\r", step), (b"x\n".to_vec(), false));
            assert_eq!(line_ends(b"ab\ncd\0ef\n", step), (b"ab\ncd".to_vec(), true));
        }
    }

    #[test]
    fn a_quote_left_open_refuses_the_file_at_the_line_it_opened_on() {
        let read_all = |data: &[u8], limits: QuoteLimits| {
            let mut r = Records::new(data, b',', b'"', limits);
            let mut rows = Rows::default();
            loop {
                match r.read(&mut rows, usize::MAX, usize::MAX) {
                    Ok(0) => return Ok(rows.len()),
                    Ok(_) => {}
                    Err(e) => return Err(e),
                }
            }
        };
        let mut data = b"id,location\n1,\"Main St\n2,Elm St\n".to_vec();
        for i in 3..40 {
            data.extend_from_slice(format!("{i},Oak St\n").as_bytes());
        }
        match read_all(&data, QuoteLimits::default()) {
            Err(RecordError::Unclosed { line }) => assert_eq!(line, 2),
            _ => panic!("an open quote was read"),
        }
        match read_all(&data, QuoteLimits { lines: 10, bytes: 1 << 20 }) {
            Err(RecordError::QuotedTooLong { line, lines, .. }) => assert!(line == 2 && lines > 10, "{lines}"),
            _ => panic!("a long quoted field was read"),
        }
        // A closed quoted field over a few lines is fine.
        assert_eq!(read_all(b"id,note\n1,\"two\nlines\"\n2,x\n", QuoteLimits::default()).ok(), Some(3));
    }

    #[test]
    fn blank_lines_are_counted_and_records_keep_their_own_line() {
        let mut r = Records::new(&b"h\n\n\na\n\nb\n\n"[..], b',', b'"', QuoteLimits::default());
        let mut rows = Rows::default();
        while r.read(&mut rows, usize::MAX, usize::MAX).ok().unwrap() > 0 {}
        let lines: Vec<u64> = rows.iter().map(|r| r.1).collect();
        assert_eq!(lines, vec![1, 4, 6]);
        assert_eq!((r.blank, r.lines()), (4, 7));
    }

    #[test]
    fn zero_bytes_marks_exactly_the_zero_bytes() {
        for other in 1..=255u8 {
            for zeros in 0..=255u8 {
                let bytes: [u8; 8] = std::array::from_fn(|k| if zeros >> k & 1 == 1 { 0 } else { other });
                let want: [u8; 8] = std::array::from_fn(|k| if bytes[k] == 0 { 0x80 } else { 0 });
                assert_eq!(zero_bytes(u64::from_le_bytes(bytes)), u64::from_le_bytes(want), "{bytes:?}");
            }
        }
    }

    #[test]
    fn every_ascii_byte_beside_delimiters_newlines_and_quotes_reads_as_with_the_csv_crate() {
        // Bytes one above or below a delimiter, newline or quote are where a word-at-a-time test would
        // leak a borrow into a false mark.
        for filler in (0..128u8).filter(|b| ![b',', b'"', b'\n'].contains(b)) {
            let mut data = Vec::new();
            for len in 1..20 {
                for at in 0..len {
                    let mut line = vec![filler; len];
                    line[at] = b',';
                    if at + 3 < len {
                        line[at + 3] = b',';
                    }
                    data.extend_from_slice(&line);
                    data.push(b'\n');
                }
            }
            same(&data, b',');
        }
    }
}
