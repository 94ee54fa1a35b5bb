//! Reading one document into JSON records, whatever its container: gzip or not; JSON Lines
//! (one value per line: records, or whole Event Hub messages or Graph pages, `PT1H.json`
//! blobs); a pretty-printed JSON document (a Graph page, an Event Hub `{"records": [...]}`
//! message, an array of objects or one object); or CSV/TSV with a header (Log Analytics
//! exports). What the records *mean* is decided later, in `detect`.
//!
//! Every document is parsed once, streaming. A compact one-line Graph page of 500 MB is one
//! "line": its envelope is read key by key and its `value` array element by element, so
//! memory holds one record at a time, never the page. Each record keeps its original text as
//! `raw`.

use std::fmt;
use std::io::{self, BufRead, Cursor, Read};
use std::sync::Arc;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::decode;
use super::fields::shorten;

/// Where a record sits in its document, for quarantine and error messages: the 1-based line
/// it starts on (NDJSON, CSV, or the line a document broke on) and/or its 1-based position
/// among the document's records (elements of a page or message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Locator {
    pub line: Option<u64>,
    pub record: Option<u64>,
}

impl Locator {
    pub fn line(line: u64) -> Self {
        Self {
            line: Some(line),
            record: None,
        }
    }

    pub fn record(record: u64, line: Option<u64>) -> Self {
        Self {
            line,
            record: Some(record),
        }
    }
}

impl fmt::Display for Locator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.record, self.line) {
            (Some(r), Some(l)) => write!(f, "record {r} (line {l})"),
            (Some(r), None) => write!(f, "record {r}"),
            (None, Some(l)) => write!(f, "line {l}"),
            (None, None) => f.write_str("the document"),
        }
    }
}

/// One record read from a document, with the `@odata.context` of its page when there is one.
#[derive(Debug, Clone)]
pub struct SourceRecord {
    pub locator: Locator,
    pub value: Value,
    /// The record's original JSON text.
    pub raw: String,
    pub context: Option<Arc<str>>,
}

/// Text that could not be read as a record.
#[derive(Debug, Clone)]
pub struct BadRecord {
    pub locator: Locator,
    pub reason: String,
    pub text: String,
}

/// Receives what a document holds, record by record, so that memory stays bounded.
pub trait RecordSink {
    fn record(&mut self, record: SourceRecord);
    fn bad_record(&mut self, bad: BadRecord);
    /// Something about the whole document the reader had to work around.
    fn note(&mut self, _text: String) {}
}

/// The container a document was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    JsonLines,
    JsonDocument,
    Csv,
}

impl Container {
    pub fn as_str(self) -> &'static str {
        match self {
            Container::JsonLines => "NDJSON",
            Container::JsonDocument => "JSON document",
            Container::Csv => "CSV",
        }
    }
}

/// Why a whole document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read: {0}")]
    Io(#[from] io::Error),
    #[error("the file is empty")]
    Empty,
    #[error("this is a binary file, not a JSON or CSV export")]
    Binary,
    #[error("unknown format: the file starts with `{0}`, expected JSON (`{{` or `[`) or CSV with a header line")]
    UnknownFormat(String),
    #[error(
        "XML is not supported: export Windows events as JSON (NXLog or Sentinel SecurityEvent)"
    )]
    Xml,
}

/// How much of a document is looked at to decide its container.
const SNIFF_BYTES: usize = 64 << 10;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
/// A line's text is kept (for `raw` of a plain record, or a quarantined line) up to this size;
/// longer lines are still read, streaming, but not held.
const LINE_TEXT_LIMIT: usize = 4 << 20;

