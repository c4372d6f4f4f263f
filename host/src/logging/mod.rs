//! The host's log output. Logs never go to stdout, which carries command output only.

mod rotate;

use std::path::Path;
use std::sync::Mutex;

use tracing::Level;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

use crate::plugins::set_max_level_for_plugins;

/// The level a configured level name means (ORB's `WARNING` and `CRITICAL` included).
pub fn parse_level(name: &str) -> Option<Level> {
    match name.to_ascii_lowercase().as_str() {
        "error" | "critical" => Some(Level::ERROR),
        "warn" | "warning" => Some(Level::WARN),
        "info" => Some(Level::INFO),
        "debug" => Some(Level::DEBUG),
        "trace" => Some(Level::TRACE),
        _ => None,
    }
}

/// Where logs go.
#[derive(Debug, Clone, Copy)]
pub enum Sink<'a> {
    /// Standard error.
    Stderr,
    /// A file, appended to, rotated past `max_size` bytes (0: never) with `backups` older
    /// files kept.
    File {
        /// The file.
        path: &'a Path,
        /// Its largest size.
        max_size: u64,
        /// How many older files are kept.
        backups: u32,
    },
    /// Nowhere.
    Off,
}

/// Starts logging at `level` to `sink`, as text or JSON lines.
pub fn init(level: Level, json: bool, sink: Sink<'_>) -> std::io::Result<()> {
    set_max_level_for_plugins(level);
    let writer = match sink {
        Sink::Stderr => BoxMakeWriter::new(std::io::stderr),
        Sink::File {
            path,
            max_size,
            backups,
        } => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let file = rotate::RotatingFile::open(path, max_size, backups)?;
            BoxMakeWriter::new(Mutex::new(file))
        }
        Sink::Off => BoxMakeWriter::new(std::io::sink),
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(writer)
        .with_ansi(
            matches!(sink, Sink::Stderr) && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        );
    // A second initialisation (in tests) keeps the first subscriber.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orb_level_names_are_understood() {
        assert_eq!(parse_level("WARNING"), Some(Level::WARN));
        assert_eq!(parse_level("CRITICAL"), Some(Level::ERROR));
        assert_eq!(parse_level("Debug"), Some(Level::DEBUG));
        assert_eq!(parse_level("loud"), None);
    }
}
