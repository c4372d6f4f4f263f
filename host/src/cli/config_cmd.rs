//! `orb config ...`: the effective configuration.

use crate::config::{redact, without_effect};

use super::CommandOutput;
use crate::app::App;

/// `orb config show`: the effective configuration, every layer applied, secrets redacted. Keys
/// set only for the Python ORB's sake, which change nothing, are noted on stderr, so that the
/// output stays a configuration file.
pub fn show(app: &App) -> CommandOutput {
    for (key, why) in without_effect(&app.loaded.config) {
        eprintln!("note: {key} has no effect: {why}");
    }
    let mut value = serde_json::to_value(&app.loaded.config).expect("the configuration serializes");
    redact(&mut value);
    CommandOutput {
        success: true,
        value,
    }
}
