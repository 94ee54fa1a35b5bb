//! pimwatch's own SQL functions, so that rules judge with the same code as ingest:
//!
//! - `privileged_actions(role_permissions)`: the privileged actions (see
//!   `model::privileged_actions`) a role-permissions text allows, comma-separated in their
//!   original spelling, `''` when none. The text is what a directory audit's `RolePermissions`
//!   property holds: JSON, a list of `{"AllowedResourceActions": [...]}` (any key case), or a
//!   list of actions. Null in, null out; text that is not JSON allows nothing.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::cast::as_string_array;
use datafusion::error::Result;
use datafusion::execution::context::SessionContext;
use datafusion::logical_expr::{create_udf, ColumnarValue, Volatility};
use serde_json::Value;

use crate::model::privileged_actions::privileged_among;

pub(super) fn register(ctx: &SessionContext) {
    ctx.register_udf(create_udf(
        "privileged_actions",
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(privileged_actions),
    ));
}

fn privileged_actions(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let arrays = ColumnarValue::values_to_arrays(args)?;
    let texts = as_string_array(&arrays[0])?;
    let out: StringArray = (0..texts.len())
        .map(|i| {
            (!texts.is_null(i))
                .then(|| privileged_among(&allowed_actions(texts.value(i))).join(","))
        })
        .collect();
    let array: ArrayRef = Arc::new(out);
    Ok(
        if args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
            ColumnarValue::Scalar(datafusion::common::ScalarValue::try_from_array(&array, 0)?)
        } else {
            ColumnarValue::Array(array)
        },
    )
}

/// Every action a role-permissions text allows.
fn allowed_actions(text: &str) -> Vec<String> {
    fn collect(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(action) => out.push(action.clone()),
            Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
            Value::Object(map) => {
                for (key, v) in map {
                    if key.eq_ignore_ascii_case("allowedResourceActions") {
                        collect(v, out);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        collect(&value, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::allowed_actions;
    use crate::model::privileged_actions::privileged_among;

    #[test]
    fn reads_the_actions_of_an_audit_role_permissions_value() {
        let text = r#"[{"AllowedResourceActions":["microsoft.directory/applications/credentials/update","microsoft.directory/users/standard/read"],"Condition":null}]"#;
        assert_eq!(
            privileged_among(&allowed_actions(text)),
            vec!["microsoft.directory/applications/credentials/update".to_string()]
        );
        assert!(privileged_among(&allowed_actions("not json")).is_empty());
        assert!(privileged_among(&allowed_actions(
            r#"["microsoft.directory/users/standard/read"]"#
        ))
        .is_empty());
    }
}
