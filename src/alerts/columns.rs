//! The alert table's columns, declared once ([`alert_columns!`] in `store.rs`): each kind
//! knows its Arrow field, how to build a column from alerts and how to read a value back.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, Int32Array, Int64Array, ListArray, ListBuilder, StringArray, StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field};
use serde_json::{Map, Value};

use super::Status;
use crate::model::columns::JSON_TEXT;
use crate::model::Severity;
use crate::rules::RuleId;

/// One kind of alert column.
pub(super) trait Column {
    type Value;
    fn field(name: &str) -> Field;
    fn build<'a>(values: impl Iterator<Item = &'a Self::Value>) -> ArrayRef
    where
        Self::Value: 'a;
    /// The value at `row`, or `None` when the column does not hold what it should.
    fn read(array: &ArrayRef, row: usize) -> Option<Self::Value>;
    /// The value when a file has no such column: `None` (an error) unless the column was
    /// added later and is optional, so runs stored by an older pimwatch stay readable.
    fn missing() -> Option<Self::Value> {
        None
    }
}

fn text_array(array: &ArrayRef) -> Option<&StringArray> {
    array.as_any().downcast_ref::<StringArray>()
}

fn text_field(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

pub(super) struct Text;
impl Column for Text {
    type Value = String;
    fn field(name: &str) -> Field {
        text_field(name, false)
    }
    fn build<'a>(values: impl Iterator<Item = &'a String>) -> ArrayRef {
        Arc::new(values.map(|v| Some(v.as_str())).collect::<StringArray>())
    }
    fn read(array: &ArrayRef, row: usize) -> Option<String> {
        let array = text_array(array)?;
        (!array.is_null(row)).then(|| array.value(row).to_string())
    }
}

pub(super) struct OptText;
impl Column for OptText {
    type Value = Option<String>;
    fn field(name: &str) -> Field {
        text_field(name, true)
    }
    fn build<'a>(values: impl Iterator<Item = &'a Option<String>>) -> ArrayRef {
        Arc::new(values.map(|v| v.as_deref()).collect::<StringArray>())
    }
    fn read(array: &ArrayRef, row: usize) -> Option<Option<String>> {
        let array = text_array(array)?;
        Some((!array.is_null(row)).then(|| array.value(row).to_string()))
    }
    fn missing() -> Option<Option<String>> {
        Some(None)
    }
}

/// A text column whose values are one of a type's spellings.
macro_rules! spelled {
    ($name:ident, $value:ty, $show:expr, $parse:expr) => {
        pub(super) struct $name;
        impl Column for $name {
            type Value = $value;
            fn field(name: &str) -> Field {
                text_field(name, false)
            }
            fn build<'a>(values: impl Iterator<Item = &'a $value>) -> ArrayRef {
                let show: fn(&$value) -> String = $show;
                Arc::new(values.map(|v| Some(show(v))).collect::<StringArray>())
            }
            fn read(array: &ArrayRef, row: usize) -> Option<$value> {
                let parse: fn(&str) -> Option<$value> = $parse;
                parse(Text::read(array, row)?.as_str())
            }
        }
    };
}

spelled!(
    SeverityText,
    Severity,
    |s| s.as_str().to_string(),
    Severity::parse
);
spelled!(
    StatusText,
    Status,
    |s| s.as_str().to_string(),
    Status::parse
);
spelled!(RuleIdText, RuleId, |r| r.to_string(), |t| RuleId::parse(t)
    .ok());

/// The score, 0–100.
pub(super) struct Score;
impl Column for Score {
    type Value = u8;
    fn field(name: &str) -> Field {
        Field::new(name, DataType::Int32, false)
    }
    fn build<'a>(values: impl Iterator<Item = &'a u8>) -> ArrayRef {
        Arc::new(Int32Array::from_iter_values(values.map(|v| i32::from(*v))))
    }
    fn read(array: &ArrayRef, row: usize) -> Option<u8> {
        let array = array.as_any().downcast_ref::<Int32Array>()?;
        u8::try_from(array.value(row)).ok()
    }
}

pub(super) struct Count;
impl Column for Count {
    type Value = Option<i64>;
    fn field(name: &str) -> Field {
        Field::new(name, DataType::Int64, true)
    }
    fn build<'a>(values: impl Iterator<Item = &'a Option<i64>>) -> ArrayRef {
        Arc::new(values.copied().collect::<Int64Array>())
    }
    fn read(array: &ArrayRef, row: usize) -> Option<Option<i64>> {
        let array = array.as_any().downcast_ref::<Int64Array>()?;
        Some((!array.is_null(row)).then(|| array.value(row)))
    }
}

pub(super) struct List;
impl Column for List {
    type Value = Vec<String>;
    fn field(name: &str) -> Field {
        Field::new(
            name,
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            false,
        )
    }
    fn build<'a>(values: impl Iterator<Item = &'a Vec<String>>) -> ArrayRef {
        let mut builder = ListBuilder::new(StringBuilder::new());
        for list in values {
            for item in list {
                builder.values().append_value(item);
            }
            builder.append(true);
        }
        Arc::new(builder.finish())
    }
    fn read(array: &ArrayRef, row: usize) -> Option<Vec<String>> {
        let array = array.as_any().downcast_ref::<ListArray>()?;
        let values = array.value(row);
        let values = values.as_any().downcast_ref::<StringArray>()?;
        Some(values.iter().flatten().map(str::to_string).collect())
    }
}

/// A JSON object kept as text, marked so that JSON outputs embed it as a value.
pub(super) struct Json;
impl Column for Json {
    type Value = Map<String, Value>;
    fn field(name: &str) -> Field {
        text_field(name, false).with_metadata(
            [(JSON_TEXT.to_string(), "true".to_string())]
                .into_iter()
                .collect(),
        )
    }
    fn build<'a>(values: impl Iterator<Item = &'a Map<String, Value>>) -> ArrayRef {
        Arc::new(
            values
                .map(|v| Some(Value::Object(v.clone()).to_string()))
                .collect::<StringArray>(),
        )
    }
    fn read(array: &ArrayRef, row: usize) -> Option<Map<String, Value>> {
        serde_json::from_str(&Text::read(array, row)?).ok()
    }
}
