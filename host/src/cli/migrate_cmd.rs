//! `orb migrate ...`: another broker's state carried over.

use std::path::Path;

use super::CommandOutput;
use crate::app::App;
use crate::broker::Broker;

/// `orb migrate from-orb PATH`: imports the Python ORB's store; fails (exit 1) when any record
/// was not imported, each listed with why.
pub fn from_orb(
    app: &App,
    path: &Path,
    provider_instance: Option<&str>,
) -> anyhow::Result<CommandOutput> {
    let broker = Broker::open(app)?;
    let imported =
        crate::migrate::from_orb(broker.store(), broker.config(), path, provider_instance)?;
    Ok(CommandOutput {
        success: imported.refused.is_empty(),
        value: crate::views::to_json(&imported),
    })
}
