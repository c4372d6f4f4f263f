//! Service mode: `orb serve`, the same host (configuration, plugins, database) behind an HTTP
//! API. Requests accepted over HTTP are provisioned in the background and refreshed by a
//! reconcile loop, so status reads are served from the database. The CLI and the Host Factory
//! scripts keep working on the same database meanwhile.

mod api;
mod auth;
mod console;
pub(crate) mod dialect;
mod error;
mod health;
mod leader;
mod rate_limit;
mod reconcile;
mod reload;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use tokio::sync::watch;

use crate::app::App;
use crate::broker::Broker;
use crate::config::OrbConfig;
use reload::Live;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    live: Arc<Live>,
    /// The configuration the server started with: its `server` section (address, auth, rate
    /// limits) holds until a restart.
    config: Arc<OrbConfig>,
    limiter: Arc<rate_limit::Limiter>,
    health: watch::Receiver<health::Checked>,
    /// Whether this replica leads.
    leadership: Arc<leader::Leadership>,
    /// Turns true when the server starts to shut down: open event streams end.
    stopping: watch::Receiver<bool>,
}

impl AppState {
    /// The broker serving new calls (replaced by each reload).
    fn broker(&self) -> Arc<Broker> {
        self.live.broker()
    }
}

/// The address to listen on: `host` (an IP address or `localhost`).
fn address(host: &str) -> anyhow::Result<IpAddr> {
    if host == "localhost" {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    host.parse()
        .with_context(|| format!("'{host}' is not an IP address to listen on"))
}

/// The secret key of the Python ORB's sample configuration, which no server may trust.
const ORB_SAMPLE_SECRET: &str = "your-secret-key-change-in-production";

/// `orb serve`: loads the configuration, serves the API on a multi-threaded runtime until
/// SIGTERM or SIGINT, and returns the process exit code.
pub fn main(
    config: Option<&std::path::Path>,
    log_level: Option<&str>,
    host: Option<String>,
    port: Option<u16>,
) -> std::process::ExitCode {
    let served = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| {
            let served = runtime.block_on(async {
                let app = App::start(config, log_level)?;
                serve(app, config, host, port).await
            });
            // A provider call that timed out may still hold a blocking thread.
            runtime.shutdown_timeout(Duration::from_millis(100));
            served
        });
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Serves the API until SIGTERM or SIGINT, then stops accepting, finishes the calls in flight
/// and stops the reconcile loop; every request stays resumable. SIGHUP reloads the
/// configuration and the plugins directory. Prints one JSON line with the address it listens
/// on.
async fn serve(
    app: App,
    config_file: Option<&std::path::Path>,
    host: Option<String>,
    port: Option<u16>,
) -> anyhow::Result<()> {
    let server = app.loaded.server()?.clone();
    let host = host.unwrap_or(server.host.clone());
    let ip = address(&host)?;
    if !ip.is_loopback() && !server.auth.enabled {
        bail!(
            "refusing to listen on {host}: it is not a loopback address and server.auth is not enabled; \
             configure server.auth.tokens, or listen on 127.0.0.1"
        );
    }
    let auth = &server.auth;
    match auth.strategy.as_deref() {
        None | Some("none") => {}
        Some("bearer_token" | "bearer_token_enhanced") => {
            let Some(orb) = &auth.bearer_token else {
                bail!("server.auth.strategy is {} but server.auth.bearer_token is not set: name its secret_key", auth.strategy.as_deref().unwrap_or_default());
            };
            if auth::orb_algorithm(&orb.algorithm).is_none() {
                bail!(
                    "server.auth.bearer_token.algorithm '{}' is not HS256, HS384 or HS512",
                    orb.algorithm
                );
            }
            if orb.secret_key.len() < 32 || orb.secret_key == ORB_SAMPLE_SECRET {
                bail!(
                    "server.auth.bearer_token.secret_key is shorter than 32 bytes or the Python ORB's \
                     published sample: anyone could sign tokens with it; set your own (`openssl rand -hex 32`)"
                );
            }
        }
        Some(other) => bail!(
            "server.auth.strategy '{other}' is not one orb serves: use bearer_token (the Python ORB's \
             tokens), or server.auth.tokens and server.auth.jwt"
        ),
    }
    if auth.enabled
        && auth.tokens.is_empty()
        && auth.jwt.is_none()
        && auth.orb_bearer_tokens().is_none()
    {
        bail!("server.auth is enabled but names neither tokens nor jwt nor a bearer_token strategy: no caller could get in");
    }
    if let Some(jwt) = &server.auth.jwt {
        if jwt.secret.len() < 32 {
            bail!("server.auth.jwt.secret must be at least 32 bytes");
        }
    }
    if let Some(i) = server.auth.tokens.iter().position(|t| t.token.len() < 32) {
        bail!(
            "server.auth.tokens[{i}].token is shorter than 32 bytes: a token that short can be guessed; \
             make one with `openssl rand -hex 32`"
        );
    }
    let live = Arc::new(Live::open(&app, config_file)?);
    // Listening for SIGHUP before anything is printed: its default action ends the process.
    let hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("cannot listen for SIGHUP")?;
    let listener = tokio::net::TcpListener::bind((ip, port.unwrap_or(server.port)))
        .await
        .with_context(|| format!("cannot listen on {host}:{}", port.unwrap_or(server.port)))?;
    let local = listener.local_addr()?;
    println!(
        "{}",
        serde_json::json!({"listening": format!("http://{local}")})
    );
    tracing::info!(address = %local, "serving");

    let (stop, stopped) = watch::channel(false);
    let leadership = Arc::new(leader::Leadership::new(Duration::from_secs(
        server.leader_lease_seconds.max(3),
    )));
    let leases = tokio::spawn(leader::run(
        live.clone(),
        leadership.clone(),
        stopped.clone(),
    ));
    let reconcile = tokio::spawn(reconcile::run(
        live.clone(),
        leadership.clone(),
        Duration::from_secs(server.reconcile_interval_seconds.max(1)),
        stopped.clone(),
    ));
    let (checked, health) = watch::channel(health::check(&live.broker()).await);
    let checked = Arc::new(checked);
    let checks = tokio::spawn(health::run(
        live.clone(),
        Duration::from_secs(server.health_interval_seconds.max(1)),
        checked.clone(),
        stopped.clone(),
    ));
    let reloads = tokio::spawn(reload_on_hangup(live.clone(), hangups, checked, stopped));
    let (shutting_down, stopping) = watch::channel(false);
    let state = AppState {
        config: Arc::new(app.loaded.config.clone()),
        live,
        limiter: Arc::default(),
        health,
        leadership,
        stopping,
    };
    axum::serve(
        listener,
        api::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        // Open event streams end, so that the calls in flight can finish.
        let _ = shutting_down.send(true);
    })
    .await
    .context("the server failed")?;
    let _ = stop.send(true);
    let _ = reconcile.await;
    let _ = leases.await;
    let _ = checks.await;
    let _ = reloads.await;
    tracing::info!("stopped");
    Ok(())
}

/// Reloads on every SIGHUP, then checks the providers' health at once, until `stop` changes.
async fn reload_on_hangup(
    live: Arc<Live>,
    mut hangups: tokio::signal::unix::Signal,
    checked: Arc<watch::Sender<health::Checked>>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = hangups.recv() => {}
            _ = stop.changed() => return,
        }
        tracing::info!("SIGHUP: reloading the configuration and the plugins directory");
        if live.reload().await.error.is_none() {
            checked.send_replace(health::check(&live.broker()).await);
        }
    }
}

/// SIGTERM or SIGINT.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down: no new calls, finishing those in flight");
}
