//! Tolerant access to fields of JSON records: keys matched case-insensitively, JSON-encoded
//! strings decoded, every timestamp form of INPUTS.md §3.4 parsed to UTC nanoseconds.

use std::borrow::Cow;
use std::fmt;

use serde_json::Value;

pub use crate::model::time::parse_timestamp;
use crate::model::time::Instant;

/// Why one record could not be normalized; it goes to quarantine with this reason.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordError {
    pub field: Option<String>,
    pub message: String,
}

impl RecordError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_string()),
            message: message.into(),
        }
    }

    pub fn record(message: impl Into<String>) -> Self {
        Self {
            field: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "field `{field}`: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for RecordError {}

/// Looks a key up in an object: exact match first (the common case), then ignoring ASCII
/// case. Log Analytics custom-table suffixes (`_s`, `_b`, `_g`, `_t`, `_d`) are accepted too.
/// `null` counts as absent.
pub fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    let map = value.as_object()?;
    let found = map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| {
                k.eq_ignore_ascii_case(key) || strip_la_suffix(k).eq_ignore_ascii_case(key)
            })
            .map(|(_, v)| v)
    })?;
    (!found.is_null()).then_some(found)
}

fn strip_la_suffix(key: &str) -> &str {
    let key = key.strip_suffix(" [UTC]").unwrap_or(key);
    for suffix in ["_s", "_b", "_g", "_t", "_d"] {
        if let Some(stripped) = key.strip_suffix(suffix) {
            return stripped;
        }
    }
    key
}

/// A nested object or array, decoding it when it arrives as a JSON string (Log Analytics
/// exports serialize dynamic columns). An empty string counts as absent.
pub fn dynamic<'a>(value: &'a Value, key: &str) -> Result<Option<Cow<'a, Value>>, RecordError> {
    match get(value, key) {
        None => Ok(None),
        Some(Value::String(s)) => {
            let trimmed = s.trim();
            if trimmed.is_empty() {
                Ok(None)
            } else if trimmed.starts_with('{') || trimmed.starts_with('[') {
                serde_json::from_str::<Value>(trimmed)
                    .map(|v| (!v.is_null()).then_some(Cow::Owned(v)))
                    .map_err(|e| {
                        RecordError::field(key, format!("JSON-encoded value does not parse: {e}"))
                    })
            } else {
                Err(RecordError::field(
                    key,
                    "expected an object or array, found a plain string",
                ))
            }
        }
        Some(v) => Ok(Some(Cow::Borrowed(v))),
    }
}

/// A nested object, or an error naming the field when it has another type.
pub fn object<'a>(value: &'a Value, key: &str) -> Result<Option<Cow<'a, Value>>, RecordError> {
    match dynamic(value, key)? {
        Some(v) if v.is_object() => Ok(Some(v)),
        Some(v) => Err(RecordError::field(
            key,
            format!("expected an object, found {}", type_name(&v)),
        )),
        None => Ok(None),
    }
}

/// A nested array, or an error naming the field when it has another type.
pub fn array<'a>(value: &'a Value, key: &str) -> Result<Option<Cow<'a, Value>>, RecordError> {
    match dynamic(value, key)? {
        Some(v) if v.is_array() => Ok(Some(v)),
        Some(v) => Err(RecordError::field(
            key,
            format!("expected an array, found {}", type_name(&v)),
        )),
        None => Ok(None),
    }
}

/// The elements of an optional array field (empty when absent).
pub fn elements(value: Option<&Value>) -> &[Value] {
    value
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A scalar as text: strings as they are (empty → absent), numbers and booleans printed.
pub fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub fn text(value: &Value, key: &str) -> Option<String> {
    get(value, key).and_then(text_of)
}

pub fn text_any(value: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| text(value, k))
}

/// A boolean that may arrive as `true`, `"true"`, `"True"`, `"TRUE"` or `1`.
pub fn boolean(value: &Value, key: &str) -> Option<bool> {
    match get(value, key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        _ => None,
    }
}

