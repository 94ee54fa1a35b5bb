//! Text encodings, before any parsing: every reader downstream sees UTF-8.
//!
//! - UTF-16 with a byte order mark (what Windows PowerShell's `Out-File` and `>` write) is
//!   decoded.
//! - Anything else is read as UTF-8, and a byte that is not valid UTF-8 is read as the
//!   Windows-1252 character it stands for (Latin-1 for the printable range): a stray `é`
//!   from a Windows export costs nothing and loses nothing; the count is reported.

use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Windows-1252 for bytes 0x80–0x9F (the rest of the high half is Latin-1). Bytes the code
/// page leaves undefined keep their C1 code point, as WHATWG's decoder does.
const CP1252_HIGH: [char; 32] = [
    '\u{20ac}', '\u{81}', '\u{201a}', '\u{192}', '\u{201e}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{2c6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8d}', '\u{17d}', '\u{8f}',
    '\u{90}', '\u{2018}', '\u{2019}', '\u{201c}', '\u{201d}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{2dc}', '\u{2122}', '\u{161}', '\u{203a}', '\u{153}', '\u{9d}', '\u{17e}', '\u{178}',
];

fn cp1252(byte: u8) -> char {
    match byte {
        0x80..=0x9f => CP1252_HIGH[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}

/// Counts the bytes a reader had to read as Windows-1252.
#[derive(Debug, Clone, Default)]
pub struct Repairs(Arc<AtomicU64>);

impl Repairs {
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
}

/// A UTF-8 stream out of whatever `inner` holds (see the module documentation).
pub fn utf8_reader<R: BufRead>(mut inner: R, repairs: &Repairs) -> io::Result<Utf8Stream<R>> {
    let start = inner.fill_buf()?;
    let utf16 = match start {
        [0xff, 0xfe, ..] => Some(false),
        [0xfe, 0xff, ..] => Some(true),
        _ => None,
    };
    const BUFFER: usize = 1 << 16;
    Ok(match utf16 {
        Some(big_endian) => {
            inner.consume(2);
            Utf8Stream::Utf16(io::BufReader::with_capacity(
                BUFFER,
                Utf16Reader {
                    inner,
                    big_endian,
                    out: Vec::new(),
                    pos: 0,
                    carry: Vec::new(),
                },
            ))
        }
        None => Utf8Stream::Repaired(io::BufReader::with_capacity(
            BUFFER,
            Utf8Repair {
                inner,
                out: Vec::new(),
                pos: 0,
                carry: Vec::new(),
                repairs: repairs.clone(),
            },
        )),
    })
}

/// What [`utf8_reader`] returns: UTF-8, buffered.
pub enum Utf8Stream<R> {
    Repaired(io::BufReader<Utf8Repair<R>>),
    Utf16(io::BufReader<Utf16Reader<R>>),
}

impl<R: BufRead> Read for Utf8Stream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Repaired(r) => r.read(buf),
            Self::Utf16(r) => r.read(buf),
        }
    }
}

impl<R: BufRead> BufRead for Utf8Stream<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self {
            Self::Repaired(r) => r.fill_buf(),
            Self::Utf16(r) => r.fill_buf(),
        }
    }
    fn consume(&mut self, amount: usize) {
        match self {
            Self::Repaired(r) => r.consume(amount),
            Self::Utf16(r) => r.consume(amount),
        }
    }
}

/// Passes valid UTF-8 through; an invalid byte becomes its Windows-1252 character.
pub struct Utf8Repair<R> {
    inner: R,
    out: Vec<u8>,
    pos: usize,
    /// The start of a multi-byte character cut by the end of the last buffer.
    carry: Vec<u8>,
    repairs: Repairs,
}

