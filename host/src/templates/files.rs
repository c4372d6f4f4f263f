//! Finding and reading templates files.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// The templates files to read, in order of precedence, among those that exist in
/// `config_dir`: the configured name; IBM's `<HF_PROVIDER_NAME>prov_templates.json`; the Python
/// ORB's `<instance>_templates.json`; IBM's `<type>prov_templates.json` (e.g.
/// `awsprov_templates.json`); ORB's `<type>_templates.json`; and `templates.json`.
pub fn candidates(
    config_dir: &Path,
    configured: Option<&str>,
    hf_provider_name: Option<&str>,
    instance: &str,
    provider_type: &str,
) -> Vec<PathBuf> {
    let mut names: Vec<String> = Vec::new();
    names.extend(configured.map(str::to_owned));
    names.extend(hf_provider_name.map(|n| format!("{n}prov_templates.json")));
    names.push(format!("{instance}_templates.json"));
    names.push(format!("{provider_type}prov_templates.json"));
    names.push(format!("{provider_type}_templates.json"));
    names.push("templates.json".to_owned());
    let mut paths: Vec<PathBuf> = Vec::new();
    for name in names {
        let path = config_dir.join(name);
        if path.is_file() && !paths.contains(&path) {
            paths.push(path);
        }
    }
    paths
}

/// The template objects of one file: `{"templates": [...]}` or a bare list.
pub fn read(path: &Path) -> Result<Vec<Map<String, Value>>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read templates file {}: {e}", path.display()))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| format!("templates file {} is not valid JSON: {e}", path.display()))?;
    let list = match value {
        Value::Array(items) => items,
        Value::Object(mut map) => match map.remove("templates") {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(format!(
                    "templates file {} has no \"templates\" list",
                    path.display()
                ))
            }
        },
        _ => {
            return Err(format!(
                "templates file {} must hold an object or a list",
                path.display()
            ))
        }
    };
    list.into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(map) => Ok(map),
            _ => Err(format!(
                "templates file {}: templates[{i}] is not an object",
                path.display()
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibm_and_orb_names_are_found_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "templates.json",
            "awsprov_templates.json",
            "awsinstprov_templates.json",
        ] {
            std::fs::write(dir.path().join(name), "[]").unwrap();
        }
        let found = candidates(dir.path(), None, Some("awsinst"), "aws-1", "aws");
        let names: Vec<_> = found
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "awsinstprov_templates.json",
                "awsprov_templates.json",
                "templates.json"
            ]
        );
    }

    #[test]
    fn both_file_shapes_are_read_and_bad_ones_explained() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.json");
        std::fs::write(
            &a,
            r#"{"scheduler_type":"hostfactory","templates":[{"templateId":"x"}]}"#,
        )
        .unwrap();
        assert_eq!(read(&a).unwrap().len(), 1);
        std::fs::write(&a, r#"[{"templateId":"x"},{"templateId":"y"}]"#).unwrap();
        assert_eq!(read(&a).unwrap().len(), 2);
        std::fs::write(&a, r#"{"templates": 3}"#).unwrap();
        assert!(read(&a).unwrap_err().contains("no \"templates\" list"));
        std::fs::write(&a, r#"[1]"#).unwrap();
        assert!(read(&a).unwrap_err().contains("templates[0]"));
    }
}