/// Reads one document (gzip-compressed or not, UTF-8, UTF-16 or Windows-1252) and hands its
/// records to `sink`. Returns the container it was read as.
pub fn read_document(reader: impl Read, sink: &mut dyn RecordSink) -> Result<Container, FileError> {
    let mut reader = io::BufReader::with_capacity(1 << 16, reader);
    if reader.fill_buf()?.starts_with(&GZIP_MAGIC) {
        let decoder = flate2::read::MultiGzDecoder::new(reader);
        return read_text(io::BufReader::with_capacity(1 << 16, decoder), sink);
    }
    read_text(reader, sink)
}

/// Decodes the text to UTF-8, then reads it; says how many bytes had to be read as
/// Windows-1252.
fn read_text(mut raw: impl BufRead, sink: &mut dyn RecordSink) -> Result<Container, FileError> {
    if looks_binary(raw.fill_buf()?) {
        return Err(FileError::Binary);
    }
    let repairs = decode::Repairs::default();
    let container = read_stream(decode::utf8_reader(raw, &repairs)?, sink)?;
    if repairs.count() > 0 {
        sink.note(format!(
            "{} byte(s) were not UTF-8 and were read as Windows-1252 characters",
            repairs.count()
        ));
    }
    Ok(container)
}

/// A file that is not text: NUL bytes (outside UTF-16, which starts with its byte order
/// mark), or mostly bytes that are neither UTF-8 nor printable.
fn looks_binary(head: &[u8]) -> bool {
    if head.starts_with(&[0xff, 0xfe]) || head.starts_with(&[0xfe, 0xff]) {
        return false;
    }
    if head.contains(&0) {
        return true;
    }
    let mut odd = 0usize;
    let mut rest = head;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(_) => break,
            Err(e) => {
                let n = e.error_len().unwrap_or(rest.len() - e.valid_up_to());
                odd += n;
                rest = &rest[e.valid_up_to() + n..];
            }
        }
    }
    odd += head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c))
        .count();
    odd * 10 > head.len() * 3
}

/// Reads records from a buffered, decompressed stream.
pub fn read_stream(
    mut reader: impl BufRead,
    sink: &mut dyn RecordSink,
) -> Result<Container, FileError> {
    // Leading blank lines say nothing; they are skipped (and counted) before sniffing, so a
    // page after thousands of them is still found.
    let skipped_lines = skip_blank(&mut reader)?;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    reader
        .by_ref()
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)?;
    let text_start = head.strip_prefix(UTF8_BOM).unwrap_or(&head);
    if text_start.contains(&0) {
        return Err(FileError::Binary);
    }
    let Some(first) = text_start.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Err(FileError::Empty);
    };
    let mode = match text_start[first] {
        b'{' | b'[' => json_mode(&text_start[first..]),
        b'<' => return Err(FileError::Xml),
        _ => {
            let line_end = text_start[first..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(text_start.len(), |p| first + p);
            let first_line = &text_start[first..line_end];
            let commas = first_line.iter().filter(|&&b| b == b',').count();
            let tabs = first_line.iter().filter(|&&b| b == b'\t').count();
            if commas == 0 && tabs == 0 {
                let shown =
                    String::from_utf8_lossy(&first_line[..first_line.len().min(40)]).into_owned();
                return Err(FileError::UnknownFormat(shown));
            }
            Mode::Delimited(if tabs > commas { b'\t' } else { b',' })
        }
    };
    // Put the sniffed bytes (without a byte order mark) back in front of the rest.
    let bom = head.len() - text_start.len();
    head.drain(..bom);
    let rest = io::BufReader::with_capacity(1 << 16, Cursor::new(head).chain(reader));
    match mode {
        Mode::Lines => {
            read_json_lines(rest, skipped_lines, sink)?;
            Ok(Container::JsonLines)
        }
        Mode::Document => {
            read_json_document(rest, skipped_lines, sink);
            Ok(Container::JsonDocument)
        }
        Mode::Delimited(delimiter) => {
            read_delimited(rest, delimiter, skipped_lines, sink)?;
            Ok(Container::Csv)
        }
    }
}

