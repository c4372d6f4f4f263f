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

/// The columns a nested list (a request's machines) is shown with, when its items have them:
/// enough to tell each apart on a screen; `orb ... --format json` has the rest.
const NESTED_COLUMNS: &[&[&str]] = &[
    &["machineId", "machine_id"],
    &["name"],
    &["status", "state"],
    &[
        "privateIpAddress",
        "private_ip_address",
        "privateIp",
        "private_ip",
    ],
    &["zone"],
];

/// The most columns shown side by side; items with more are shown as key/value rows.
const WIDE: usize = 8;

/// Whether `value` is shown as a table of its own rather than in a cell.
fn nested(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.iter().any(|v| v.is_object() || v.is_array()),
        Value::Object(map) => !map.is_empty(),
        _ => false,
    }
}

fn rows_table(items: &[Value]) -> String {
    if items.is_empty() {
        return "(none)".to_owned();
    }
    let mut columns: Vec<&str> = Vec::new();
    let mut lists: Vec<&str> = Vec::new();
    for item in items {
        if let Value::Object(map) = item {
            for (key, value) in map {
                let seen = columns.contains(&key.as_str()) || lists.contains(&key.as_str());
                match (seen, value) {
                    (true, _) => {}
                    (false, Value::Array(_)) if nested(value) => lists.push(key),
                    (false, _) => columns.push(key),
                }
            }
        }
    }
    // A list given as an empty one in the first items and as objects later is still a list.
    columns.retain(|c| !lists.contains(c));
    let mut table = new_table();
    if columns.is_empty() && lists.is_empty() {
        for item in items {
            table.add_row([cell(item)]);
        }
        return table.to_string();
    }
    let empty = Map::new();
    let mut out = if columns.len() > WIDE {
        // Too many columns to read side by side: each item as key/value rows, without the
        // empty ones.
        items
            .iter()
            .map(|item| {
                let map = item.as_object().unwrap_or(&empty);
                let mut rows = new_table();
                for c in &columns {
                    match map.get(*c).map(cell) {
                        Some(v) if !v.is_empty() => {
                            rows.add_row([(*c).to_owned(), v]);
                        }
                        _ => {}
                    }
                }
                rows.to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        table.set_header(columns.clone());
        for item in items {
            let map = item.as_object().unwrap_or(&empty);
            table.add_row(
                columns
                    .iter()
                    .map(|c| map.get(*c).map(cell).unwrap_or_default()),
            );
        }
        table.to_string()
    };
    // Each item's lists (a request's machines) follow, each a table of a few columns.
    for item in items {
        let map = item.as_object().unwrap_or(&empty);
        let label = columns
            .first()
            .and_then(|c| map.get(*c))
            .map(cell)
            .unwrap_or_default();
        for key in &lists {
            let Some(Value::Array(inner)) = map.get(*key) else {
                continue;
            };
            out.push_str(&format!("\n{label} {key}:\n{}", nested_table(inner)));
        }
    }
    out
}

/// A nested list as a table of [`NESTED_COLUMNS`] (all its columns when it has none of them).
fn nested_table(items: &[Value]) -> String {
    let picked: Vec<&str> = NESTED_COLUMNS
        .iter()
        .filter_map(|names| {
            names
                .iter()
                .find(|n| items.iter().any(|i| i.get(**n).is_some()))
                .copied()
        })
        .collect();
    if picked.is_empty() {
        return rows_table(items);
    }
    let narrowed: Vec<Value> = items
        .iter()
        .map(|i| {
            Value::Object(
                picked
                    .iter()
                    .map(|k| ((*k).to_owned(), i.get(*k).cloned().unwrap_or(Value::Null)))
                    .collect(),
            )
        })
        .collect();
    rows_table(&narrowed)
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
    let terminal = table.width();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width(std::env::var("COLUMNS").ok().as_deref(), terminal));
    table
}

/// The width tables fit: `COLUMNS` when it names one, else the terminal's when it reports one
/// (a terminal may report 0), else 100.
fn width(columns: Option<&str>, terminal: Option<u16>) -> u16 {
    columns
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|w| *w > 0)
        .or(terminal.filter(|w| *w > 0))
        .unwrap_or(100)
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

    #[test]
    fn a_request_is_a_summary_then_a_short_machines_table_that_fits_the_screen() {
        let machine = |id: &str| {
            json!({"machineId": id, "name": format!("ip-10-0-0-{id}.ec2.internal"), "result": "succeed",
                "status": "running", "privateIpAddress": "10.0.0.1", "publicIpAddress": null,
                "launchtime": 1796683884, "message": "", "cloudHostId": id, "instanceType": "m5.large",
                "priceType": "ondemand", "zone": "us-east-1a",
                "instanceTags": "{\"orb:managed-by\":\"orb\",\"orb:request-id\":\"req-b5238f7c-0971-436f-836d-bfa8d899afb7\"}"})
        };
        let answer = json!({"requests": [{"requestId": "req-b5238f7c-0971-436f-836d-bfa8d899afb7",
            "status": "complete", "message": "2 of 2 machines running",
            "machines": [machine("i-1"), machine("i-2")], "providerName": "aws"}]});
        std::env::set_var("COLUMNS", "80");
        let text = render(&answer, Format::Table);
        assert!(text.lines().count() < 30, "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
        assert!(text.contains("machines:") && text.contains("i-2"), "{text}");
        assert!(
            !text.contains("instanceTags") && !text.contains('{'),
            "{text}"
        );
    }

    #[test]
    fn the_width_is_columns_then_the_terminals_then_a_default() {
        assert_eq!(width(Some("120"), Some(80)), 120);
        assert_eq!(width(None, Some(80)), 80);
        assert_eq!(width(Some("0"), Some(0)), 100);
        assert_eq!(width(Some("wide"), None), 100);
    }
}
