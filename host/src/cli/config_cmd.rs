//! `orb config ...`: the effective configuration.

use crate::config::redact;

use super::{App, Outcome};

/// `orb config show`: the effective configuration, every layer applied, secrets redacted.
pub fn show(app: &App) -> Outcome {
    let mut value = serde_json::to_value(&app.loaded.config).expect("the configuration serializes");
    redact(&mut value);
    Outcome {
        success: true,
        value,
    }
}