enum Mode {
    /// One JSON value per line (a compact page is one line).
    Lines,
    /// One pretty-printed JSON value over many lines.
    Document,
    /// CSV or TSV with a header line.
    Delimited(u8),
}

/// JSON Lines unless the document is pretty-printed: its first line opens a value that goes
/// on (a bracket alone, or a line ending in `{`, `[`, `,` or `:`). A first line that is a
/// broken record of its own (NDJSON truncated at line one) is one bad line, not a document;
/// a first line longer than the sniff window is a compact document, read as a line, streaming.
fn json_mode(text: &[u8]) -> Mode {
    let mut lines = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace));
    let Some(first) = lines.next() else {
        return Mode::Lines;
    };
    let first_is_whole = first.len() < text.len();
    if !first_is_whole || is_value(first) {
        return Mode::Lines;
    }
    match first.trim_ascii().last() {
        Some(b'{' | b'[' | b',' | b':') => Mode::Document,
        _ => Mode::Lines,
    }
}

fn is_value(line: &[u8]) -> bool {
    let line = line.trim_ascii();
    (line.starts_with(b"{") || line.starts_with(b"["))
        && serde_json::from_slice::<IgnoredAny>(line).is_ok()
}

/// Skips whitespace-only lines at the start of a stream; returns how many newlines it passed.
fn skip_blank(reader: &mut impl BufRead) -> io::Result<u64> {
    let mut lines = 0;
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            return Ok(lines);
        }
        let blank = buffer
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(buffer.len());
        // Stop at the start of the line that has content, so line numbers stay whole.
        let cut = match buffer[..blank].iter().rposition(|&b| b == b'\n') {
            Some(newline) if blank < buffer.len() => newline + 1,
            _ if blank < buffer.len() => 0,
            _ => blank,
        };
        lines += buffer[..cut].iter().filter(|&&b| b == b'\n').count() as u64;
        let done = blank < buffer.len() || cut == 0;
        reader.consume(cut);
        if done {
            return Ok(lines);
        }
    }
}

/// A `Read` over one line of a `BufRead`: it ends at the line's newline (which it consumes).
/// It keeps the line's text up to [`LINE_TEXT_LIMIT`].
struct LineReader<'a, R: BufRead> {
    inner: &'a mut R,
    finished: bool,
    text: Vec<u8>,
    text_complete: bool,
    bytes: usize,
}

impl<'a, R: BufRead> LineReader<'a, R> {
    fn new(inner: &'a mut R) -> Self {
        Self {
            inner,
            finished: false,
            text: Vec::new(),
            text_complete: true,
            bytes: 0,
        }
    }

    /// Reads and drops the rest of the line; returns whether the stream had anything left.
    fn drain(&mut self) -> io::Result<()> {
        let mut sink = [0u8; 8192];
        while self.read(&mut sink)? > 0 {}
        Ok(())
    }

    /// The line's text when it was kept whole.
    fn text(&self) -> Option<String> {
        self.text_complete
            .then(|| String::from_utf8_lossy(self.text.trim_ascii()).into_owned())
    }
}

impl<R: BufRead> Read for LineReader<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.finished || out.is_empty() {
            return Ok(0);
        }
        let buffer = self.inner.fill_buf()?;
        if buffer.is_empty() {
            self.finished = true;
            return Ok(0);
        }
        // Look for the newline only in what fits in `out`: serde_json reads a byte at a time,
        // and searching the whole buffer on every call would make a long line quadratic.
        let window = &buffer[..buffer.len().min(out.len())];
        let (take, ends) = match window.iter().position(|&b| b == b'\n') {
            Some(newline) => (newline, true),
            None => (window.len(), false),
        };
        out[..take].copy_from_slice(&buffer[..take]);
        if self.text_complete {
            if self.text.len() + take <= LINE_TEXT_LIMIT {
                self.text.extend_from_slice(&buffer[..take]);
            } else {
                self.text_complete = false;
                self.text = Vec::new();
            }
        }
        self.inner.consume(take + usize::from(ends));
        self.bytes += take;
        if ends {
            self.finished = true;
        }
        Ok(take)
    }
}

