//! JSON records to Arrow columns, for the Parquet output (docs/parquet.md).
//!
//! A [`Ty`] says what a JSON field becomes: integers, floats, strings and booleans become typed
//! columns, objects become struct columns (or maps, for objects keyed by data such as
//! `events`), lists become list columns. Fields declared in a schema keep their type even in
//! a file where they are always `null`; a field the schema does not know yet is typed from
//! its values (a string column with the value's JSON text when nothing fits), so a field added
//! to the json report is never lost on the way to Parquet.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, ListArray, MapArray, StringArray, StructArray,
};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{ArrowError, DataType, Field, Fields};
use serde_json::Value;

/// The column type of a JSON field.
#[derive(Clone, Debug, PartialEq)]
pub enum Ty {
    Bool,
    Int,
    Float,
    Str,
    Struct(Vec<(String, Ty)>),
    List(Box<Ty>),
    /// An object whose keys are data (string keys, values of one type).
    Map(Box<Ty>),
    /// Present, but only ever `null` so far: the type is not known (written as strings).
    Null,
}

static NULL: Value = Value::Null;

impl Ty {
    pub fn structure(fields: &[(&str, Ty)]) -> Ty {
        Ty::Struct(
            fields
                .iter()
                .map(|(n, t)| (n.to_string(), t.clone()))
                .collect(),
        )
    }

    pub fn data_type(&self) -> DataType {
        match self {
            Ty::Bool => DataType::Boolean,
            Ty::Int => DataType::Int64,
            Ty::Float => DataType::Float64,
            Ty::Str | Ty::Null => DataType::Utf8,
            Ty::Struct(fields) => DataType::Struct(struct_fields(fields)),
            Ty::List(elem) => DataType::List(Arc::new(Field::new("item", elem.data_type(), true))),
            Ty::Map(val) => DataType::Map(Arc::new(map_entries(val)), false),
        }
    }

    /// The type of a field the schema does not declare, from its values; `None` when every
    /// value is null.
    pub fn infer<'a>(values: impl IntoIterator<Item = &'a Value>) -> Option<Ty> {
        let mut ty: Option<Ty> = None;
        for v in values {
            let t = match v {
                Value::Null => continue,
                Value::Bool(_) => Ty::Bool,
                Value::Number(n) if n.is_i64() || n.is_u64() => Ty::Int,
                Value::Number(_) => Ty::Float,
                Value::String(_) => Ty::Str,
                Value::Array(items) => Ty::List(Box::new(Ty::infer(items).unwrap_or(Ty::Null))),
                Value::Object(map) => Ty::Struct(
                    map.iter()
                        .map(|(k, v)| (k.clone(), Ty::infer([v]).unwrap_or(Ty::Null)))
                        .collect(),
                ),
            };
            ty = Some(match ty {
                None => t,
                Some(old) => old.merge(t),
            });
        }
        ty
    }

    /// One type for two: integers widen to floats, structs take the union of their fields,
    /// anything else that disagrees becomes JSON text.
    fn merge(self, other: Ty) -> Ty {
        match (self, other) {
            (a, b) if a == b => a,
            (Ty::Null, t) | (t, Ty::Null) => t,
            (Ty::Int, Ty::Float) | (Ty::Float, Ty::Int) => Ty::Float,
            (Ty::List(a), Ty::List(b)) => Ty::List(Box::new(a.merge(*b))),
            (Ty::Struct(mut a), Ty::Struct(b)) => {
                for (name, t) in b {
                    match a.iter_mut().find(|(n, _)| *n == name) {
                        Some((_, old)) => *old = old.clone().merge(t),
                        None => a.push((name, t)),
                    }
                }
                Ty::Struct(a)
            }
            _ => Ty::Str,
        }
    }

    /// The column of this type for `values` (one per row; `null` or a missing field is null).
    pub fn column(&self, values: &[&Value]) -> Result<ArrayRef, ArrowError> {
        Ok(match self {
            Ty::Bool => Arc::new(BooleanArray::from(
                values.iter().map(|v| v.as_bool()).collect::<Vec<_>>(),
            )),
            Ty::Int => Arc::new(Int64Array::from(
                values.iter().map(|v| v.as_i64()).collect::<Vec<_>>(),
            )),
            Ty::Float => Arc::new(Float64Array::from(
                values.iter().map(|v| v.as_f64()).collect::<Vec<_>>(),
            )),
            Ty::Str | Ty::Null => Arc::new(StringArray::from(
                values
                    .iter()
                    .map(|v| match v {
                        Value::Null => None,
                        Value::String(s) => Some(s.clone()),
                        other => Some(other.to_string()),
                    })
                    .collect::<Vec<_>>(),
            )),
            Ty::Struct(fields) => {
                let nulls =
                    NullBuffer::from(values.iter().map(|v| v.is_object()).collect::<Vec<_>>());
                let children = split(values, fields)
                    .iter()
                    .zip(fields)
                    .map(|(child, (_, t))| t.column(child))
                    .collect::<Result<Vec<_>, _>>()?;
                Arc::new(StructArray::try_new(
                    struct_fields(fields),
                    children,
                    Some(nulls),
                )?)
            }
            Ty::List(elem) => {
                let nulls =
                    NullBuffer::from(values.iter().map(|v| v.is_array()).collect::<Vec<_>>());
                let items: Vec<&Value> = values
                    .iter()
                    .flat_map(|v| v.as_array().into_iter().flatten())
                    .collect();
                let offsets = OffsetBuffer::from_lengths(
                    values.iter().map(|v| v.as_array().map_or(0, Vec::len)),
                );
                Arc::new(ListArray::try_new(
                    Arc::new(Field::new("item", elem.data_type(), true)),
                    offsets,
                    elem.column(&items)?,
                    Some(nulls),
                )?)
            }
            Ty::Map(val) => {
                let nulls =
                    NullBuffer::from(values.iter().map(|v| v.is_object()).collect::<Vec<_>>());
                let entries: Vec<(&String, &Value)> = values
                    .iter()
                    .flat_map(|v| v.as_object().into_iter().flatten())
                    .collect();
                let offsets = OffsetBuffer::from_lengths(
                    values.iter().map(|v| v.as_object().map_or(0, |m| m.len())),
                );
                let keys =
                    StringArray::from(entries.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>());
                let vals: Vec<&Value> = entries.iter().map(|(_, v)| *v).collect();
                let entries = StructArray::try_new(
                    entry_fields(val),
                    vec![Arc::new(keys), val.column(&vals)?],
                    None,
                )?;
                Arc::new(MapArray::try_new(
                    Arc::new(map_entries(val)),
                    offsets,
                    entries,
                    Some(nulls),
                    false,
                )?)
            }
        })
    }
}

