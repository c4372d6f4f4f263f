//! Forwarding a plugin's `tracing` events to the host.
//!
//! Each `cdylib` has its own copy of `tracing`'s global dispatcher. [`install`] (called by the
//! code [`crate::export_plugin!`] generates, when the host hands over its [`LogSink`]) sets a
//! subscriber in the plugin's copy that sends every event at or above the host's level to the
//! host. The SDK names the provider instance of each call in a thread-local `InstanceScope`
//! (a span would cost a registry entry per call, at any level), and every event the calling
//! thread emits meanwhile carries that name.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::Once;

use abi_stable::std_types::RStr;
use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use crate::ffi::{LogRecord, LogSink};

thread_local! {
    /// The provider instance whose call this thread is running; empty outside calls.
    static INSTANCE: RefCell<String> = const { RefCell::new(String::new()) };
}

/// While it lives, the events of this thread name `instance` as their provider instance.
pub(crate) struct InstanceScope;

impl InstanceScope {
    /// Names `instance` until the scope is dropped.
    pub(crate) fn enter(instance: &str) -> Self {
        INSTANCE.with(|name| {
            let mut name = name.borrow_mut();
            name.clear();
            name.push_str(instance);
        });
        InstanceScope
    }
}

impl Drop for InstanceScope {
    fn drop(&mut self) {
        INSTANCE.with(|name| name.borrow_mut().clear());
    }
}

/// The numeric form of a level as it crosses the boundary (1 = error ... 5 = trace).
pub fn level_to_u8(level: Level) -> u8 {
    match level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

/// The level of a numeric level; out-of-range numbers clamp to error or trace.
pub fn level_from_u8(level: u8) -> Level {
    match level {
        0 | 1 => Level::ERROR,
        2 => Level::WARN,
        3 => Level::INFO,
        4 => Level::DEBUG,
        _ => Level::TRACE,
    }
}

static INSTALL: Once = Once::new();

/// Sends this plugin's events at or above `max_level` to `sink`, and its panic messages to the
/// log instead of stderr. Only the first call has an effect.
pub fn install(sink: LogSink, max_level: u8) {
    INSTALL.call_once(|| {
        let layer = ForwardLayer {
            sink,
            max_level: level_from_u8(max_level),
        };
        let subscriber = tracing_subscriber::registry().with(layer);
        // Fails only if the plugin set a global subscriber itself; then its choice stands.
        let _ = tracing::subscriber::set_global_default(subscriber);
        std::panic::set_hook(Box::new(|info| {
            tracing::error!(target: "orb_plugin::panic", "{info}");
        }));
    });
}

struct ForwardLayer {
    sink: LogSink,
    max_level: Level,
}

impl<S: Subscriber> Layer<S> for ForwardLayer {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if metadata.is_event() && *metadata.level() <= self.max_level {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let metadata = event.metadata();
        if *metadata.level() > self.max_level {
            return;
        }
        let mut fields = FieldsVisitor::default();
        event.record(&mut fields);
        INSTANCE.with(|instance| {
            let instance = instance.borrow();
            let record = LogRecord {
                level: level_to_u8(*metadata.level()),
                target: RStr::from_str(metadata.target()),
                instance: RStr::from_str(&instance),
                message: RStr::from_str(&fields.message),
                fields: RStr::from_str(fields.rest.trim_start()),
            };
            (self.sink.0)(&record);
        });
    }
}

#[derive(Default)]
struct FieldsVisitor {
    message: String,
    rest: String,
}

impl Visit for FieldsVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.rest, " {}={:?}", field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={:?}", field.name(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    static SEEN: Mutex<Vec<(u8, String, String, String)>> = Mutex::new(Vec::new());

    extern "C" fn collect(record: &LogRecord<'_>) {
        SEEN.lock().unwrap().push((
            record.level,
            record.instance.as_str().to_owned(),
            record.message.as_str().to_owned(),
            record.fields.as_str().to_owned(),
        ));
    }

    #[test]
    fn events_carry_the_instance_of_their_call_and_respect_the_level() {
        let layer = ForwardLayer {
            sink: LogSink(collect),
            max_level: Level::INFO,
        };
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            {
                let _call = InstanceScope::enter("mock-a");
                tracing::info!(count = 3, "provisioned");
                tracing::debug!("too verbose");
            }
            tracing::warn!("outside any call");
        });
        let seen = SEEN.lock().unwrap();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(
            seen[0],
            (3, "mock-a".into(), "provisioned".into(), "count=3".into())
        );
        assert_eq!(seen[1].1, "", "{seen:?}");
    }

    #[test]
    fn levels_round_trip() {
        for level in [
            Level::ERROR,
            Level::WARN,
            Level::INFO,
            Level::DEBUG,
            Level::TRACE,
        ] {
            assert_eq!(level_from_u8(level_to_u8(level)), level);
        }
    }
}
