//! Readers: CSV (any delimiter and quote, UTF-8 with or without BOM, Latin-1 and other encodings, CRLF) and
//! Parquet (through DuckDB). Both hand the engine rows of text with their source line.

use crate::ImportError;
use crate::profile::SourceToml;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Text encodings a profile may name.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Encoding {
    Utf8,
    /// ISO-8859-1: every byte is the code point of the same number.
    Latin1,
    Other(&'static encoding_rs::Encoding),
}

impl Encoding {
    pub(crate) fn from_label(label: &str) -> Result<Self, String> {
        match label.trim().to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Ok(Self::Utf8),
            "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" => Ok(Self::Latin1),
            other => encoding_rs::Encoding::for_label(other.as_bytes())
                .map(Self::Other)
                .ok_or_else(|| format!("source.encoding {label:?} is not an encoding this reader knows")),
        }
    }
}

/// Counts bytes read (for progress reports) and, when asked, hashes them as they pass.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
    hasher: Option<sha2::Sha256>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(h) = &mut self.hasher {
            sha2::Digest::update(h, &buf[..n]);
        }
        Ok(n)
    }
}

/// Turns the source's bytes into UTF-8 (dropping a UTF-8 byte-order mark).
struct Decoding<R> {
    inner: R,
    enc: Encoding,
    started: bool,
    decoder: Option<encoding_rs::Decoder>,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    eof: bool,
}

impl<R: Read> Decoding<R> {
    fn new(inner: R, enc: Encoding) -> Self {
        let decoder = match enc {
            Encoding::Other(e) => Some(e.new_decoder()),
            _ => None,
        };
        Self { inner, enc, started: false, decoder, inbuf: vec![0; 1 << 16], out: Vec::new(), out_pos: 0, eof: false }
    }

    fn refill(&mut self) -> std::io::Result<()> {
        self.out.clear();
        self.out_pos = 0;
        let n = self.inner.read(&mut self.inbuf)?;
        let input = &self.inbuf[..n];
        match self.enc {
            Encoding::Utf8 => {
                let mut input = input;
                if !self.started && input.starts_with(&[0xEF, 0xBB, 0xBF]) {
                    input = &input[3..];
                }
                self.out.extend_from_slice(input);
            }
            Encoding::Latin1 => {
                for &b in input {
                    if b < 0x80 {
                        self.out.push(b);
                    } else {
                        self.out.push(0xC0 | (b >> 6));
                        self.out.push(0x80 | (b & 0x3F));
                    }
                }
            }
            Encoding::Other(_) => {
                let dec = self.decoder.as_mut().ok_or_else(|| std::io::Error::other("no decoder"))?;
                let last = n == 0;
                let mut s = String::with_capacity(n * 2 + 16);
                let cap = dec.max_utf8_buffer_length(n).unwrap_or(n * 3 + 16);
                s.reserve(cap);
                let (_res, _read, _replaced) = dec.decode_to_string(input, &mut s, last);
                self.out.extend_from_slice(s.as_bytes());
            }
        }
        self.started = true;
        if n == 0 {
            self.eof = true;
        }
        Ok(())
    }
}

impl<R: Read> Read for Decoding<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // UTF-8 past the byte-order mark passes through without a copy.
        if matches!(self.enc, Encoding::Utf8) && self.started && self.out_pos >= self.out.len() {
            return self.inner.read(buf);
        }
        while self.out_pos >= self.out.len() {
            if self.eof {
                return Ok(0);
            }
            self.refill()?;
        }
        let n = (self.out.len() - self.out_pos).min(buf.len());
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

/// What the start of a file says about how to read it.
pub(crate) struct Sniffed {
    /// Lines end in `\n` (or `\r\n`); false for old-style `\r`-only files.
    pub(crate) newline: bool,
}

