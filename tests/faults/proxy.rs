//! A small TCP proxy for faults finer than a process kill: it forwards a
//! random local port to a target and can add latency, cut (close every
//! connection and refuse new ones for a while), reset (close every
//! connection once) and retarget (a Kubernetes Service sending new
//! connections to another pod).

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use tokio_util::sync::CancellationToken;

struct State {
    target: SocketAddr,
    latency: Duration,
    refuse_until: Option<tokio::time::Instant>,
    /// Cancelled to close every current connection.
    generation: CancellationToken,
}

pub struct Proxy {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: CancellationToken,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(Mutex::new(State {
            target,
            latency: Duration::ZERO,
            refuse_until: None,
            generation: CancellationToken::new(),
        }));
        let stop = CancellationToken::new();
        tokio::spawn(accept(listener, state.clone(), stop.clone()));
        Proxy { addr, state, stop }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `http://<addr>` (for gRPC URLs).
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Delays every chunk in both directions by `latency`.
    #[allow(dead_code)]
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Sends new connections to `target`; current ones are closed.
    pub fn retarget(&self, target: SocketAddr) {
        let mut state = self.lock();
        state.target = target;
        std::mem::take(&mut state.generation).cancel();
    }

    /// Closes every connection now and refuses new ones for `for_`.
    pub fn cut(&self, for_: Duration) {
        let mut state = self.lock();
        state.refuse_until = Some(tokio::time::Instant::now() + for_);
        std::mem::take(&mut state.generation).cancel();
    }

    /// Closes every connection now; new ones are accepted.
    #[allow(dead_code)]
    pub fn reset(&self) {
        std::mem::take(&mut self.lock().generation).cancel();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.cancel();
        self.lock().generation.cancel();
    }
}

async fn accept(listener: TcpListener, state: Arc<Mutex<State>>, stop: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((client, _)) = accepted else { continue };
        let (target, latency, generation, refused) = {
            let state = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let refused = state.refuse_until.is_some_and(|until| tokio::time::Instant::now() < until);
            (state.target, state.latency, state.generation.clone(), refused)
        };
        if refused {
            drop(client); // closed at once, as a refusing peer
            continue;
        }
        tokio::spawn(async move {
            let Ok(upstream) = TcpStream::connect(target).await else { return };
            let _ = client.set_nodelay(true);
            let _ = upstream.set_nodelay(true);
            let (client_read, client_write) = client.into_split();
            let (up_read, up_write) = upstream.into_split();
            tokio::select! {
                () = generation.cancelled() => {}
                () = pipe(client_read, up_write, latency) => {}
                () = pipe(up_read, client_write, latency) => {}
            }
        });
    }
}

/// Copies one direction until EOF or an error.
async fn pipe(mut from: tokio::net::tcp::OwnedReadHalf, mut to: tokio::net::tcp::OwnedWriteHalf, latency: Duration) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
