//! Per-client rate limiting: a token bucket per client address. A client over its pace gets 429
//! with `Retry-After`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::AppState;
use crate::config::RateLimitConfig;

/// Most clients tracked at once; the table starts afresh beyond that.
const MAX_CLIENTS: usize = 10_000;

/// The buckets of every client.
#[derive(Debug, Default)]
pub struct Limiter {
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Limiter {
    /// Takes a token for `client`; `Err(seconds)` to wait when it has none.
    pub fn take(&self, config: &RateLimitConfig, client: IpAddr, now: Instant) -> Result<(), u64> {
        if config.requests_per_minute == 0 {
            return Ok(());
        }
        let rate = f64::from(config.requests_per_minute) / 60.0;
        let capacity = f64::from(config.burst.max(1));
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&client) {
            buckets.clear();
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        bucket.tokens =
            (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / rate).ceil() as u64)
        }
    }
}

/// Refuses calls over the client's pace.
pub async fn limit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let forwarded = request
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let client = client_of(peer.ip(), forwarded, &state.config.server.trusted_proxies);
    match state
        .limiter
        .take(&state.config.server.rate_limit, client, Instant::now())
    {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "RateLimited",
                format!("too many calls from {client}; retry in {wait} s"),
            )
            .into_response();
            if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
    }
}

/// The client a call counts against: the peer, unless the peer is one of the `trusted`
/// proxies, then the nearest address of `X-Forwarded-For` that is no trusted proxy (read from
/// the right, as each proxy appends the address it was called from). A client cannot pose as
/// another through the header: it is read only from trusted proxies.
fn client_of(peer: IpAddr, forwarded: Option<&str>, trusted: &[String]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| {
        trusted
            .iter()
            .any(|t| t.parse::<IpAddr>().is_ok_and(|t| t == *ip))
    };
    if !is_trusted(&peer) {
        return peer;
    }
    forwarded
        .into_iter()
        .flat_map(|f| f.rsplit(','))
        .map_while(|hop| hop.trim().parse::<IpAddr>().ok())
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_the_pace() {
        let limiter = Limiter::default();
        let config = RateLimitConfig {
            requests_per_minute: 60,
            burst: 2,
        };
        let client: IpAddr = "127.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        assert!(limiter.take(&config, client, t0).is_ok());
        assert!(limiter.take(&config, client, t0).is_ok());
        assert_eq!(limiter.take(&config, client, t0), Err(1));
        // Another client has its own bucket; a second later the first has a token again.
        assert!(limiter
            .take(&config, "127.0.0.2".parse().unwrap(), t0)
            .is_ok());
        assert!(limiter
            .take(&config, client, t0 + Duration::from_secs(1))
            .is_ok());
        let off = RateLimitConfig {
            requests_per_minute: 0,
            burst: 0,
        };
        assert!((0..1000).all(|_| limiter.take(&off, client, t0).is_ok()));
    }

    #[test]
    fn behind_a_trusted_proxy_the_client_it_names_is_counted() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted = vec!["10.0.0.2".to_owned()];
        let client: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(client_of(proxy, Some("192.0.2.7"), &trusted), client);
        // The header's left part is the client's to write: read from the right.
        assert_eq!(
            client_of(proxy, Some("203.0.113.9, 192.0.2.7, 10.0.0.2"), &trusted),
            client
        );
        // Only a trusted proxy is believed.
        assert_eq!(client_of(client, Some("203.0.113.9"), &trusted), client);
        assert_eq!(client_of(proxy, Some("203.0.113.9"), &[]), proxy);
        // Nothing usable: the proxy.
        assert_eq!(client_of(proxy, Some("garbage"), &trusted), proxy);
        assert_eq!(client_of(proxy, None, &trusted), proxy);
    }
}