/// The objects' values field by field (missing or non-object: null). One pass over each
/// object's entries with a name index: a lookup per field and row cost more than the rest of
/// the conversion.
pub fn split<'a>(values: &[&'a Value], fields: &[(String, Ty)]) -> Vec<Vec<&'a Value>> {
    let index: rustc_hash::FxHashMap<&str, usize> = fields
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (n.as_str(), i))
        .collect();
    let mut cols = vec![vec![&NULL; values.len()]; fields.len()];
    for (r, v) in values.iter().enumerate() {
        let Some(map) = v.as_object() else {
            continue;
        };
        for (k, x) in map {
            if let Some(slot) = index
                .get(k.as_str())
                .and_then(|&i| cols.get_mut(i))
                .and_then(|c| c.get_mut(r))
            {
                *slot = x;
            }
        }
    }
    cols
}

fn struct_fields(fields: &[(String, Ty)]) -> Fields {
    fields
        .iter()
        .map(|(n, t)| Field::new(n, t.data_type(), true))
        .collect()
}

fn entry_fields(val: &Ty) -> Fields {
    Fields::from(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("value", val.data_type(), true),
    ])
}

fn map_entries(val: &Ty) -> Field {
    Field::new("entries", DataType::Struct(entry_fields(val)), false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;
    use serde_json::json;

    #[test]
    fn nested_values_become_struct_list_and_map_columns() {
        let rows = [
            json!({"s": {"a": 1, "b": "x"}, "l": [1.5, 2], "m": {"k": 3}}),
            json!({"s": null, "l": null, "m": {}}),
        ];
        let refs: Vec<&Value> = rows.iter().collect();
        let ty = Ty::infer(refs.iter().copied()).unwrap();
        let Ty::Struct(fields) = &ty else {
            panic!("{ty:?}")
        };
        let l = fields.iter().find(|(n, _)| n == "l").map(|(_, t)| t);
        assert_eq!(l, Some(&Ty::List(Box::new(Ty::Float))));
        let col = ty.column(&refs).unwrap();
        assert_eq!(col.len(), 2);
        let st = col.as_any().downcast_ref::<StructArray>().unwrap();
        let s = st.column_by_name("s").unwrap();
        assert!(s.is_valid(0) && s.is_null(1));
        let m = Ty::Map(Box::new(Ty::Int))
            .column(&[&rows[0]["m"], &rows[1]["m"]])
            .unwrap();
        let m = m.as_any().downcast_ref::<MapArray>().unwrap();
        assert_eq!(m.value_length(0), 1);
        assert_eq!(m.value_length(1), 0);
    }

    #[test]
    fn disagreeing_values_become_json_text() {
        let rows = [json!(1), json!("one"), json!({"x": 1})];
        assert_eq!(Ty::infer(rows.iter()), Some(Ty::Str));
        let col = Ty::Str.column(&rows.iter().collect::<Vec<_>>()).unwrap();
        let col = col.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(col.value(2), "{\"x\":1}");
        assert_eq!(Ty::infer([&Value::Null]), None);
    }
}
