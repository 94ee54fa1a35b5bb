//! Reading one input file into JSON records, whatever its container: gzip or not; NDJSON
//! (one record per line, also `PT1H.json` blobs and lines that are whole Event Hub
//! messages); a JSON document (a Graph page, an Event Hub `{"records": [...]}` message, an
//! array of objects or one object), streamed element by element; or CSV with a header
//! (Log Analytics exports). What the records *mean* is decided later, in `detect`.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::Path;
use std::sync::Arc;

use flate2::read::MultiGzDecoder;
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::fields::shorten;

/// Where a record sits in its file, for quarantine and error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locator {
    /// 1-based line (NDJSON, CSV, or the line where a JSON document broke).
    Line(u64),
    /// 1-based position in a JSON document's record array.
    Element(u64),
}

impl fmt::Display for Locator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Locator::Line(n) => write!(f, "line {n}"),
            Locator::Element(n) => write!(f, "record {n}"),
        }
    }
}

impl Locator {
    pub fn line(&self) -> Option<u64> {
        match self {
            Locator::Line(n) => Some(*n),
            Locator::Element(_) => None,
        }
    }
}

/// One record read from a file, with the `@odata.context` of its page when there is one.
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

/// Receives what a file holds, record by record, so that memory stays bounded.
pub trait RecordSink {
    fn record(&mut self, record: SourceRecord);
    fn bad_record(&mut self, bad: BadRecord);
}

/// The container a file was read as.
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

/// Why a whole file could not be read.
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

const SNIFF_BYTES: usize = 8192;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads one file and hands its records to `sink`. Returns the container it was read as.
pub fn read_file(path: &Path, sink: &mut dyn RecordSink) -> Result<Container, FileError> {
    let file = File::open(path)?;
    let mut reader: Box<dyn BufRead> = Box::new(BufReader::with_capacity(1 << 16, file));
    if reader.fill_buf()?.starts_with(&GZIP_MAGIC) {
        reader = Box::new(BufReader::with_capacity(
            1 << 16,
            MultiGzDecoder::new(reader),
        ));
    }
    read_stream(reader, sink)
}

/// Reads records from any buffered stream (already decompressed).
pub fn read_stream(
    mut reader: Box<dyn BufRead>,
    sink: &mut dyn RecordSink,
) -> Result<Container, FileError> {
    let head = sniff(&mut reader)?;
    let text_start = head.strip_prefix(UTF8_BOM).unwrap_or(&head);
    if text_start.contains(&0) {
        return Err(FileError::Binary);
    }
    if let Err(e) = std::str::from_utf8(text_start) {
        // A multi-byte character cut by the sniff window is fine; anything else is binary.
        if e.error_len().is_some() {
            return Err(FileError::Binary);
        }
    }
    let first = text_start.iter().position(|b| !b.is_ascii_whitespace());
    let Some(first) = first else {
        return Err(FileError::Empty);
    };
    // Put the sniffed bytes back in front of the rest of the stream.
    let bom = head.len() - text_start.len();
    let mut reader: Box<dyn BufRead> = Box::new(BufReader::new(
        Cursor::new(head[bom..].to_vec()).chain(reader),
    ));
    match text_start[first] {
        b'{' => {
            let mut first_line = Vec::new();
            reader.read_until(b'\n', &mut first_line)?;
            let is_json_lines = serde_json::from_slice::<Value>(&first_line).is_ok()
                && !first_line.iter().all(u8::is_ascii_whitespace);
            let rest: Box<dyn BufRead> =
                Box::new(BufReader::new(Cursor::new(first_line).chain(reader)));
            if is_json_lines {
                read_json_lines(rest, sink)?;
                Ok(Container::JsonLines)
            } else {
                read_json_document(rest, sink);
                Ok(Container::JsonDocument)
            }
        }
        b'[' => {
            read_json_document(reader, sink);
            Ok(Container::JsonDocument)
        }
        b'<' => Err(FileError::Xml),
        _ => {
            let line_end = text_start
                .iter()
                .position(|&b| b == b'\n')
                .unwrap_or(text_start.len());
            let first_line = &text_start[first..line_end];
            if first_line.contains(&b',') || first_line.contains(&b'\t') {
                read_csv(reader, sink)?;
                Ok(Container::Csv)
            } else {
                let shown =
                    String::from_utf8_lossy(&first_line[..first_line.len().min(40)]).into_owned();
                Err(FileError::UnknownFormat(shown))
            }
        }
    }
}