/// JSON Lines: every line is parsed on its own, streaming (a line may be a 500 MB page), and a
/// bad line is quarantined without touching its neighbours.
fn read_json_lines(
    mut reader: impl BufRead,
    skipped_lines: u64,
    sink: &mut dyn RecordSink,
) -> io::Result<()> {
    let mut number = skipped_lines;
    let mut counter = 0u64;
    loop {
        if reader.fill_buf()?.is_empty() {
            return Ok(());
        }
        number += 1;
        let emitted_before = counter;
        let mut line = LineReader::new(&mut reader);
        let parsed = {
            let mut deserializer = serde_json::Deserializer::from_reader(&mut line);
            let seed = DocumentSeed {
                sink: &mut *sink,
                counter: &mut counter,
                line: number,
            };
            seed.deserialize(&mut deserializer)
                .and_then(|parsed| deserializer.end().map(|()| parsed))
        };
        line.drain()?;
        let locator = Locator::line(number);
        match parsed {
            Ok(Parsed::Streamed) => {}
            Ok(Parsed::Value(value)) => {
                let raw = line.text().unwrap_or_else(|| value.to_string());
                emit(value, &raw, locator, None, sink);
            }
            Err(e) if e.is_eof() && line.bytes == 0 => {}
            Err(e) if line.text().is_some_and(|t| t.is_empty()) => {
                let _ = e; // a whitespace-only line
            }
            Err(e) => {
                let kept = if counter > emitted_before {
                    format!(
                        "; the {} record(s) before it were read",
                        counter - emitted_before
                    )
                } else {
                    String::new()
                };
                sink.bad_record(BadRecord {
                    locator,
                    reason: format!("not valid JSON: {e}{kept}"),
                    text: line.text().unwrap_or_default(),
                });
            }
        }
    }
}

/// A pretty-printed document, streamed: the elements of a top-level array, or of the
/// `value`/`records` array of a top-level object, are handed over one by one.
fn read_json_document(reader: impl BufRead, skipped_lines: u64, sink: &mut dyn RecordSink) {
    let mut counter = 0u64;
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    let result = {
        let seed = DocumentSeed {
            sink: &mut *sink,
            counter: &mut counter,
            line: 0,
        };
        seed.deserialize(&mut deserializer)
            .and_then(|parsed| deserializer.end().map(|()| parsed))
    };
    match result {
        Ok(Parsed::Streamed) => {}
        Ok(Parsed::Value(value)) => {
            // A single pretty-printed object (a Graph `$entity` response): it was read key by
            // key, so its text is rebuilt, in its original key order.
            counter += 1;
            let text = value.to_string();
            emit(value, &text, Locator::record(counter, None), None, sink);
        }
        Err(e) => {
            let kept = if counter > 0 {
                format!("; the {counter} record(s) before it were read")
            } else {
                String::new()
            };
            sink.bad_record(BadRecord {
                locator: Locator::line(e.line() as u64 + skipped_lines),
                reason: format!("malformed or truncated JSON document: {e}{kept}"),
                text: String::new(),
            });
        }
    }
}

/// What a top-level JSON value turned out to be.
enum Parsed {
    /// An envelope or array whose records were handed over as they were parsed.
    Streamed,
    /// Anything else: one record (or a Log Analytics query-API result) to hand over whole.
    Value(Value),
}

/// Streams a top-level value: the elements of an array, or of the `value`/`records` array of
/// an object, are handed to the sink one by one as they are parsed (each keeps its text).
struct DocumentSeed<'a> {
    sink: &'a mut dyn RecordSink,
    counter: &'a mut u64,
    /// The line the value is on (JSON Lines), or 0 in a document.
    line: u64,
}

