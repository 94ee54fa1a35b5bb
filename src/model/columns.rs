//! Column kinds: how one Rust value becomes one Arrow column, and how it feeds the dedupe key.
//!
//! Tables are declared once with [`define_table!`](crate::define_table), which generates the
//! row struct, the Arrow schema and the row → `RecordBatch` conversion from the same list, so
//! the three can never drift apart. Arrays are built directly from the typed rows.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, FixedSizeBinaryArray, Int64Array, ListArray, StringArray, StructArray,
    TimestampNanosecondArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Fields, TimeUnit};

/// Field metadata key marking a text column whose values are JSON documents (alert
/// evidence): JSON outputs embed them as values rather than strings.
pub const JSON_TEXT: &str = "pimwatch.json";

/// Width of the dedupe key in bytes (a 128-bit FNV-1a hash).
pub const KEY_BYTES: i32 = 16;

/// A stable 128-bit FNV-1a hasher. Unlike `std`'s `DefaultHasher`, its output never changes
/// between Rust releases, so keys written by one build are recognised by the next.
#[derive(Debug, Clone)]
pub struct StableHasher(u128);

impl Default for StableHasher {
    fn default() -> Self {
        Self(0x6c62272e07bb014262b821756295c58d)
    }
}

impl StableHasher {
    const PRIME: u128 = 0x0000000001000000000000000000013B;

    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u128::from(b);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    /// Writes a value with its length so that `("ab","c")` and `("a","bc")` differ.
    pub fn write_field(&mut self, bytes: &[u8]) {
        self.write(&(bytes.len() as u64).to_le_bytes());
        self.write(bytes);
    }

    pub fn write_null(&mut self) {
        self.write(&[0xff; 9]);
    }

    pub fn finish(&self) -> [u8; 16] {
        self.0.to_le_bytes()
    }
}

/// One column type of the canonical schema.
pub trait ColumnKind {
    /// The Rust value held in a row.
    type Value: Default + Clone + std::fmt::Debug + PartialEq;
    fn data_type() -> DataType;
    fn nullable() -> bool {
        true
    }
    fn build<'a>(values: impl Iterator<Item = &'a Self::Value>) -> ArrayRef
    where
        Self::Value: 'a;
    fn feed(value: &Self::Value, hasher: &mut StableHasher);
    /// Approximate bytes the value holds in memory, to bound write buffers.
    fn size(value: &Self::Value) -> usize;
}

pub struct Str;
pub struct Ts;
pub struct Bool;
pub struct Int;
pub struct Strs;
pub struct KeyValues;
pub struct Targets;
pub struct Key;

impl ColumnKind for Str {
    type Value = Option<String>;
    fn data_type() -> DataType {
        DataType::Utf8
    }
    fn build<'a>(values: impl Iterator<Item = &'a Self::Value>) -> ArrayRef {
        Arc::new(values.map(|v| v.as_deref()).collect::<StringArray>())
    }
    fn feed(value: &Self::Value, hasher: &mut StableHasher) {
        match value {
            Some(s) => hasher.write_field(s.as_bytes()),
            None => hasher.write_null(),
        }
    }
    fn size(value: &Self::Value) -> usize {
        value.as_ref().map_or(0, String::len) + 24
    }
}

/// Timestamps are nanoseconds since the epoch, UTC: PIM times carry 7 fractional digits.
impl ColumnKind for Ts {
    type Value = Option<i64>;
    fn data_type() -> DataType {
        DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
    }
    fn build<'a>(values: impl Iterator<Item = &'a Self::Value>) -> ArrayRef {
        Arc::new(
            values
                .copied()
                .collect::<TimestampNanosecondArray>()
                .with_timezone("UTC"),
        )
    }
    fn feed(value: &Self::Value, hasher: &mut StableHasher) {
        match value {
            Some(v) => hasher.write_field(&v.to_le_bytes()),
            None => hasher.write_null(),
        }
    }
    fn size(value: &Self::Value) -> usize {
        let _ = value;
        8
    }
}

impl ColumnKind for Bool {
    type Value = Option<bool>;
    fn data_type() -> DataType {
        DataType::Boolean
    }
    fn build<'a>(values: impl Iterator<Item = &'a Self::Value>) -> ArrayRef {
        Arc::new(values.copied().collect::<BooleanArray>())
    }
    fn feed(value: &Self::Value, hasher: &mut StableHasher) {
        match value {
            Some(v) => hasher.write_field(&[u8::from(*v)]),
            None => hasher.write_null(),
        }
    }
    fn size(value: &Self::Value) -> usize {
        let _ = value;
        1
    }
}

