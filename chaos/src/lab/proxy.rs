//! The database endpoint: a TCP proxy in its own namespace that plays the part of the
//! RDS endpoint's DNS name (it follows the primary after a failover) and injects latency
//! (this kernel has no netem). It reads its target and delay from a small JSON file the
//! supervisor writes, so it needs no control connection that a network fault could cut.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointState {
    /// `host:port` of the current primary.
    pub target: String,
    /// Latency added to every chunk from the service to the database, milliseconds.
    pub delay_ms: u64,
    /// Bumped on failover: connections to an older generation are closed.
    pub generation: u64,
}

pub fn write_state(path: &Path, s: &EndpointState) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(s)?)?;
    std::fs::rename(tmp, path)?;
    Ok(())
}

fn read_state(path: &Path) -> Option<EndpointState> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Runs the proxy until killed, on every address of the comma-separated `listen`.
pub async fn serve(listen: &str, state_file: PathBuf) -> anyhow::Result<()> {
    let mut listeners = Vec::new();
    for addr in listen.split(',').filter(|a| !a.is_empty()) {
        listeners.push(TcpListener::bind(addr).await?);
    }
    let current = Arc::new(Mutex::new(read_state(&state_file).unwrap_or_default()));
    let delay = Arc::new(AtomicU64::new(0));
    let generation = Arc::new(AtomicU64::new(0));
    {
        let (current, delay, generation) = (current.clone(), delay.clone(), generation.clone());
        tokio::spawn(async move {
            loop {
                if let Some(s) = read_state(&state_file) {
                    delay.store(s.delay_ms, Ordering::Relaxed);
                    generation.store(s.generation, Ordering::Relaxed);
                    *current.lock().unwrap() = s;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }
    let (accepted, mut incoming) = mpsc::channel::<TcpStream>(64);
    for listener in listeners {
        let accepted = accepted.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if accepted.send(client).await.is_err() {
                    break;
                }
            }
        });
    }
    drop(accepted);
    while let Some(client) = incoming.recv().await {
        let target = current.lock().unwrap().clone();
        let (delay, generation) = (delay.clone(), generation.clone());
        tokio::spawn(async move {
            let Ok(Ok(server)) = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(&target.target)).await
            else {
                return; // closing the client's connection is how a dead endpoint looks
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            let gen = target.generation;
            let up = tokio::spawn(pipe(cr, sw, Some(delay), generation.clone(), gen));
            let down = tokio::spawn(pipe(sr, cw, None, generation, gen));
            let _ = tokio::select! { r = up => r, r = down => r };
        });
    }
    anyhow::bail!("the endpoint's listeners stopped accepting connections")
}

/// Copies one direction; with `delay`, each chunk is delivered that long after it was
/// read (order kept), which adds the latency to every round trip.
async fn pipe<R, W>(mut r: R, mut w: W, delay: Option<Arc<AtomicU64>>, generation: Arc<AtomicU64>, gen: u64)
where
    R: AsyncReadExt + Unpin + Send + 'static,
    W: AsyncWriteExt + Unpin + Send + 'static,
{
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((at, chunk)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if w.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = w.shutdown().await;
    });
    let mut buf = vec![0u8; 16384];
    loop {
        let n = tokio::select! {
            n = r.read(&mut buf) => n,
            _ = tokio::time::sleep(Duration::from_millis(200)) => {
                if generation.load(Ordering::Relaxed) != gen { break }
                continue;
            }
        };
        let Ok(n) = n else { break };
        if n == 0 || generation.load(Ordering::Relaxed) != gen {
            break;
        }
        let ms = delay.as_ref().map(|d| d.load(Ordering::Relaxed)).unwrap_or(0);
        if tx.send((Instant::now() + Duration::from_millis(ms), buf[..n].to_vec())).is_err() {
            break;
        }
    }
    drop(tx);
    let _ = writer.await;
}
