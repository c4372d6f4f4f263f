//! Printing command results as JSON, YAML or a table.

use std::io::IsTerminal;

use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use serde_json::{Map, Value};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// JSON, for scripts.
    Json,
    /// YAML.
    Yaml,
    /// A table, for people.
    Table,
}

impl Format {
    /// `format`, or by default a table on a terminal and JSON elsewhere.
    pub fn or_default(format: Option<Format>) -> Format {
        format.unwrap_or_else(|| {
            if std::io::stdout().is_terminal() {
                Format::Table
            } else {
                Format::Json
            }
        })
    }
}

/// Writes `text` to stdout. A reader that went away (`orb ... | head`) is not an error: what
/// it did not read, it did not want.
pub fn to_stdout(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// `value` in `format`, ending with a newline.
pub fn render(value: &Value, format: Format) -> String {
    let mut text = match format {
        Format::Json => serde_json::to_string_pretty(value).expect("JSON values serialize"),
        Format::Yaml => serde_yaml_ng::to_string(value).expect("JSON values serialize as YAML"),
        Format::Table => render_table(value),
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// A table of `value`: lists of objects become tables with a column per key; objects become
/// key/value rows, with each list of objects inside them as a table of its own.
fn render_table(value: &Value) -> String {
    match value {
        Value::Array(items) => rows_table(items),
        Value::Object(map) => {
            let mut pairs = Vec::new();
            let mut lists = Vec::new();
            for (key, v) in map {
                match v {
                    Value::Array(items) if items.iter().any(Value::is_object) => {
                        lists.push((key, items))
                    }
                    _ => flatten(key, v, &mut pairs),
                }
            }
            let mut out = String::new();
            if !pairs.is_empty() {
                let mut table = new_table();
                table.set_header(["key", "value"]);
                for (k, v) in pairs {
                    table.add_row([k, v]);
                }
                out.push_str(&table.to_string());
                out.push('\n');
            }
            for (key, items) in lists {
                out.push_str(&format!("{key}:\n{}\n", rows_table(items)));
            }
            out
        }
        other => cell(other),
    }
}

fn rows_table(items: &[Value]) -> String {
    if items.is_empty() {
        return "(none)".to_owned();
    }
    let mut columns: Vec<&str> = Vec::new();
    for item in items {
        if let Value::Object(map) = item {
            for key in map.keys() {
                if !columns.contains(&key.as_str()) {
                    columns.push(key);
                }
            }
        }
    }
    let mut table = new_table();
    if columns.is_empty() {
        for item in items {
            table.add_row([cell(item)]);
        }
        return table.to_string();
    }
    table.set_header(columns.clone());
    let empty = Map::new();
    for item in items {
        let map = item.as_object().unwrap_or(&empty);
        table.add_row(
            columns
                .iter()
                .map(|c| map.get(*c).map(cell).unwrap_or_default()),
        );
    }
    table.to_string()
}

fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                flatten(&format!("{prefix}.{k}"), v, out);
            }
        }
        Value::Array(items) if items.iter().any(Value::is_object) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        v => out.push((prefix.to_owned(), cell(v))),
    }
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(|v| !v.is_object() && !v.is_array()) => {
            items.iter().map(cell).collect::<Vec<_>>().join(", ")
        }
        other => other.to_string(),
    }
}

fn new_table() -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_become_tables_and_objects_key_value_rows() {
        let v = json!({
            "dir": "/plugins",
            "plugins": [{"name": "mock", "types": ["mock", "mock2"]}, {"name": "aws", "extra": 1}]
        });
        let text = render(&v, Format::Table);
        assert!(text.contains("dir"), "{text}");
        assert!(text.contains("/plugins"), "{text}");
        assert!(text.contains("plugins:"), "{text}");
        assert!(text.contains("mock, mock2"), "{text}");
        assert!(text.contains("extra"), "{text}");
    }

    #[test]
    fn json_and_yaml_are_parseable() {
        let v = json!({"a": [1, 2], "b": {"c": null}});
        let back: Value = serde_json::from_str(&render(&v, Format::Json)).unwrap();
        assert_eq!(back, v);
        let back: Value = serde_yaml_ng::from_str(&render(&v, Format::Yaml)).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn nested_objects_flatten_to_dotted_keys() {
        let text = render(&json!({"logging": {"level": "info"}}), Format::Table);
        assert!(text.contains("logging.level"), "{text}");
    }
}