impl ColumnKind for Int {
    type Value = Option<i64>;
    fn data_type() -> DataType {
        DataType::Int64
    }
    fn build<'a>(values: impl Iterator<Item = &'a Self::Value>) -> ArrayRef {
        Arc::new(values.copied().collect::<Int64Array>())
    }
    fn feed(value: &Self::Value, hasher: &mut StableHasher) {
        Ts::feed(value, hasher)
    }
    fn size(value: &Self::Value) -> usize {
        let _ = value;
        8
    }
}

fn item_field(data_type: DataType) -> Arc<Field> {
    Arc::new(Field::new("item", data_type, true))
}

fn list_of(values: ArrayRef, lengths: Vec<usize>) -> ArrayRef {
    let field = item_field(values.data_type().clone());
    Arc::new(ListArray::new(
        field,
        OffsetBuffer::from_lengths(lengths),
        values,
        None,
    ))
}

/// A list of strings, empty (never null) when there is nothing.
impl ColumnKind for Strs {
    type Value = Vec<String>;
    fn data_type() -> DataType {
        DataType::List(item_field(DataType::Utf8))
    }
    fn nullable() -> bool {
        false
    }
    fn build<'a>(values: impl Iterator<Item = &'a Self::Value>) -> ArrayRef {
        let mut lengths = Vec::new();
        let mut items: Vec<&str> = Vec::new();
        for v in values {
            lengths.push(v.len());
            items.extend(v.iter().map(String::as_str));
        }
        list_of(Arc::new(StringArray::from(items)), lengths)
    }
    fn feed(value: &Self::Value, hasher: &mut StableHasher) {
        hasher.write_field(&(value.len() as u64).to_le_bytes());
        for s in value {
            hasher.write_field(s.as_bytes());
        }
    }
    fn size(value: &Self::Value) -> usize {
        value.iter().map(|s| s.len() + 24).sum::<usize>() + 24
    }
}

/// `additionalDetails` and similar: a list of `{key, value}`, order kept.
impl ColumnKind for KeyValues {
    type Value = Vec<(String, Option<String>)>;
    fn data_type() -> DataType {
        DataType::List(item_field(DataType::Struct(key_value_fields())))
    }
    fn nullable() -> bool {
        false
    }
    fn build<'a>(values: impl Iterator<Item = &'a Self::Value>) -> ArrayRef {
        let mut lengths = Vec::new();
        let mut keys: Vec<&str> = Vec::new();
        let mut vals: Vec<Option<&str>> = Vec::new();
        for v in values {
            lengths.push(v.len());
            for (k, val) in v {
                keys.push(k);
                vals.push(val.as_deref());
            }
        }
        let children: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(keys)),
            Arc::new(StringArray::from(vals)),
        ];
        let structs = StructArray::new(key_value_fields(), children, None);
        list_of(Arc::new(structs), lengths)
    }
    fn feed(value: &Self::Value, hasher: &mut StableHasher) {
        hasher.write_field(&(value.len() as u64).to_le_bytes());
        for (k, v) in value {
            hasher.write_field(k.as_bytes());
            Str::feed(v, hasher);
        }
    }
    fn size(value: &Self::Value) -> usize {
        value
            .iter()
            .map(|(k, v)| k.len() + v.as_ref().map_or(0, String::len) + 48)
            .sum::<usize>()
            + 24
    }
}

fn key_value_fields() -> Fields {
    Fields::from(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("value", DataType::Utf8, true),
    ])
}

/// A property change of an audited object, values decoded from their JSON encoding.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModifiedProperty {
    pub name: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// One `targetResources` entry of an audit record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Target {
    pub id: Option<String>,
    pub target_type: Option<String>,
    pub display_name: Option<String>,
    pub upn: Option<String>,
    pub group_type: Option<String>,
    pub modified_properties: Vec<ModifiedProperty>,
}

fn modified_property_fields() -> Fields {
    Fields::from(vec![
        Field::new("name", DataType::Utf8, true),
        Field::new("old_value", DataType::Utf8, true),
        Field::new("new_value", DataType::Utf8, true),
    ])
}