impl DocumentSeed<'_> {
    fn locator(&self) -> Locator {
        Locator::record(*self.counter, (self.line > 0).then_some(self.line))
    }
}

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_> {
    type Value = Parsed;
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Parsed, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed<'_> {
    type Value = Parsed;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object or array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Parsed, A::Error> {
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            *self.counter += 1;
            emit_text(raw.get(), self.locator(), None, self.sink);
        }
        Ok(Parsed::Streamed)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Parsed, A::Error> {
        let mut envelope = Map::new();
        let mut context: Option<Arc<str>> = None;
        let mut streamed = false;
        while let Some(key) = access.next_key::<String>()? {
            let is_records = key.eq_ignore_ascii_case("records")
                || (key.eq_ignore_ascii_case("value")
                    && envelope.keys().all(|k: &String| is_page_annotation(k)));
            if is_records && !streamed {
                access.next_value_seed(RecordArraySeed {
                    sink: &mut *self.sink,
                    counter: &mut *self.counter,
                    line: self.line,
                    context: context.clone(),
                })?;
                streamed = true;
            } else {
                let value: Value = access.next_value()?;
                if key.eq_ignore_ascii_case("@odata.context") {
                    context = value.as_str().map(Arc::from);
                }
                envelope.insert(key, value);
            }
        }
        Ok(if streamed {
            Parsed::Streamed
        } else {
            Parsed::Value(Value::Object(envelope))
        })
    }
}

struct RecordArraySeed<'a> {
    sink: &'a mut dyn RecordSink,
    counter: &'a mut u64,
    line: u64,
    context: Option<Arc<str>>,
}

impl<'de> DeserializeSeed<'de> for RecordArraySeed<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RecordArraySeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            *self.counter += 1;
            let locator = Locator::record(*self.counter, (self.line > 0).then_some(self.line));
            emit_text(raw.get(), locator, self.context.clone(), self.sink);
        }
        Ok(())
    }
}

/// Parses one record's JSON text and hands it to the sink.
fn emit_text(text: &str, locator: Locator, context: Option<Arc<str>>, sink: &mut dyn RecordSink) {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => emit(value, text, locator, context, sink),
        Err(e) => sink.bad_record(BadRecord {
            locator,
            reason: format!("not valid JSON: {e}"),
            text: text.to_string(),
        }),
    }
}

/// Hands a parsed value to the sink. A Log Analytics query-API result (`tables`) becomes one
/// record per row; an envelope met inside another (an array of Graph pages) is unwrapped; any
/// other object is a record, whose original text `text` is kept as `raw`.
fn emit(
    value: Value,
    text: &str,
    locator: Locator,
    context: Option<Arc<str>>,
    sink: &mut dyn RecordSink,
) {
    match value {
        Value::Object(mut map) => {
            if let Some(rows) = query_api_tables(&mut map) {
                for row in rows {
                    let text = row.to_string();
                    sink.record(SourceRecord {
                        locator,
                        value: row,
                        raw: text,
                        context: context.clone(),
                    });
                }
                return;
            }
            if let Some(key) = envelope_key(&map) {
                let context = page_context(&map).or(context);
                if let Some(Value::Array(items)) = map.remove(&key) {
                    for item in items {
                        let text = item.to_string();
                        emit(item, &text, locator, context.clone(), sink);
                    }
                }
                return;
            }
            sink.record(SourceRecord {
                locator,
                value: Value::Object(map),
                raw: text.to_string(),
                context,
            });
        }
        Value::Array(items) => {
            for item in items {
                let text = item.to_string();
                emit(item, &text, locator, context.clone(), sink);
            }
        }
        other => sink.bad_record(BadRecord {
            locator,
            reason: format!(
                "expected a JSON object, found {}",
                super::fields::type_name(&other)
            ),
            text: text.to_string(),
        }),
    }
}

