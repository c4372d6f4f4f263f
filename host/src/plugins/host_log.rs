//! The host's end of plugin logging: records forwarded by plugins become host `tracing` events
//! carrying the provider instance name.

use std::sync::atomic::{AtomicU8, Ordering};

use orb_plugin_api::ffi::LogRecord;
use orb_plugin_api::logging::{level_from_u8, level_to_u8};
use tracing::Level;

static MAX_LEVEL: AtomicU8 = AtomicU8::new(2);

/// Sets the most verbose level plugins forward; call before loading plugins.
pub fn set_max_level_for_plugins(level: Level) {
    MAX_LEVEL.store(level_to_u8(level), Ordering::Relaxed);
}

/// The most verbose level plugins forward.
pub fn max_level_for_plugins() -> u8 {
    MAX_LEVEL.load(Ordering::Relaxed)
}

/// The [`orb_plugin_api::ffi::LogSink`] callback handed to every plugin.
pub extern "C" fn forward_plugin_record(record: &LogRecord<'_>) {
    // Runs inside the plugin's call stack: it must not unwind into the plugin.
    let _ = std::panic::catch_unwind(|| emit(record));
}

fn emit(record: &LogRecord<'_>) {
    macro_rules! forward {
        ($level:expr) => {
            tracing::event!(
                target: "orb::plugin",
                $level,
                provider = record.instance.as_str(),
                source = record.target.as_str(),
                fields = record.fields.as_str(),
                "{}",
                record.message.as_str()
            )
        };
    }
    match level_from_u8(record.level) {
        Level::ERROR => forward!(Level::ERROR),
        Level::WARN => forward!(Level::WARN),
        Level::INFO => forward!(Level::INFO),
        Level::DEBUG => forward!(Level::DEBUG),
        Level::TRACE => forward!(Level::TRACE),
    }
}
