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
    reader: Records<Decoding<BufReader<Counting<std::fs::File>>>>,
    pub(crate) header: Vec<String>,
    display: String,
    line_offset: u64,
}

/// Why a record could not be read.
enum RecordError {
    Io(std::io::Error),
    /// Bytes that are not UTF-8, in the record starting at this line.
    Utf8 {
        line: u64,
    },
}

/// CSV records read with `csv_core` (the parser of the `csv` crate, with the same settings and the same
/// records and line numbers as `csv::Reader`), plus a short path for the common line: one that ends in
/// `\n`, is not empty and holds no quote character is split at the delimiter directly.
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

    /// Reads the next record into `rec`; returns the line it starts on (as `csv::Reader` counts them), or
    /// None at the end.
    fn read(&mut self, rec: &mut csv::StringRecord) -> Result<Option<u64>, RecordError> {
        let line = self.core.line();
        if self.newline && self.started {
            // The short path: a whole line in the buffer, not empty, without a quote.
            let nl = loop {
                if let Some(i) = memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                    break Some(self.start + i);
                }
                if !self.fill().map_err(RecordError::Io)? {
                    break None;
                }
            };
            let stop = nl.unwrap_or(self.end);
            let text = &self.buf[self.start..stop];
            if !text.is_empty() && memchr::memchr(self.quote, text).is_none() {
                let text = std::str::from_utf8(text).map_err(|_| RecordError::Utf8 { line })?;
                rec.clear();
                let mut from = 0;
                for at in memchr::memchr_iter(self.delimiter, text.as_bytes()) {
                    rec.push_field(&text[from..at]);
                    from = at + 1;
                }
                rec.push_field(&text[from..]);
                self.start = nl.map_or(self.end, |i| i + 1);
                self.core.set_line(line + u64::from(nl.is_some()));
                return Ok(Some(line));
            }
        }
        self.read_general(rec, line)
    }

    /// Any record, through `csv_core`'s state machine.
    fn read_general(&mut self, rec: &mut csv::StringRecord, line: u64) -> Result<Option<u64>, RecordError> {
        use csv_core::ReadRecordResult as R;
        self.started = true;
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
                R::End => return Ok(None),
            }
        }
        let text = std::str::from_utf8(&self.fields[..nout]).map_err(|_| RecordError::Utf8 { line })?;
        rec.clear();
        let mut from = 0;
        for &to in &self.ends[..nend] {
            rec.push_field(&text[from..to]);
            from = to;
        }
        Ok(Some(line))
    }
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
        let mut counting = self.reader.src.inner.into_inner();
        counting.hasher.take().map(|h| hex::encode(sha2::Digest::finalize(h)))
    }

    /// Reads the next record; returns its first line, or None at the end. Bytes that are not valid in the
    /// encoding refuse the whole file, naming the line.
    pub(crate) fn next_record(&mut self, rec: &mut csv::StringRecord) -> Result<Option<u64>, ImportError> {
        match self.reader.read(rec) {
            Ok(line) => Ok(line.map(|l| l + self.line_offset)),
            Err(RecordError::Utf8 { line }) => Err(ImportError::refused(
                &self.display,
                Some(line + self.line_offset),
                None,
                "bytes that are not valid UTF-8: if the file is Latin-1 or Windows-1252, set [source] encoding in the profile".to_owned(),
            )),
            Err(RecordError::Io(e)) => Err(ImportError::refused(
                &self.display,
                None,
                None,
                format!("unreadable CSV: {e}"),
            )),
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

    fn ours(data: &[u8], newline: bool, delimiter: u8) -> (Vec<(u64, Vec<String>)>, Option<u64>) {
        let mut r = Records::new(data, newline, delimiter, b'"');
        let mut out = Vec::new();
        let mut rec = csv::StringRecord::new();
        loop {
            match r.read(&mut rec) {
                Ok(Some(line)) => out.push((line, rec.iter().map(str::to_owned).collect())),
                Ok(None) => return (out, None),
                Err(RecordError::Utf8 { line }) => return (out, Some(line)),
                Err(RecordError::Io(e)) => panic!("{e}"),
            }
        }
    }

    fn same(data: &[u8], newline: bool, delimiter: u8) {
        assert_eq!(
            ours(data, newline, delimiter),
            reference(data, newline, delimiter),
            "{:?}",
            String::from_utf8_lossy(data)
        );
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
}