/// The Log Analytics query API answers `{"tables": [{"name", "columns": [{"name", "type"}],
/// "rows": [[...]]}]}`; each row becomes an object keyed by column name.
fn query_api_tables(map: &mut Map<String, Value>) -> Option<Vec<Value>> {
    let is_tables = map.len() == 1
        && map
            .get("tables")
            .and_then(Value::as_array)
            .is_some_and(|tables| {
                tables.iter().all(|t| {
                    t.get("columns").is_some_and(Value::is_array)
                        && t.get("rows").is_some_and(Value::is_array)
                })
            });
    if !is_tables {
        return None;
    }
    let Some(Value::Array(tables)) = map.remove("tables") else {
        return None;
    };
    let mut records = Vec::new();
    for table in tables {
        let names: Vec<String> = table["columns"]
            .as_array()
            .map(|columns| {
                columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        c.get("name")
                            .and_then(Value::as_str)
                            .map_or_else(|| format!("column{}", i + 1), str::to_string)
                    })
                    .collect()
            })
            .unwrap_or_default();
        if let Some(rows) = table.get("rows").and_then(Value::as_array) {
            for row in rows {
                let cells = row.as_array().map(Vec::as_slice).unwrap_or_default();
                let object: Map<String, Value> =
                    names.iter().cloned().zip(cells.iter().cloned()).collect();
                records.push(Value::Object(object));
            }
        }
    }
    Some(records)
}

/// The key of the array that holds an envelope's records, if `map` is an envelope.
fn envelope_key(map: &Map<String, Value>) -> Option<String> {
    map.iter()
        .find(|(k, v)| {
            v.is_array()
                && (k.eq_ignore_ascii_case("records")
                    || (k.eq_ignore_ascii_case("value") && is_page(map)))
        })
        .map(|(k, _)| k.clone())
}

fn page_context(map: &Map<String, Value>) -> Option<Arc<str>> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("@odata.context"))
        .and_then(|(_, v)| v.as_str())
        .map(Arc::from)
}

/// A Graph page has only `value` and `@odata.*`/`@microsoft.*` annotations at its top level.
/// An Azure REST page has `value` and `nextLink`.
fn is_page(map: &Map<String, Value>) -> bool {
    map.keys()
        .all(|k| k.eq_ignore_ascii_case("value") || is_page_annotation(k))
}

fn is_page_annotation(key: &str) -> bool {
    key.starts_with('@') || key.eq_ignore_ascii_case("nextLink")
}

/// CSV (Log Analytics, the admin center download) or TSV, with a header line.
/// Lines a quoted CSV field may span before the record is taken as broken.
const MAX_RECORD_LINES: usize = 1000;

