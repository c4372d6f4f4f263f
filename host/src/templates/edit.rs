//! Changing the operator's templates files: one template added, replaced or removed at a time.
//!
//! An edit holds an exclusive lock on the configuration directory's templates lock file, so
//! two writers (two replicas, the CLI beside a server) never lose each other's change; it
//! checks, under that lock, that the template is still as the caller read it, so no writer
//! replaces what another wrote meanwhile; and it writes a new file beside the old one, synced,
//! then renamed over it, so a reader (Host Factory re-reads the file on every call) never sees
//! half of it. The file keeps its shape (`{"templates": [...]}` with its other keys, or a bare
//! list) and the order of its templates and their keys.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// The name of the lock file every templates edit holds, in the configuration directory.
const LOCK_FILE: &str = ".orb-templates.lock";

/// Why an edit was not made; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The template was changed, added or removed by another writer since it was read.
    #[error("template '{0}' changed in {1} since it was read: read it again and retry")]
    Changed(String, PathBuf),
    /// A file could not be read, understood or written.
    #[error("{0}")]
    File(String),
}

/// Where the templates live: the files read, in order of precedence (the first that holds a
/// template id is the one that counts), and the file a new template goes to when none exists.
pub struct TemplateFiles {
    /// The configuration directory, which holds the lock file.
    pub config_dir: PathBuf,
    /// The templates files that exist, in order of precedence.
    pub existing: Vec<PathBuf>,
    /// The file to create when none exists.
    pub new_file: PathBuf,
}

/// A template as written in its file, and that file.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// The file that holds it (the first, in order of precedence).
    pub file: PathBuf,
    /// Its fields as written there.
    pub fields: Map<String, Value>,
}

/// The template `id` as written, from the first file that holds it.
pub fn find(files: &[PathBuf], id: &str) -> Result<Option<Written>, EditError> {
    for file in files {
        let entries = super::files::read(file).map_err(EditError::File)?;
        if let Some(fields) = entries.into_iter().find(|t| holds_id(t, id)) {
            return Ok(Some(Written {
                file: file.clone(),
                fields,
            }));
        }
    }
    Ok(None)
}

/// Replaces the template `id`, which must still be as `read` (`None`: it must not exist), by
/// `fields` (`None`: removes it); a new template goes to the first file. The file written.
pub fn replace(
    files: &TemplateFiles,
    id: &str,
    read: Option<&Written>,
    fields: Option<Map<String, Value>>,
) -> Result<PathBuf, EditError> {
    let io = |what: &str, path: &Path, e: std::io::Error| {
        EditError::File(format!("cannot {what} {}: {e}", path.display()))
    };
    let lock_path = files.config_dir.join(LOCK_FILE);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| io("open", &lock_path, e))?;
    lock.lock().map_err(|e| io("lock", &lock_path, e))?;
    // The files that exist now: another writer may have created one.
    let existing: Vec<PathBuf> = files
        .existing
        .iter()
        .chain(std::iter::once(&files.new_file))
        .filter(|p| p.is_file())
        .cloned()
        .collect();
    let now = find(&existing, id)?;
    if now.as_ref() != read {
        let file = now
            .or(read.cloned())
            .map_or(files.new_file.clone(), |w| w.file);
        return Err(EditError::Changed(id.to_owned(), file));
    }
    let file = match (&now, existing.first()) {
        (Some(w), _) => w.file.clone(),
        (None, Some(first)) => first.clone(),
        (None, None) => files.new_file.clone(),
    };
    let mut document = if file.is_file() {
        let text = std::fs::read_to_string(&file).map_err(|e| io("read", &file, e))?;
        serde_json::from_str(&text).map_err(|e| {
            EditError::File(format!(
                "templates file {} is not valid JSON: {e}",
                file.display()
            ))
        })?
    } else {
        serde_json::json!({"templates": []})
    };
    let list = match &mut document {
        Value::Array(list) => list,
        Value::Object(map) => match map.get_mut("templates") {
            Some(Value::Array(list)) => list,
            _ => {
                return Err(EditError::File(format!(
                    "templates file {} has no \"templates\" list",
                    file.display()
                )))
            }
        },
        _ => {
            return Err(EditError::File(format!(
                "templates file {} must hold an object or a list",
                file.display()
            )))
        }
    };
    let position = list
        .iter()
        .position(|t| t.as_object().is_some_and(|t| holds_id(t, id)));
    match (position, fields) {
        (Some(i), Some(fields)) => list[i] = Value::Object(fields),
        (Some(i), None) => {
            list.remove(i);
        }
        (None, Some(fields)) => list.push(Value::Object(fields)),
        (None, None) => {}
    }
    write_replacing(&file, &document).map_err(|e| io("write", &file, e))?;
    Ok(file)
}