/// Sniffs the start of a file for things that are not delimited text.
pub(crate) fn sniff(path: &Path, display: &str) -> Result<Sniffed, ImportError> {
    let mut f = std::fs::File::open(path).map_err(|e| ImportError::io(display, e))?;
    let mut head = vec![0u8; 8192];
    let mut n = 0;
    while n < head.len() {
        let k = f.read(&mut head[n..]).map_err(|e| ImportError::io(display, e))?;
        if k == 0 {
            break;
        }
        n += k;
    }
    let head = &head[..n];
    let refuse = |line: Option<u64>, message: String| ImportError::refused(display, line, None, message);
    if head.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(refuse(None, "the file is empty".into()));
    }
    if head.starts_with(b"PAR1") {
        return Err(refuse(
            Some(1),
            "this is a Parquet file, but the profile reads CSV (set [source] format = \"parquet\")".into(),
        ));
    }
    if head.starts_with(b"PK\x03\x04") {
        return Err(refuse(
            Some(1),
            "this is a zip archive (an .xlsx workbook?), not CSV: export the sheet as CSV or unzip it".into(),
        ));
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return Err(refuse(Some(1), "this is a gzip file, not CSV: decompress it first".into()));
    }
    if let Some(pos) = head.iter().position(|&b| b == 0) {
        let line = head[..pos].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        return Err(refuse(Some(line), "this is not a CSV file: it holds binary data (a NUL byte)".into()));
    }
    Ok(Sniffed { newline: head.contains(&b'\n') || !head.contains(&b'\r') })
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
    /// Whether records end at `\n` (the short path applies); false for `\r`-only files.
    newline: bool,
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
}

/// High bit set in each byte of `x` that is zero, and nothing else (the exact test: the shorter
/// `(x - 0x01..) & !x` form also marks a byte above a zero one that holds 0x01).
#[inline(always)]
fn zero_bytes(x: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    !(((x & LOW7) + LOW7) | x | LOW7)
}