/// CSV or TSV with a header, read a record at a time. A record is the lines up to where its
/// quotes balance; one that does not parse, or has another number of fields than the header,
/// is quarantined — only its first line: the lines an unterminated quote pulled in are read
/// again as records of their own, so a stray quote costs one row, not the rows after it.
fn read_delimited(
    reader: impl BufRead,
    delimiter: u8,
    skipped_lines: u64,
    sink: &mut dyn RecordSink,
) -> Result<(), FileError> {
    let mut lines = reader
        .split(b'\n')
        .zip(skipped_lines + 1..)
        .map(|(line, number)| {
            line.map(|mut bytes| {
                if bytes.last() == Some(&b'\r') {
                    bytes.pop();
                }
                (number, bytes)
            })
        });
    let parse = |text: &[u8]| -> Result<Vec<csv::ByteRecord>, csv::Error> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .buffer_capacity(text.len().max(64))
            .from_reader(text)
            .byte_records()
            .collect()
    };
    let header_line = match lines.next() {
        Some(line) => line?.1,
        None => return Ok(()),
    };
    let headers: Vec<String> = match parse(&header_line).map(|mut r| r.pop()) {
        Ok(Some(record)) => record
            .iter()
            .map(|name| {
                let name = String::from_utf8_lossy(name);
                let name = name.trim_start_matches('\u{feff}').trim();
                name.strip_suffix(" [UTC]").unwrap_or(name).to_string()
            })
            .collect(),
        _ => {
            return Err(FileError::UnknownFormat(
                "CSV header unreadable".to_string(),
            ))
        }
    };
    // Lines read but not used yet (a broken record gives back all but its first line).
    let mut again: std::collections::VecDeque<(u64, Vec<u8>)> = Default::default();
    loop {
        let first = match again.pop_front() {
            Some(line) => line,
            None => match lines.next() {
                Some(line) => line?,
                None => return Ok(()),
            },
        };
        if first.1.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let number = first.0;
        let mut taken = vec![first];
        let quotes = |bytes: &[u8]| bytes.iter().filter(|&&b| b == b'"').count();
        let mut open = quotes(&taken[0].1) % 2 == 1;
        while open && taken.len() < MAX_RECORD_LINES {
            let next = match again.pop_front() {
                Some(line) => line,
                None => match lines.next() {
                    Some(line) => line?,
                    None => break,
                },
            };
            open ^= quotes(&next.1) % 2 == 1;
            taken.push(next);
        }
        let text = taken
            .iter()
            .map(|(_, bytes)| bytes.as_slice())
            .collect::<Vec<_>>()
            .join(&b'\n');
        let problem = match parse(&text) {
            _ if open => Some("an unterminated quote".to_string()),
            Ok(records) if records.len() == 1 && records[0].len() == headers.len() => {
                let mut map = Map::new();
                for (name, field) in headers.iter().zip(records[0].iter()) {
                    map.insert(
                        name.clone(),
                        Value::String(String::from_utf8_lossy(field).into_owned()),
                    );
                }
                let value = Value::Object(map);
                sink.record(SourceRecord {
                    locator: Locator::line(number),
                    raw: value.to_string(),
                    value,
                    context: None,
                });
                None
            }
            Ok(records) if records.len() == 1 => Some(format!(
                "{} field(s) where the header has {}",
                records[0].len(),
                headers.len()
            )),
            Ok(records) => Some(format!("{} records where one was expected", records.len())),
            Err(e) => Some(shorten(&e.to_string(), 200).into_owned()),
        };
        if let Some(problem) = problem {
            let mut rest = taken.into_iter();
            let first = rest.next().map(|(_, bytes)| bytes).unwrap_or_default();
            sink.bad_record(BadRecord {
                locator: Locator::line(number),
                reason: format!("malformed CSV: {problem}"),
                text: String::from_utf8_lossy(&first).into_owned(),
            });
            for line in rest.rev() {
                again.push_front(line);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect {
        good: Vec<SourceRecord>,
        bad: Vec<BadRecord>,
    }

    impl RecordSink for Collect {
        fn record(&mut self, record: SourceRecord) {
            self.good.push(record);
        }
        fn bad_record(&mut self, bad: BadRecord) {
            self.bad.push(bad);
        }
    }

    fn read(text: &str) -> (Result<Container, FileError>, Collect) {
        let mut sink = Collect::default();
        let result = read_document(Cursor::new(text.as_bytes().to_vec()), &mut sink);
        (result, sink)
    }

    #[test]
    fn graph_page_streams_its_values_with_context() {
        let (kind, sink) =
            read(r#"{"@odata.context":"x#auditLogs/signIns","value":[{"id":"a"},{"id":"b"}]}"#);
        assert_eq!(kind.ok(), Some(Container::JsonLines));
        assert_eq!(sink.good.len(), 2);
        assert_eq!(sink.good[0].context.as_deref(), Some("x#auditLogs/signIns"));
        assert_eq!(sink.good[1].raw, r#"{"id":"b"}"#);
        assert_eq!(sink.good[1].locator, Locator::record(2, Some(1)));
    }

    #[test]
    fn pretty_document_is_streamed() {
        let (kind, sink) = read("{\n \"records\": [\n {\"a\":1},\n {\"a\":2}\n ]\n}\n");
        assert_eq!(kind.ok(), Some(Container::JsonDocument));
        assert_eq!(sink.good.len(), 2);
        assert_eq!(sink.good[1].locator, Locator::record(2, None));
    }

    #[test]
    fn truncated_document_keeps_records_before_the_break() {
        let (_, sink) = read("{\n \"value\": [\n {\"a\":1},\n {\"a\":2},\n {\"a\":");
        assert_eq!(sink.good.len(), 2);
        assert_eq!(sink.bad.len(), 1);
        assert!(
            sink.bad[0].reason.contains("truncated"),
            "{}",
            sink.bad[0].reason
        );
    }

    #[test]
    fn bad_line_is_reported_and_others_kept() {
        let (_, sink) = read("{\"a\":1}\n{\"a\":\n{\"a\":3}\n");
        assert_eq!(sink.good.len(), 2);
        assert_eq!(sink.bad[0].locator, Locator::line(2));
        assert_eq!(sink.good[1].raw, "{\"a\":3}");
    }

    #[test]
    fn a_broken_first_line_does_not_turn_json_lines_into_one_document() {
        let lines: String = (0..99).map(|i| format!("{{\"id\":{i}}}\n")).collect();
        let (kind, sink) = read(&format!("{{\"id\":\"trunc\n{lines}"));
        assert_eq!(kind.ok(), Some(Container::JsonLines));
        assert_eq!(sink.good.len(), 99);
        assert_eq!(sink.bad.len(), 1);
        assert_eq!(sink.bad[0].locator, Locator::line(1));
    }

    #[test]
    fn blank_lines_before_a_page_are_skipped_and_counted() {
        let text = format!("{}{{\"a\":1}}\n{{\"a\":", "\n".repeat(9000));
        let (kind, sink) = read(&text);
        assert_eq!(kind.ok(), Some(Container::JsonLines));
        assert_eq!(sink.good.len(), 1);
        assert_eq!(sink.good[0].locator, Locator::line(9001));
        assert_eq!(sink.bad[0].locator, Locator::line(9002));
    }

    #[test]
    fn empty_binary_and_unknown_are_file_errors() {
        assert!(matches!(read("  \n").0, Err(FileError::Empty)));
        assert!(matches!(read("\u{0}\u{1}abc").0, Err(FileError::Binary)));
        assert!(matches!(
            read("hello world").0,
            Err(FileError::UnknownFormat(_))
        ));
    }

    #[test]
    fn log_analytics_query_api_tables_become_records() {
        let (_, sink) = read(
            r#"{"tables":[{"name":"PrimaryResult","columns":[{"name":"Type","type":"string"},{"name":"Id","type":"string"}],"rows":[["AuditLogs","a"],["AuditLogs","b"]]}]}"#,
        );
        assert_eq!(sink.good.len(), 2);
        assert_eq!(sink.good[1].value["Id"], "b");
        assert_eq!(sink.good[1].raw, r#"{"Type":"AuditLogs","Id":"b"}"#);
    }

    #[test]
    fn csv_rows_become_objects() {
        let (kind, sink) =
            read("\u{feff}Name,TimeGenerated [UTC]\nx,\"6/4/2021, 4:00:37.371 PM\"\n");
        assert_eq!(kind.ok(), Some(Container::Csv));
        assert_eq!(
            sink.good[0].value["TimeGenerated"],
            "6/4/2021, 4:00:37.371 PM"
        );
        assert_eq!(sink.good[0].value["Name"], "x");
    }

    #[test]
    fn tsv_is_split_on_tabs() {
        let (kind, sink) = read("Name\tActivity\nx\tAdd member to role, requested\n");
        assert_eq!(kind.ok(), Some(Container::Csv));
        assert_eq!(
            sink.good[0].value["Activity"],
            "Add member to role, requested"
        );
    }
}