impl<R: BufRead> Utf8Repair<R> {
    /// Decodes the next buffer into `out`; returns whether `inner` has ended.
    fn refill(&mut self) -> io::Result<bool> {
        self.out.clear();
        self.pos = 0;
        let buffer = self.inner.fill_buf()?;
        let at_end = buffer.is_empty();
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(buffer);
        let taken = buffer.len();
        self.inner.consume(taken);
        let mut rest = data.as_slice();
        while !rest.is_empty() {
            match std::str::from_utf8(rest) {
                Ok(text) => {
                    self.out.extend_from_slice(text.as_bytes());
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    self.out.extend_from_slice(valid);
                    match e.error_len() {
                        Some(n) => {
                            self.repair(&after[..n]);
                            rest = &after[n..];
                        }
                        // Cut by the buffer: complete it with the next one, unless this is
                        // the end.
                        None if !at_end => {
                            self.carry = after.to_vec();
                            break;
                        }
                        None => {
                            self.repair(after);
                            break;
                        }
                    }
                }
            }
        }
        Ok(at_end)
    }

    fn repair(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            let mut utf8 = [0u8; 4];
            self.out
                .extend_from_slice(cp1252(byte).encode_utf8(&mut utf8).as_bytes());
        }
        self.repairs.add(bytes.len() as u64);
    }
}

impl<R: BufRead> Read for Utf8Repair<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.out.len() {
            let at_end = self.refill()?;
            if self.out.is_empty() && at_end {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// UTF-16 (after its byte order mark) to UTF-8; an unpaired surrogate becomes U+FFFD.
pub struct Utf16Reader<R> {
    inner: R,
    big_endian: bool,
    out: Vec<u8>,
    pos: usize,
    /// An odd byte, or a high surrogate, left from the last buffer.
    carry: Vec<u8>,
}

impl<R: BufRead> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.out.len() {
            self.out.clear();
            self.pos = 0;
            let buffer = self.inner.fill_buf()?;
            let at_end = buffer.is_empty();
            let mut data = std::mem::take(&mut self.carry);
            data.extend_from_slice(buffer);
            let taken = buffer.len();
            self.inner.consume(taken);
            if at_end && data.len() < 2 {
                return Ok(0);
            }
            let whole = data.len() / 2 * 2;
            let mut units: Vec<u16> = data[..whole]
                .chunks_exact(2)
                .map(|pair| {
                    let bytes = [pair[0], pair[1]];
                    if self.big_endian {
                        u16::from_be_bytes(bytes)
                    } else {
                        u16::from_le_bytes(bytes)
                    }
                })
                .collect();
            // Keep a trailing high surrogate for its partner in the next buffer.
            let mut keep = data[whole..].to_vec();
            if !at_end && units.last().is_some_and(|u| (0xd800..0xdc00).contains(u)) {
                units.pop();
                keep.splice(0..0, data[whole - 2..whole].iter().copied());
            }
            self.carry = keep;
            for c in char::decode_utf16(units) {
                let mut utf8 = [0u8; 4];
                let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
                self.out
                    .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            }
            if self.out.is_empty() && at_end {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> (String, u64) {
        let repairs = Repairs::default();
        let mut reader = utf8_reader(io::Cursor::new(bytes.to_vec()), &repairs).expect("reader");
        let mut text = String::new();
        reader.read_to_string(&mut text).expect("UTF-8 out");
        (text, repairs.count())
    }

    #[test]
    fn valid_utf8_passes_untouched() {
        assert_eq!(
            decode("Zoë — 東京 🙂".as_bytes()),
            ("Zoë — 東京 🙂".into(), 0)
        );
    }

    #[test]
    fn stray_windows_bytes_are_read_as_windows_1252() {
        assert_eq!(
            decode(b"Jos\xe9 \x93quoted\x94 \x80"),
            ("José “quoted” €".into(), 4)
        );
    }

    #[test]
    fn a_character_cut_by_the_buffer_is_not_damaged() {
        let mut text = "x".repeat((1 << 16) - 1);
        text.push('é');
        text.push_str(" end");
        assert_eq!(decode(text.as_bytes()), (text.clone(), 0));
    }

    #[test]
    fn utf16_with_a_byte_order_mark_is_decoded() {
        let mut le = vec![0xff, 0xfe];
        le.extend("{\"a\":\"é🙂\"}".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(decode(&le).0, "{\"a\":\"é🙂\"}");
        let mut be = vec![0xfe, 0xff];
        be.extend("ok".encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(decode(&be).0, "ok");
    }
}
