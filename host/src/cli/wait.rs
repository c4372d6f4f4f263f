//! Following requests until they end (`--wait`, `orb requests watch`), with their progress on
//! stderr.

use std::time::{Duration, Instant};

use super::progress::Progress;
use super::CommandOutput;
use crate::broker::{Broker, BrokerError, RequestView};
use crate::domain::RequestStatus;
use crate::hostfactory::output;
use crate::storage::RequestFilter;

/// How to wait.
#[derive(Debug, Clone, Copy)]
pub struct WaitOptions {
    /// Give up after this long.
    pub timeout: Duration,
    /// Poll this often.
    pub interval: Duration,
}

/// The most running requests `orb requests watch` follows when it is given no ids.
const MAX_WATCHED: u32 = 200;

/// Polls `request_id` until it is done or `options.timeout` passes. Succeeds only when the
/// request completed without error.
pub async fn wait_for(
    broker: &Broker,
    request_id: &str,
    options: WaitOptions,
) -> Result<CommandOutput, BrokerError> {
    follow(broker, Some(&[request_id.to_owned()]), options).await
}

/// Follows `request_ids`, or every running request when none are given (those that start
/// meanwhile too), until each has ended or `options.timeout` passes. Succeeds only when every
/// one completed without error; an unknown id is an error.
pub async fn follow(
    broker: &Broker,
    request_ids: Option<&[String]>,
    options: WaitOptions,
) -> Result<CommandOutput, BrokerError> {
    let started = Instant::now();
    let mut progress = Progress::new();
    let mut followed: Vec<String> = request_ids.map(<[String]>::to_vec).unwrap_or_default();
    loop {
        if request_ids.is_none() {
            let running = broker.store().list_requests(&RequestFilter {
                status: Some(RequestStatus::Running),
                limit: Some(MAX_WATCHED),
                ..Default::default()
            })?;
            for request in running {
                if !followed.contains(&request.request_id) {
                    followed.push(request.request_id);
                }
            }
        }
        let views = broker.request_status(&followed).await?;
        if let Some(unknown) = views.iter().find(|v| v.request.is_none()) {
            return Err(BrokerError::BadInput(format!(
                "request {} does not exist",
                unknown.request_id
            )));
        }
        progress.show(&views);
        let ended = views.iter().all(is_over);
        let timed_out = started.elapsed() >= options.timeout;
        if ended || timed_out {
            progress.finish();
            if !ended {
                eprintln!(
                    "gave up waiting after {} s; the requests go on: orb requests show {}",
                    options.timeout.as_secs(),
                    followed.join(" ")
                );
            }
            return Ok(CommandOutput {
                success: ended
                    && views.iter().all(|v| {
                        v.request
                            .as_ref()
                            .is_some_and(|r| r.status == RequestStatus::Complete)
                    }),
                value: crate::views::to_json(&output::request_status(&views)),
            });
        }
        tokio::time::sleep(options.interval).await;
    }
}

/// Whether the request `view` shows has ended.
fn is_over(view: &RequestView) -> bool {
    view.request
        .as_ref()
        .is_some_and(|r| r.status.is_terminal())
}