fn sniff(reader: &mut Box<dyn BufRead>) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    reader
        .by_ref()
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)?;
    Ok(head)
}

fn read_json_lines(mut reader: Box<dyn BufRead>, sink: &mut dyn RecordSink) -> io::Result<()> {
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        number += 1;
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() {
            continue;
        }
        let locator = Locator::Line(number);
        match std::str::from_utf8(trimmed) {
            Ok(text) => emit_text(text, locator, None, sink),
            Err(e) => sink.bad_record(BadRecord {
                locator,
                reason: format!("not valid UTF-8: {e}"),
                text: String::from_utf8_lossy(trimmed).into_owned(),
            }),
        }
    }
}

/// Parses one JSON text and hands its records to the sink.
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

/// Hands a parsed value to the sink, unwrapping envelopes that hold several records: an Event
/// Hub message (`records`), a Graph or Azure REST page (`value`), or an array. `text` is the
/// value's original JSON: each record keeps its own original text as `raw`, never a
/// re-serialization.
fn emit(
    value: Value,
    text: &str,
    locator: Locator,
    context: Option<Arc<str>>,
    sink: &mut dyn RecordSink,
) {
    match value {
        Value::Object(mut map) => {
            if let Some(tables) = query_api_tables(&mut map) {
                for row in tables {
                    let text = row.to_string();
                    emit(row, &text, locator, context.clone(), sink);
                }
                return;
            }
            let Some(key) = envelope_key(&map) else {
                sink.record(SourceRecord {
                    locator,
                    value: Value::Object(map),
                    raw: text.to_string(),
                    context,
                });
                return;
            };
            let context = page_context(&map).or(context);
            let texts = serde_json::from_str::<HashMap<String, &RawValue>>(text)
                .ok()
                .and_then(|top| top.get(&key).copied())
                .and_then(|array| serde_json::from_str::<Vec<&RawValue>>(array.get()).ok());
            if let Some(Value::Array(items)) = map.remove(&key) {
                emit_all(items, texts, locator, context, sink);
            }
        }
        Value::Array(items) => {
            let texts = serde_json::from_str::<Vec<&RawValue>>(text).ok();
            emit_all(items, texts, locator, context, sink);
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

fn emit_all(
    items: Vec<Value>,
    texts: Option<Vec<&RawValue>>,
    locator: Locator,
    context: Option<Arc<str>>,
    sink: &mut dyn RecordSink,
) {
    match texts.filter(|t| t.len() == items.len()) {
        Some(texts) => {
            for (item, text) in items.into_iter().zip(texts) {
                emit(item, text.get(), locator, context.clone(), sink);
            }
        }
        // Cannot happen for text serde_json just parsed; kept so that nothing is dropped.
        None => {
            for item in items {
                let text = item.to_string();
                emit(item, &text, locator, context.clone(), sink);
            }
        }
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

fn read_json_document(reader: Box<dyn BufRead>, sink: &mut dyn RecordSink) {
    let mut counter = 0u64;
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    let result = {
        let seed = DocumentSeed {
            sink: &mut *sink,
            counter: &mut counter,
        };
        seed.deserialize(&mut deserializer)
            .and_then(|()| deserializer.end())
    };
    if let Err(e) = result {
        let locator = Locator::Line(e.line() as u64);
        let kept = if counter > 0 {
            format!("; the {counter} record(s) before it were read")
        } else {
            String::new()
        };
        sink.bad_record(BadRecord {
            locator,
            reason: format!("malformed or truncated JSON document: {e}{kept}"),
            text: String::new(),
        });
    }
}

/// Streams a JSON document: the elements of a top-level array, or of the `value`/`records`
/// array of a top-level object, are handed over one by one as they are parsed.
struct DocumentSeed<'a> {
    sink: &'a mut dyn RecordSink,
    counter: &'a mut u64,
}

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object or array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            *self.counter += 1;
            emit_text(raw.get(), Locator::Element(*self.counter), None, self.sink);
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
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
        if !streamed {
            // A single pretty-printed object (a Graph `$entity` response): it was read key by
            // key, so its text is rebuilt, in its original key order.
            *self.counter += 1;
            let value = Value::Object(envelope);
            let text = value.to_string();
            emit(
                value,
                &text,
                Locator::Element(*self.counter),
                None,
                self.sink,
            );
        }
        Ok(())
    }
}

struct RecordArraySeed<'a> {
    sink: &'a mut dyn RecordSink,
    counter: &'a mut u64,
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
            emit_text(
                raw.get(),
                Locator::Element(*self.counter),
                self.context.clone(),
                self.sink,
            );
        }
        Ok(())
    }
}

