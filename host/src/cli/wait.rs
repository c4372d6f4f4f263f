//! `--wait`: polling a request until it is done, with progress on stderr.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use super::CommandOutput;
use crate::broker::{Broker, BrokerError, RequestView};
use crate::domain::RequestStatus;
use crate::hostfactory::output;

/// How to wait.
#[derive(Debug, Clone, Copy)]
pub struct WaitOptions {
    /// Give up after this long.
    pub timeout: Duration,
    /// Poll this often.
    pub interval: Duration,
}

/// Polls `request_id` until it is done or `options.timeout` passes. Succeeds only when the
/// request completed without error.
pub async fn wait_for(
    broker: &Broker,
    request_id: &str,
    options: WaitOptions,
) -> Result<CommandOutput, BrokerError> {
    let started = Instant::now();
    let terminal = std::io::stderr().is_terminal();
    let mut last_message = String::new();
    loop {
        let views = broker.request_status(&[request_id.to_owned()]).await?;
        let view: &RequestView = &views[0];
        let request = view
            .request
            .as_ref()
            .ok_or_else(|| BrokerError::BadInput(format!("request {request_id} does not exist")))?;
        let elapsed = started.elapsed().as_secs();
        let line = format!(
            "{request_id}: {} - {} ({elapsed} s)",
            request.status.as_str(),
            request.message
        );
        if terminal {
            eprint!("\r\x1b[K{line}");
        } else if request.message != last_message {
            eprintln!("{line}");
        }
        let _ = std::io::stderr().flush();
        last_message = request.message.clone();
        let timed_out = started.elapsed() >= options.timeout;
        if request.status.is_terminal() || timed_out {
            if terminal {
                eprintln!();
            }
            if timed_out && !request.status.is_terminal() {
                eprintln!(
                    "gave up waiting after {} s; the request goes on: orb requests show {request_id}",
                    options.timeout.as_secs()
                );
            }
            return Ok(CommandOutput {
                success: request.status == RequestStatus::Complete,
                value: crate::views::to_json(&output::request_status(&views)),
            });
        }
        tokio::time::sleep(options.interval).await;
    }
}