fn target_fields() -> Fields {
    Fields::from(vec![
        Field::new("id", DataType::Utf8, true),
        Field::new("type", DataType::Utf8, true),
        Field::new("display_name", DataType::Utf8, true),
        Field::new("upn", DataType::Utf8, true),
        Field::new("group_type", DataType::Utf8, true),
        Field::new(
            "modified_properties",
            DataType::List(item_field(DataType::Struct(modified_property_fields()))),
            false,
        ),
    ])
}

impl ColumnKind for Targets {
    type Value = Vec<Target>;
    fn data_type() -> DataType {
        DataType::List(item_field(DataType::Struct(target_fields())))
    }
    fn nullable() -> bool {
        false
    }
    fn build<'a>(values: impl Iterator<Item = &'a Self::Value>) -> ArrayRef {
        let mut row_lengths = Vec::new();
        let mut targets: Vec<&Target> = Vec::new();
        for v in values {
            row_lengths.push(v.len());
            targets.extend(v.iter());
        }
        let mut prop_lengths = Vec::with_capacity(targets.len());
        let mut props: Vec<&ModifiedProperty> = Vec::new();
        for t in &targets {
            prop_lengths.push(t.modified_properties.len());
            props.extend(t.modified_properties.iter());
        }
        let prop_children: Vec<ArrayRef> = vec![
            Arc::new(
                props
                    .iter()
                    .map(|p| p.name.as_deref())
                    .collect::<StringArray>(),
            ),
            Arc::new(
                props
                    .iter()
                    .map(|p| p.old_value.as_deref())
                    .collect::<StringArray>(),
            ),
            Arc::new(
                props
                    .iter()
                    .map(|p| p.new_value.as_deref())
                    .collect::<StringArray>(),
            ),
        ];
        let prop_structs = StructArray::new(modified_property_fields(), prop_children, None);
        let target_children: Vec<ArrayRef> = vec![
            Arc::new(
                targets
                    .iter()
                    .map(|t| t.id.as_deref())
                    .collect::<StringArray>(),
            ),
            Arc::new(
                targets
                    .iter()
                    .map(|t| t.target_type.as_deref())
                    .collect::<StringArray>(),
            ),
            Arc::new(
                targets
                    .iter()
                    .map(|t| t.display_name.as_deref())
                    .collect::<StringArray>(),
            ),
            Arc::new(
                targets
                    .iter()
                    .map(|t| t.upn.as_deref())
                    .collect::<StringArray>(),
            ),
            Arc::new(
                targets
                    .iter()
                    .map(|t| t.group_type.as_deref())
                    .collect::<StringArray>(),
            ),
            list_of(Arc::new(prop_structs), prop_lengths),
        ];
        let target_structs = StructArray::new(target_fields(), target_children, None);
        list_of(Arc::new(target_structs), row_lengths)
    }
    fn feed(value: &Self::Value, hasher: &mut StableHasher) {
        hasher.write_field(&(value.len() as u64).to_le_bytes());
        for t in value {
            for s in [
                &t.id,
                &t.target_type,
                &t.display_name,
                &t.upn,
                &t.group_type,
            ] {
                Str::feed(s, hasher);
            }
            hasher.write_field(&(t.modified_properties.len() as u64).to_le_bytes());
            for p in &t.modified_properties {
                for s in [&p.name, &p.old_value, &p.new_value] {
                    Str::feed(s, hasher);
                }
            }
        }
    }
    fn size(value: &Self::Value) -> usize {
        value
            .iter()
            .map(|t| {
                [
                    &t.id,
                    &t.target_type,
                    &t.display_name,
                    &t.upn,
                    &t.group_type,
                ]
                .iter()
                .map(|s| Str::size(s))
                .sum::<usize>()
                    + t.modified_properties
                        .iter()
                        .map(|p| {
                            Str::size(&p.name) + Str::size(&p.old_value) + Str::size(&p.new_value)
                        })
                        .sum::<usize>()
            })
            .sum::<usize>()
            + 24
    }
}

/// The 128-bit dedupe key (see `lake`): fixed-size binary, never null.
impl ColumnKind for Key {
    type Value = [u8; 16];
    fn data_type() -> DataType {
        DataType::FixedSizeBinary(KEY_BYTES)
    }
    fn nullable() -> bool {
        false
    }
    fn build<'a>(values: impl Iterator<Item = &'a Self::Value>) -> ArrayRef {
        let keys: Vec<&[u8]> = values.map(|v| v.as_slice()).collect();
        match FixedSizeBinaryArray::try_from_iter(keys.into_iter()) {
            Ok(array) => Arc::new(array),
            // Every value has exactly KEY_BYTES bytes, so this cannot fail; an empty batch
            // (no rows) is the only input try_from_iter rejects.
            Err(_) => Arc::new(FixedSizeBinaryArray::new_null(KEY_BYTES, 0)),
        }
    }
    fn feed(_value: &Self::Value, _hasher: &mut StableHasher) {}
    fn size(value: &Self::Value) -> usize {
        let _ = value;
        16
    }
}