fn read_csv(reader: Box<dyn BufRead>, sink: &mut dyn RecordSink) -> Result<(), FileError> {
    let mut csv_reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(reader);
    let headers: Vec<String> = match csv_reader.headers() {
        Ok(h) => h
            .iter()
            .map(|name| {
                let name = name.trim_start_matches('\u{feff}').trim();
                name.strip_suffix(" [UTC]").unwrap_or(name).to_string()
            })
            .collect(),
        Err(e) => {
            return Err(FileError::UnknownFormat(format!(
                "CSV header unreadable: {e}"
            )))
        }
    };
    let mut record = csv::ByteRecord::new();
    loop {
        let line = csv_reader.position().line() + 1;
        match csv_reader.read_byte_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let line = record.position().map(|p| p.line()).unwrap_or(line);
                let mut map = Map::new();
                let mut bad = None;
                for (i, field) in record.iter().enumerate() {
                    let name = headers
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| format!("column{}", i + 1));
                    match std::str::from_utf8(field) {
                        Ok(text) => {
                            map.insert(name, Value::String(text.to_string()));
                        }
                        Err(_) => bad = Some(format!("column `{name}` is not valid UTF-8")),
                    }
                }
                match bad {
                    Some(reason) => sink.bad_record(BadRecord {
                        locator: Locator::Line(line),
                        reason,
                        text: String::from_utf8_lossy(record.as_slice()).into_owned(),
                    }),
                    None => {
                        let value = Value::Object(map);
                        sink.record(SourceRecord {
                            locator: Locator::Line(line),
                            raw: value.to_string(),
                            value,
                            context: None,
                        })
                    }
                }
            }
            Err(e) => {
                let text = shorten(&e.to_string(), 200).into_owned();
                sink.bad_record(BadRecord {
                    locator: Locator::Line(line),
                    reason: format!("malformed CSV: {text}"),
                    text: String::new(),
                });
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    return Ok(());
                }
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
        let reader: Box<dyn BufRead> = Box::new(Cursor::new(text.as_bytes().to_vec()));
        let result = read_stream(reader, &mut sink);
        (result, sink)
    }

    #[test]
    fn graph_page_streams_its_values_with_context() {
        let (kind, sink) =
            read(r#"{"@odata.context":"x#auditLogs/signIns","value":[{"id":"a"},{"id":"b"}]}"#);
        assert_eq!(kind.ok(), Some(Container::JsonLines));
        assert_eq!(sink.good.len(), 2);
        assert_eq!(sink.good[0].context.as_deref(), Some("x#auditLogs/signIns"));
    }

    #[test]
    fn pretty_document_is_streamed() {
        let (kind, sink) = read("{\n \"records\": [\n {\"a\":1},\n {\"a\":2}\n ]\n}\n");
        assert_eq!(kind.ok(), Some(Container::JsonDocument));
        assert_eq!(sink.good.len(), 2);
        assert_eq!(sink.good[1].locator, Locator::Element(2));
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
        assert_eq!(sink.bad[0].locator, Locator::Line(2));
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
}
