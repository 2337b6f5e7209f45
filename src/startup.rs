//! The application builder: opens the database, applies migrations, binds the
//! listeners (port 0 in tests) and runs until a shutdown future resolves, then
//! drains: readiness fails at once, new requests are still served for the drain
//! delay, the listener closes, and in-flight requests get the grace period.

use std::{future::Future, net::SocketAddr, sync::Arc};

use tokio::net::TcpListener;

use crate::{
    api,
    attachments::AttachmentStore,
    auth::{password::Hasher, TokenCache},
    config::Config,
    connections::{self, ConnectionLimits},
    db::Db,
    jobs,
    lifecycle::Lifecycle,
    notify::Notifier,
    state::AppState,
    telemetry::metrics::Metrics,
};

pub struct Application {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    state: AppState,
}

/// Opens the database and applies migrations: the state every entry point needs.
pub async fn open_state(config: Config, metrics: Arc<Metrics>) -> anyhow::Result<AppState> {
    let db = Db::connect(&config, metrics.clone()).await?;
    db.migrate().await?;
    let notifier = Arc::new(Notifier::build(&config, &db).await?);
    let tokens = Arc::new(TokenCache::new(config.token_cache_ttl));
    let capacity = Arc::new(tokio::sync::Semaphore::new(config.max_concurrent_requests.max(1)));
    let imports = Arc::new(tokio::sync::Semaphore::new(config.max_concurrent_imports.max(1)));
    let attachments = AttachmentStore::from_config(&config)?;
    let passwords = Arc::new(Hasher::new(config.password_hashing_concurrency, config.password_hashing_wait));
    Ok(AppState {
        config: Arc::new(config),
        db,
        metrics,
        lifecycle: Lifecycle::default(),
        notifier,
        tokens,
        capacity,
        imports,
        attachments,
        passwords,
    })
}

impl Application {
    pub async fn build(config: Config, metrics: Arc<Metrics>) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(config.listen).await?;
        let metrics_listener = match config.metrics_listen {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        let state = open_state(config, metrics).await?;
        Ok(Application { listener, metrics_listener, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener has an address")
    }

    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let Application { listener, metrics_listener, state } = self;
        let scheduler = jobs::start(state.clone()).await?;
        let limits = ConnectionLimits {
            header_read_timeout: state.config.http_header_read_timeout,
            idle_timeout: state.config.http_idle_timeout,
            max_connections: state.config.http_max_connections,
        };
        let metrics_server = metrics_listener.map(|l| {
            let app = api::metrics_router(state.clone());
            tokio::spawn(connections::serve(l, app, limits, std::future::pending()))
        });
        // Migrations were applied when the state was opened (`open_state`), before this.
        state.lifecycle.mark_started();
        state.metrics.ready.set(1);

        let (drained_tx, drained_rx) = tokio::sync::oneshot::channel::<()>();
        let lifecycle = state.lifecycle.clone();
        let drain = state.config.drain_delay;
        let ready_gauge = state.metrics.ready.clone();
        let signal = async move {
            shutdown.await;
            lifecycle.begin_shutdown();
            ready_gauge.set(0);
            tracing::info!(drain_delay = ?drain, "shutdown requested; readiness now fails");
            tokio::time::sleep(drain).await;
            tracing::info!("closing the listener; finishing in-flight requests");
            let _ = drained_tx.send(());
        };
        let app = api::router(state.clone());
        let mut server = tokio::spawn(connections::serve(listener, app, limits, signal));

        tokio::select! {
            finished = &mut server => { finished?; }
            _ = drained_rx => {
                match tokio::time::timeout(state.config.shutdown_grace, &mut server).await {
                    Ok(finished) => finished?,
                    Err(_) => {
                        tracing::warn!(grace = ?state.config.shutdown_grace, "grace period over; abandoning in-flight requests");
                        server.abort();
                    }
                }
            }
        }
        if let Some(m) = metrics_server {
            m.abort();
        }
        jobs::stop(scheduler).await;
        state.db.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}