/// Declares a canonical table: the row struct, its Arrow schema and its batch conversion.
///
/// Columns named `dedupe_key`, `raw`, `source_file`, `ingested_at` and `tenant_id` are left
/// out of the content hash: the same record read from another file, channel or day is the
/// same record (Graph pages do not name the tenant; Event Hub and Log Analytics exports do).
#[macro_export]
macro_rules! define_table {
    ($(#[$meta:meta])* $row:ident, $name:literal, $layout:ident($time_field:ident), { $($(#[$fmeta:meta])* $field:ident : $kind:ident),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $row {
            $($(#[$fmeta])* pub $field: <$crate::model::columns::$kind as $crate::model::columns::ColumnKind>::Value,)*
        }

        impl $crate::model::schema::TableRow for $row {
            const TABLE: &'static str = $name;
            const LAYOUT: $crate::model::schema::Layout = $crate::model::schema::Layout::$layout;
            fn schema() -> datafusion::arrow::datatypes::Schema {
                $row::schema()
            }
            fn to_batch(
                rows: &[Self],
            ) -> Result<datafusion::arrow::record_batch::RecordBatch, datafusion::arrow::error::ArrowError> {
                $row::to_batch(rows)
            }
            fn partition_time(&self) -> Option<i64> {
                self.$time_field
            }
            fn content_hash(&self, hasher: &mut $crate::model::columns::StableHasher) {
                $row::content_hash(self, hasher)
            }
            fn set_dedupe_key(&mut self, key: [u8; 16]) {
                self.dedupe_key = key;
            }
            fn approx_size(&self) -> usize {
                use $crate::model::columns::ColumnKind;
                0 $(+ $crate::model::columns::$kind::size(&self.$field))*
            }
            fn stamp(&mut self, raw: Option<String>, source_file: &str, ingested_at: i64) {
                if self.raw.is_none() {
                    self.raw = raw;
                }
                self.source_file = Some(source_file.to_string());
                self.ingested_at = Some(ingested_at);
            }
            $crate::__table_collection!($layout);
        }

        impl $row {
            pub const TABLE: &'static str = $name;

            pub fn schema() -> datafusion::arrow::datatypes::Schema {
                use $crate::model::columns::ColumnKind;
                datafusion::arrow::datatypes::Schema::new(vec![
                    $(datafusion::arrow::datatypes::Field::new(
                        stringify!($field),
                        $crate::model::columns::$kind::data_type(),
                        $crate::model::columns::$kind::nullable(),
                    ),)*
                ])
            }

            pub fn to_batch(
                rows: &[Self],
            ) -> Result<datafusion::arrow::record_batch::RecordBatch, datafusion::arrow::error::ArrowError> {
                use $crate::model::columns::ColumnKind;
                let columns: Vec<datafusion::arrow::array::ArrayRef> = vec![
                    $($crate::model::columns::$kind::build(rows.iter().map(|r| &r.$field)),)*
                ];
                datafusion::arrow::record_batch::RecordBatch::try_new(
                    std::sync::Arc::new(Self::schema()),
                    columns,
                )
            }

            pub const LAYOUT: $crate::model::schema::Layout = $crate::model::schema::Layout::$layout;

            /// Hash of every column that describes the record (see the macro docs).
            pub fn content_hash(&self, hasher: &mut $crate::model::columns::StableHasher) {
                use $crate::model::columns::ColumnKind;
                $(
                    if !matches!(
                        stringify!($field),
                        "dedupe_key" | "raw" | "source_file" | "ingested_at" | "tenant_id"
                    ) {
                        hasher.write(stringify!($field).as_bytes());
                        $crate::model::columns::$kind::feed(&self.$field, hasher);
                    }
                )*
            }
        }
    };
}

/// `TableRow::set_collection` of a table: state tables record what was exported, event
/// tables have no collection. Used by [`define_table!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __table_collection {
    (Event) => {
        fn set_collection(&mut self, _collection: String) {}
    };
    (Snapshot) => {
        fn set_collection(&mut self, collection: String) {
            self.collection = Some(collection);
        }
    };
}