impl<R: Read> Records<R> {
    fn new(src: R, newline: bool, delimiter: u8, quote: u8) -> Self {
        let terminator = if newline { csv_core::Terminator::Any(b'\n') } else { csv_core::Terminator::CRLF };
        let core = csv_core::ReaderBuilder::new().terminator(terminator).delimiter(delimiter).quote(quote).build();
        Self {
            src,
            core,
            newline,
            delimiter,
            quote,
            buf: vec![0; 1 << 20],
            start: 0,
            end: 0,
            eof: false,
            fields: vec![0; 1 << 12],
            ends: vec![0; 64],
            started: false,
        }
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
        if self.end == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let n = self.src.read(&mut self.buf[self.end..])?;
        self.end += n;
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
            if self.newline && self.started {
                match self.short(rows, max)? {
                    Short::Read => continue,
                    Short::NeedData if self.fill_line().map_err(RecordError::Io)? => continue,
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
                    // A blank line is no record (as csv_core reads it).
                    if at > line_start {
                        rows.ends.push((base + at) as u32);
                        rows.starts.push(((base + line_start) as u32, first as u32));
                        rows.lines.push(rec_line);
                        rec_line = line;
                        done = at + 1;
                    }
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

    /// One record through `csv_core`'s state machine; false at the end of the input.
    fn read_general(&mut self, rows: &mut Rows) -> Result<bool, RecordError> {
        use csv_core::ReadRecordResult as R;
        self.started = true;
        let line = self.core.line();
        let (mut nout, mut nend) = (0, 0);
        loop {
            // An empty input tells csv_core the file has ended: read more first while there is more.
            if self.start == self.end {
                self.fill().map_err(RecordError::Io)?;
            }
            let (res, nin, o, e) = self.core.read_record(
                &self.buf[self.start..self.end],
                &mut self.fields[nout..],
                &mut self.ends[nend..],
            );
            self.start += nin;
            nout += o;
            nend += e;
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
    reader: Records<Decoding<BufReader<Counting<std::fs::File>>>>,
    pub(crate) header: Vec<String>,
    display: String,
    line_offset: u64,
}

impl CsvSource {
    /// Opens a CSV file and reads its header; with `hash`, every byte read is also hashed (see
    /// [`CsvSource::finish_hash`]).
    pub(crate) fn open(
        path: &Path,
        display: &str,
        src: &SourceToml,
        counter: Arc<AtomicU64>,
        hash: bool,
    ) -> Result<Self, ImportError> {
        let sniffed = sniff(path, display)?;
        let enc = Encoding::from_label(&src.encoding).map_err(|m| ImportError::refused(display, None, None, m))?;
        let file = std::fs::File::open(path).map_err(|e| ImportError::io(display, e))?;
        let mut buf = BufReader::with_capacity(
            1 << 20,
            Counting { inner: file, count: counter, hasher: hash.then(sha2::Sha256::default) },
        );
        let mut skipped = 0u64;
        for _ in 0..src.skip_lines {
            let mut line = Vec::new();
            let n = buf.read_until(b'\n', &mut line).map_err(|e| ImportError::io(display, e))?;
            if n == 0 {
                break;
            }
            skipped += 1;
        }
        let delimiter = if src.delimiter == "\\t" { b'\t' } else { src.delimiter.as_bytes()[0] };
        // Records end at '\n' so that line numbers count physical lines exactly (a CRLF's '\r' is dropped
        // from the last field when values are read); files with '\r'-only line ends use CR as well.
        let reader = Records::new(Decoding::new(buf, enc), sniffed.newline, delimiter, src.quote.as_bytes()[0]);
        let mut s = Self { reader, header: Vec::new(), display: display.to_owned(), line_offset: skipped };
        let mut first = Rows::default();
        if s.read_rows(&mut first, 1, usize::MAX)? == 0 {
            return Err(ImportError::refused(display, None, None, "the file is empty (no header line)".into()));
        }
        let (rec, line) = (first.row(0), Some(first.line(0)));
        s.header = rec.iter().map(|h| h.trim().to_owned()).collect();
        if s.header.last().is_some_and(|h| h.is_empty()) && rec.len() > 1 && rec.get(rec.len() - 1) == Some("\r") {
            s.header.pop();
        }
        if s.header.iter().all(String::is_empty) {
            return Err(ImportError::refused(display, line, None, "the header line is blank".into()));
        }
        Ok(s)
    }

    /// The sha256 of the whole file (when opened with `hash`), once it has been read to the end.
    pub(crate) fn finish_hash(self) -> Option<String> {
        let mut counting = self.reader.src.inner.into_inner();
        counting.hasher.take().map(|h| hex::encode(sha2::Digest::finalize(h)))
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
    /// record, or the line of the first record that is not UTF-8.
    fn reference(data: &[u8], newline: bool, delimiter: u8) -> (Vec<(u64, Vec<String>)>, Option<u64>) {
        let terminator = if newline { csv::Terminator::Any(b'\n') } else { csv::Terminator::CRLF };
        let mut r = csv::ReaderBuilder::new()
            .terminator(terminator)
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
                    out.push((rec.position().map(|p| p.line()).unwrap_or(0), rec.iter().map(str::to_owned).collect()))
                }
                Ok(false) => return (out, None),
                Err(e) => return (out, e.position().map(|p| p.line())),
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
    /// record that is not UTF-8.
    fn ours(src: impl Read, newline: bool, delimiter: u8, max: usize) -> (Vec<(u64, Vec<String>)>, Option<u64>) {
        let mut r = Records::new(src, newline, delimiter, b'"');
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
                Err(RecordError::TooLong { .. }) => panic!("too long"),
                Err(RecordError::Io(e)) => panic!("{e}"),
            }
        }
    }

    /// Reads the same records with the same line numbers as `csv::Reader`, however many are read at a
    /// time and however the input arrives. Records read together with one that is not UTF-8 are not
    /// returned (the file is refused).
    fn same(data: &[u8], newline: bool, delimiter: u8) {
        let (want, want_err) = reference(data, newline, delimiter);
        for max in [1, 3, usize::MAX] {
            // (Trickling a long file a few bytes at a time takes long, and adds nothing.)
            for trickle in [false, data.len() < 100_000] {
                let (got, err) = if trickle {
                    ours(Trickle { data, step: max % 5 }, newline, delimiter, max)
                } else {
                    ours(data, newline, delimiter, max)
                };
                let what = format!("{:?}, {max} at a time, trickled {trickle}", String::from_utf8_lossy(data));
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
            same(text.as_bytes(), true, b',');
            same(text.as_bytes(), true, b';');
            same(text.as_bytes(), false, b',');
        }
        // Old Mac line ends.
        same(b"a,b\r1,2\r3,\"4\r5\"\r", false, b',');
        // Bytes that are not UTF-8, in a plain line and in a quoted one.
        same(b"a,b\n1,\xff\n2,3\n", true, b',');
        same(b"a,b\n1,2\n\"x\xff\",3\n", true, b',');
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
        same(data.as_bytes(), true, b',');
    }

    #[test]
    fn random_text_reads_the_same_as_with_the_csv_crate() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let alphabet = [b'a', b'b', b',', b'"', b'\n', b'\r', b' ', b'\t'];
        for _ in 0..3000 {
            let len = (rng.next_u32() % 60) as usize;
            let data: Vec<u8> = (0..len).map(|_| alphabet[(rng.next_u32() % 8) as usize]).collect();
            same(&data, true, b',');
            same(&data, false, b',');
            same(&data, true, b'\t');
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
            same(&data, true, b',');
            same(&data, true, b';');
        }
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
            same(&data, true, b',');
        }
    }
}
