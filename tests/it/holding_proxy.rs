//! A loopback TCP proxy in front of a moto server that holds back the first request naming one
//! AWS action until the test releases it. A process can then be killed while that call is in
//! flight, and the call reach the cloud afterwards, as a call whose answer was lost does.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Where the held call is.
#[derive(Default)]
struct Hold {
    held: bool,
    released: bool,
}

/// The proxy; its listener lives as long as the test process.
pub struct HoldingProxy {
    /// The URL to give the SDK instead of moto's.
    pub endpoint: String,
    hold: Arc<(Mutex<Hold>, Condvar)>,
}

impl HoldingProxy {
    /// A proxy to the server at `upstream` (`http://127.0.0.1:port`) that holds the first
    /// request whose bytes name `action` (the query protocol's `Action=...`).
    pub fn start(upstream: &str, action: &str) -> HoldingProxy {
        let upstream = upstream
            .strip_prefix("http://")
            .expect("an http:// upstream")
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let hold = Arc::new((Mutex::new(Hold::default()), Condvar::new()));
        let needle = format!("Action={action}").into_bytes();
        let shared = hold.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let (hold, needle) = (shared.clone(), needle.clone());
                std::thread::spawn(move || pump(client, server, &hold, &needle));
            }
        });
        HoldingProxy { endpoint, hold }
    }

    /// Waits until the action's request is held; false when it was not within `limit`.
    pub fn wait_until_held(&self, limit: Duration) -> bool {
        let (lock, changed) = &*self.hold;
        let guard = lock.lock().unwrap();
        let (guard, _) = changed
            .wait_timeout_while(guard, limit, |h| !h.held)
            .unwrap();
        guard.held
    }

    /// Lets the held request (and every later one) through.
    pub fn release(&self) {
        let (lock, changed) = &*self.hold;
        lock.lock().unwrap().released = true;
        changed.notify_all();
    }
}

/// Copies one connection both ways; a chunk from the client naming `needle` waits for the
/// release when no other chunk was held before it.
fn pump(
    mut client: TcpStream,
    mut server: TcpStream,
    hold: &(Mutex<Hold>, Condvar),
    needle: &[u8],
) {
    let (Ok(mut answers), Ok(mut to_client)) = (server.try_clone(), client.try_clone()) else {
        return;
    };
    std::thread::spawn(move || std::io::copy(&mut answers, &mut to_client));
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        if chunk.windows(needle.len()).any(|w| w == needle) {
            let (lock, changed) = hold;
            let mut h = lock.lock().unwrap();
            if !h.held {
                h.held = true;
                changed.notify_all();
                while !h.released {
                    h = changed.wait(h).unwrap();
                }
            }
        }
        if server.write_all(chunk).is_err() {
            break;
        }
    }
    let _ = server.shutdown(std::net::Shutdown::Write);
}