/// Whether the template `fields` has the id `id` (`templateId`, or ORB's `template_id`).
fn holds_id(fields: &Map<String, Value>, id: &str) -> bool {
    fields
        .get("templateId")
        .or(fields.get("template_id"))
        .and_then(Value::as_str)
        == Some(id)
}

/// Writes `document` to a new file beside `file`, synced, then renamed over it, keeping the
/// old file's permissions.
fn write_replacing(file: &Path, document: &Value) -> std::io::Result<()> {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("templates");
    let partial = file.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    let written = (|| {
        let mut out = std::fs::File::create(&partial)?;
        let mut text = serde_json::to_string_pretty(document).map_err(std::io::Error::other)?;
        text.push('\n');
        out.write_all(text.as_bytes())?;
        if let Ok(old) = std::fs::metadata(file) {
            out.set_permissions(old.permissions())?;
        }
        out.sync_all()?;
        std::fs::rename(&partial, file)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn site(content: &str) -> (tempfile::TempDir, TemplateFiles) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("templates.json");
        std::fs::write(&file, content).unwrap();
        let files = TemplateFiles {
            config_dir: dir.path().to_owned(),
            existing: vec![file.clone()],
            new_file: file,
        };
        (dir, files)
    }

    #[test]
    fn a_template_is_added_replaced_and_removed_keeping_the_files_shape() {
        let (_dir, files) = site(
            r#"{"scheduler_type": "hostfactory", "templates": [{"templateId": "a", "maxNumber": 1}]}"#,
        );
        let b = fields(json!({"templateId": "b", "maxNumber": 2}));
        replace(&files, "b", None, Some(b.clone())).unwrap();
        let read = find(&files.existing, "a").unwrap().unwrap();
        let mut a = read.fields.clone();
        a.insert("maxNumber".into(), json!(5));
        replace(&files, "a", Some(&read), Some(a)).unwrap();
        let written: Value =
            serde_json::from_str(&std::fs::read_to_string(&files.new_file).unwrap()).unwrap();
        assert_eq!(
            written,
            json!({"scheduler_type": "hostfactory", "templates": [
                {"templateId": "a", "maxNumber": 5}, {"templateId": "b", "maxNumber": 2}]})
        );
        let read = find(&files.existing, "b").unwrap().unwrap();
        replace(&files, "b", Some(&read), None).unwrap();
        assert!(find(&files.existing, "b").unwrap().is_none());
        let leftovers: Vec<_> = std::fs::read_dir(&files.config_dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn a_template_changed_since_it_was_read_is_not_overwritten() {
        let (_dir, files) = site(r#"[{"templateId": "a", "maxNumber": 1}]"#);
        let stale = find(&files.existing, "a").unwrap().unwrap();
        let mut newer = stale.fields.clone();
        newer.insert("maxNumber".into(), json!(2));
        replace(&files, "a", Some(&stale), Some(newer)).unwrap();
        let mut mine = stale.fields.clone();
        mine.insert("maxNumber".into(), json!(9));
        let refused = replace(&files, "a", Some(&stale), Some(mine)).unwrap_err();
        assert!(matches!(refused, EditError::Changed(..)), "{refused}");
        assert_eq!(
            find(&files.existing, "a").unwrap().unwrap().fields["maxNumber"],
            2
        );
        // Adding an id that exists is the same conflict.
        let again = fields(json!({"templateId": "a"}));
        assert!(matches!(
            replace(&files, "a", None, Some(again)),
            Err(EditError::Changed(..))
        ));
    }

    #[test]
    fn the_first_template_goes_to_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let files = TemplateFiles {
            config_dir: dir.path().to_owned(),
            existing: Vec::new(),
            new_file: dir.path().join("templates.json"),
        };
        replace(&files, "a", None, Some(fields(json!({"templateId": "a"})))).unwrap();
        assert_eq!(
            find(std::slice::from_ref(&files.new_file), "a")
                .unwrap()
                .unwrap()
                .fields,
            fields(json!({"templateId": "a"}))
        );
    }
}