/// An integer that may arrive as a number or a numeric string (`resultType: "50126"`).
pub fn integer(value: &Value, key: &str) -> Option<i64> {
    match get(value, key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A timestamp field. Absent, empty and "never" (`0001-01-01…`) are `Ok(None)`; text that is
/// no known timestamp form is an error naming the field.
pub fn timestamp(value: &Value, key: &str) -> Result<Option<i64>, RecordError> {
    match get(value, key) {
        None => Ok(None),
        Some(Value::String(s)) => parse_timestamp(s)
            .map(|t| t.map(Instant::nanos))
            .map_err(|e| RecordError::field(key, e)),
        Some(other) => Err(RecordError::field(
            key,
            format!("expected a timestamp, found {}", type_name(other)),
        )),
    }
}

/// Parses an ISO-8601 duration (`PT8H`, `P365D`, `P1DT2H30M`, `PT0.5S`) to whole seconds.
/// Years and months are not fixed lengths and are rejected, as PIM never uses them.
pub fn parse_iso_duration(text: &str) -> Option<i64> {
    let s = text.trim().to_ascii_uppercase();
    let s = s.strip_prefix('P')?;
    let (date_part, time_part) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut seconds = 0f64;
    let mut parse = |part: &str, units: &[(char, f64)]| -> Option<()> {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                number.push(c);
            } else {
                let (_, factor) = units.iter().find(|(u, _)| *u == c)?;
                seconds += number.parse::<f64>().ok()? * factor;
                number.clear();
            }
        }
        number.is_empty().then_some(())
    };
    parse(date_part, &[('W', 604_800.0), ('D', 86_400.0)])?;
    if let Some(t) = time_part {
        if t.is_empty() {
            return None;
        }
        parse(t, &[('H', 3_600.0), ('M', 60.0), ('S', 1.0)])?;
    }
    Some(seconds.round() as i64)
}

/// Decodes a `modifiedProperties` value: the text is JSON, and a JSON string loses exactly
/// one layer of quotes (`"\"guid\""` → `guid`); arrays and objects stay JSON text; text that
/// is not JSON stays as it is.
pub fn decode_json_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::String(inner)) => Some(inner),
            Ok(Value::Null) => None,
            Ok(other) => Some(other.to_string()),
            Err(_) => Some(s.clone()),
        },
        other => Some(other.to_string()),
    }
}

/// Shortens text for an error message, on a character boundary.
pub fn shorten(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &text[..end]))
}

/// Lowercases an identifier (object id, UPN) so that joins across sources match.
pub fn lower(value: Option<String>) -> Option<String> {
    value.map(|v| v.to_ascii_lowercase())
}

/// A principal type in the lake's one spelling ([`crate::model::PrincipalType::as_str`]);
/// a spelling no source is known to use is kept, lowercased, rather than lost.
pub fn principal_type(text: &str) -> String {
    crate::model::PrincipalType::parse(text)
        .map(|t| t.as_str().to_string())
        .unwrap_or_else(|| text.trim().to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_match_case_insensitively_and_with_la_suffixes() {
        let v = json!({"CallerIpAddress": "1.2.3.4", "AccountEnabled_b": "TRUE"});
        assert_eq!(text(&v, "callerIpAddress").as_deref(), Some("1.2.3.4"));
        assert_eq!(boolean(&v, "AccountEnabled"), Some(true));
    }

    #[test]
    fn modified_property_values_lose_one_quote_layer() {
        assert_eq!(decode_json_text(&json!("\"abc\"")).as_deref(), Some("abc"));
        assert_eq!(
            decode_json_text(&json!("[\"a\",\"b\"]")).as_deref(),
            Some("[\"a\",\"b\"]")
        );
        assert_eq!(decode_json_text(&json!("\"\"")).as_deref(), Some(""));
        assert_eq!(decode_json_text(&json!("plain")).as_deref(), Some("plain"));
        assert_eq!(decode_json_text(&Value::Null), None);
    }

    #[test]
    fn iso_durations() {
        assert_eq!(parse_iso_duration("PT8H"), Some(28_800));
        assert_eq!(parse_iso_duration("P365D"), Some(31_536_000));
        assert_eq!(parse_iso_duration("P1DT2H30M"), Some(95_400));
        assert_eq!(parse_iso_duration("PT"), None);
        assert_eq!(parse_iso_duration("P1Y"), None);
    }
}
