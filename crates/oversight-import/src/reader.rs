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

/// A CSV file being read.
pub(crate) struct CsvSource {
    reader: csv::Reader<Decoding<BufReader<Counting<std::fs::File>>>>,
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
        let terminator = if sniffed.newline { csv::Terminator::Any(b'\n') } else { csv::Terminator::CRLF };
        let reader = csv::ReaderBuilder::new()
            .terminator(terminator)
            .delimiter(delimiter)
            .quote(src.quote.as_bytes()[0])
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 20)
            .from_reader(Decoding::new(buf, enc));
        let mut s = Self { reader, header: Vec::new(), display: display.to_owned(), line_offset: skipped };
        let mut rec = csv::StringRecord::new();
        let line = s.next_record(&mut rec)?;
        if line.is_none() {
            return Err(ImportError::refused(display, None, None, "the file is empty (no header line)".into()));
        }
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
        let mut counting = self.reader.into_inner().inner.into_inner();
        counting.hasher.take().map(|h| hex::encode(sha2::Digest::finalize(h)))
    }

    /// Reads the next record; returns its first line, or None at the end. Bytes that are not valid in the
    /// encoding refuse the whole file, naming the line.
    pub(crate) fn next_record(&mut self, rec: &mut csv::StringRecord) -> Result<Option<u64>, ImportError> {
        match self.reader.read_record(rec) {
            Ok(true) => Ok(Some(rec.position().map(|p| p.line()).unwrap_or(0) + self.line_offset)),
            Ok(false) => Ok(None),
            Err(e) => {
                let line = e.position().map(|p| p.line() + self.line_offset);
                let message = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => {
                        "bytes that are not valid UTF-8: if the file is Latin-1 or Windows-1252, set [source] encoding in the profile".to_owned()
                    }
                    _ => format!("unreadable CSV: {e}"),
                };
                Err(ImportError::refused(&self.display, line, None, message))
            }
        }
    }
}
