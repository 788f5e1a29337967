//! The bytes before the records: a file's text encoding decoded to UTF-8, line ends made `\n`, NUL bytes
//! refused, bytes counted (and hashed) as they are read, and the first look at a file (`sniff`) that refuses
//! what is not text of the named encoding.

use crate::ImportError;
use std::io::Read;
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
pub(crate) struct Counting<R> {
    pub(crate) inner: R,
    pub(crate) count: Arc<AtomicU64>,
    /// Bytes this reader read.
    pub(crate) own: u64,
    pub(crate) hasher: Option<sha2::Sha256>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        self.own += n as u64;
        if let Some(h) = &mut self.hasher {
            sha2::Digest::update(h, &buf[..n]);
        }
        Ok(n)
    }
}

/// Turns the source's bytes into UTF-8 (dropping a UTF-8 byte-order mark).
pub(crate) struct Decoding<R> {
    pub(crate) inner: R,
    pub(crate) enc: Encoding,
    pub(crate) started: bool,
    pub(crate) decoder: Option<encoding_rs::Decoder>,
    pub(crate) inbuf: Vec<u8>,
    pub(crate) out: Vec<u8>,
    pub(crate) out_pos: usize,
    pub(crate) eof: bool,
}

impl<R: Read> Decoding<R> {
    pub(crate) fn new(inner: R, enc: Encoding) -> Self {
        let decoder = match enc {
            Encoding::Other(e) => Some(e.new_decoder()),
            _ => None,
        };
        Self { inner, enc, started: false, decoder, inbuf: vec![0; 1 << 16], out: Vec::new(), out_pos: 0, eof: false }
    }

    pub(crate) fn refill(&mut self) -> std::io::Result<()> {
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

/// A NUL byte in a text file (binary data), reported by [`LineEnds`] once the text before it is read.
#[derive(Debug)]
pub(crate) struct NulByte;

impl std::fmt::Display for NulByte {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a NUL byte")
    }
}

impl std::error::Error for NulByte {}

/// Makes every line end a `\n` for the record reader: a bare `\r` (an old Mac line end, or one among `\n`
/// ends) becomes `\n`, while `\r\n` stays as it is (the `\r` is dropped from the last field later). Also
/// stops at a NUL byte: the text before it is returned, then an error of [`NulByte`]. It rewrites bytes in
/// the caller's buffer, so text without `\r` or NUL passes with one scan and no copy.
pub(crate) struct LineEnds<R> {
    pub(crate) inner: R,
    /// The last byte read was a `\r`, held back until the next byte says whether a `\n` follows.
    pub(crate) pending_cr: bool,
    /// A NUL byte came after the text returned.
    pub(crate) nul: bool,
}

impl<R> LineEnds<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self { inner, pending_cr: false, nul: false }
    }

    pub(crate) fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for LineEnds<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.nul {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, NulByte));
        }
        if buf.len() < 2 {
            // A held-back `\r` needs a byte of room before what is read.
            return Err(std::io::Error::other("LineEnds reads into buffers of two bytes or more"));
        }
        loop {
            let off = usize::from(self.pending_cr);
            let n = self.inner.read(&mut buf[off..])?;
            let mut len = off + n;
            if self.pending_cr {
                self.pending_cr = false;
                buf[0] = if n > 0 && buf[1] == b'\n' { b'\r' } else { b'\n' };
            }
            let mut i = off;
            while let Some(k) = memchr::memchr2(b'\r', 0, &buf[i..len]) {
                let at = i + k;
                if buf[at] == 0 {
                    self.nul = true;
                    len = at;
                    break;
                }
                if at + 1 < len {
                    if buf[at + 1] != b'\n' {
                        buf[at] = b'\n';
                    }
                } else {
                    // The last byte: whether a `\n` follows is for the next read to say.
                    self.pending_cr = true;
                    len = at;
                    break;
                }
                i = at + 1;
            }
            if len > 0 || n == 0 || self.nul {
                if len == 0 && self.nul {
                    return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, NulByte));
                }
                return Ok(len);
            }
            // Only a held-back `\r` arrived: read on.
        }
    }
}

pub(crate) fn is_nul_error(e: &std::io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<NulByte>())
}

/// Sniffs the start of a file for things that are not delimited text in the profile's encoding.
pub(crate) fn sniff(path: &Path, display: &str, enc: Encoding) -> Result<(), ImportError> {
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
    if head.is_empty() {
        return Err(refuse(None, "the file is empty (0 bytes)".into()));
    }
    let wide = matches!(enc, Encoding::Other(e) if e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE);
    let bom = if head.starts_with(&[0xFF, 0xFE, 0, 0]) || head.starts_with(&[0, 0, 0xFE, 0xFF]) {
        Some("UTF-32")
    } else if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        Some("UTF-16")
    } else {
        None
    };
    match bom {
        Some("UTF-16") if wide => return Ok(()),
        Some(kind) => {
            let how = if kind == "UTF-16" {
                "convert it to UTF-8 or set [source] encoding = \"utf-16le\" (or \"utf-16be\") in the profile"
            } else {
                "convert it to UTF-8 (this reader has no UTF-32 decoder)"
            };
            return Err(refuse(
                Some(1),
                format!("this file is {kind} (it starts with a {kind} byte-order mark): {how}"),
            ));
        }
        None if wide => return Ok(()),
        None => {}
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
        let zeros = head.iter().filter(|&&b| b == 0).count();
        if head.len() >= 4 && zeros * 3 >= head.len() {
            return Err(refuse(
                Some(line),
                "this file looks like UTF-16 without a byte-order mark (every other byte is NUL): convert it to \
                 UTF-8 or set [source] encoding = \"utf-16le\" (or \"utf-16be\")"
                    .into(),
            ));
        }
        return Err(refuse(Some(line), "this is not a CSV file: it holds binary data (a NUL byte)".into()));
    }
    Ok(())
}
