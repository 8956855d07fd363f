//! `liaison run`: the daemon.
//!
//! Tasks, all under one cancellation token:
//! - the network task ([`crate::net`]), which owns the Swarm;
//! - the inbound task: each envelope from the network goes to
//!   [`Router::receive`](crate::router::Router::receive) on a blocking thread (at most `INBOUND_WORKERS`
//!   at once) and its receipt back through [`net::Handle::respond`];
//! - one courier per peer (`courier`): delivers that peer's outbox with
//!   backoff, woken when something is queued or the peer connects;
//! - the local HTTP API ([`api`]), over TLS ([`tls`]) on its TCP listener
//!   when `[api] tls_cert` and `tls_key` are set;
//! - housekeeping: forgets message ids too old to replay, hourly.
//! - checkpoints: at `[audit] checkpoint_interval`, signs a checkpoint of
//!   the audit log if it grew and sends it to every peer to witness.
//!
//! SIGINT or SIGTERM cancels the token; each task finishes its step, the
//! store is flushed, and `api.sock` (and `api.addr`) are removed.

pub mod api;
pub mod console;
mod courier;
pub mod tls;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use liaison_config::Config;
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn, Instrument as _};

use crate::identity::{self, Identity};
use crate::net::{self, Event, PeerEntry};
use crate::post::Post;
use crate::router::Router;
use crate::store::Store;

/// Envelopes being opened at once. Their fsynced batches are merged by
/// RocksDB into shared log writes (group commit), so more in flight means
/// fewer fsyncs per message; each holds at most one 1 MiB envelope.
const INBOUND_WORKERS: usize = 16;
/// How long to wait for a CLI command to let go of the store.
const STORE_LOCK_WAIT: Duration = Duration::from_secs(10);
/// How often old message ids are forgotten.
const HOUSEKEEPING: Duration = Duration::from_secs(3600);

/// Why the daemon could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The keys could not be loaded.
    #[error(transparent)]
    Identity(#[from] identity::Error),
    /// The store could not be opened or flushed.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    /// The network could not start.
    #[error(transparent)]
    Net(#[from] net::StartError),
    /// The API could not start.
    #[error(transparent)]
    Api(#[from] api::StartError),
    /// The console could not be built (a broken template or catalogue).
    #[error(transparent)]
    Console(#[from] console::Error),
    /// The API's TLS certificate or key could not be used.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// Matching's keys could not be opened.
    #[error("matching keys: {0}")]
    MatchingKeys(#[source] crate::matching::Error),
    /// A blocking task of the daemon's did not finish.
    #[error("a daemon task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The async runtime could not start.
    #[error("starting the runtime: {0}")]
    Runtime(std::io::Error),
}

/// The right to write records (ingest, withdraw, reindex, purge): the
/// record counters assume one writer at a time. Taken before
/// [`crate::exchange::Decisions`] by a writer that removes records.
#[derive(Debug)]
pub struct RecordsWriter(());

/// The right to apply a new peer list to every part of the node, one
/// reload at a time so the parts never disagree.
#[derive(Debug)]
pub struct Reloading(());

/// The running node, shared by its tasks.
#[derive(Debug)]
pub struct Node {
    /// The node's name, for log spans.
    pub name: String,
    /// The config as last loaded.
    pub config: Mutex<Config>,
    /// The envelope layer.
    pub post: Arc<Post>,
    /// The domains over it, and which applies which message.
    pub router: Arc<Router>,
    /// The network.
    pub net: net::Handle,
    couriers: Mutex<courier::Couriers>,
    records_writer: tokio::sync::Mutex<RecordsWriter>,
    reloading: tokio::sync::Mutex<Reloading>,
    /// Runs matching's scheduled work early (new peers need filters).
    matching_now: tokio::sync::Notify,
    /// Runs the follow-up's scheduled work early (a record changed).
    exchange_now: tokio::sync::Notify,
    cancel: CancellationToken,
}

impl Node {
    /// Wakes `peer`'s courier (something was queued for it).
    pub fn wake(&self, key: &[u8; 32]) {
        self.couriers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .wake(key);
    }

    /// Applies a new peer list from `config` to every part of the node,
    /// one reload at a time so the parts never disagree.
    pub async fn apply_peers(self: &Arc<Self>, config: Config) -> Result<(), net::SendError> {
        let _one_at_a_time = self.reloading.lock().await;
        self.post.set_peers(&config.peers);
        self.router
            .exchange()
            .set_settings(crate::exchange::Settings::from_config(&config));
        self.net.set_peers(peer_entries(&config)).await?;
        self.couriers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .sync(self, &config.peers);
        *self
            .config
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = config;
        self.matching_now.notify_one();
        Ok(())
    }
}

fn peer_entries(config: &Config) -> Vec<PeerEntry> {
    config
        .peers
        .iter()
        .map(|p| PeerEntry {
            id: identity::peer_id(&p.key),
            addrs: p.addrs.clone(),
        })
        .collect()
}

/// Runs the daemon until SIGINT or SIGTERM.
pub fn run(config: Config) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("liaison")
        .build()
        .map_err(Error::Runtime)?;
    let span = tracing::info_span!("node", node = %config.node.name);
    runtime.block_on(serve(config).instrument(span))
}

async fn serve(config: Config) -> Result<(), Error> {
    let identity = Identity::load(&config.node.key_dir)?;
    // Read before anything starts, so a bad certificate or key stops the
    // daemon naming the file.
    let api_tls = match (&config.api.listen, &config.api.tls) {
        (Some(_), Some(files)) => Some(tls::acceptor(&files.cert, &files.key)?),
        _ => None,
    };
    let scheme = if api_tls.is_some() { "https" } else { "http" };
    let keypair = libp2p::identity::Keypair::ed25519_from_bytes(*identity.signing.seed())
        .map_err(|e| net::StartError::Transport(e.to_string()))?;
    let data_dir = config.node.data_dir.clone();
    let store = open_store(&data_dir).await?;
    let store = Arc::new(store);
    let cancel = CancellationToken::new();
    let settings = net::Settings {
        keypair,
        federation: config.node.federation.clone(),
        listen: config.network.listen.clone(),
        idle_timeout: config.network.idle_timeout,
        max_connections: config.network.max_connections.get(),
        peers: peer_entries(&config),
        node_name: config.node.name.clone(),
    };
    let (net, events, net_task) = net::spawn(settings, cancel.child_token())?;
    let post = Arc::new(Post::new(identity, store.clone(), &config));
    let router = Arc::new(Router::new(post.clone(), &config));
    router
        .matching()
        .open_keys(&config.node.key_dir, crate::clock::system_ms())
        .map_err(Error::MatchingKeys)?;
    let api_listen = config.api.listen;
    let node = Arc::new(Node {
        name: config.node.name.clone(),
        post,
        router,
        net,
        couriers: Mutex::new(courier::Couriers::default()),
        records_writer: tokio::sync::Mutex::new(RecordsWriter(())),
        reloading: tokio::sync::Mutex::new(Reloading(())),
        matching_now: tokio::sync::Notify::new(),
        exchange_now: tokio::sync::Notify::new(),
        cancel: cancel.clone(),
        config: Mutex::new(config.clone()),
    });
    node.couriers
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .sync(&node, &config.peers);
    // Whatever is queued while applying a message (an answer, a
    // cosignature) goes out at once.
    let weak = Arc::downgrade(&node);
    node.post.set_waker(move |key| {
        if let Some(node) = weak.upgrade() {
            node.wake(key);
        }
    });

    // The TCP listener serves the console beside the API; the console
    // calls the API's router in process, as the browser's user.
    let console = {
        let name = config.node.name.clone();
        let country = config.node.country.map(|c| c.to_string());
        move |api: axum::Router| {
            console::router(api.clone(), &name, country).map(|c| c.fallback_service(api))
        }
    };
    let tcp_app = api_listen.map(|_| console);
    let api = api::start(node.clone(), api_listen, api_tls, &data_dir, tcp_app).await?;
    let tcp = api
        .addr
        .map(|a| format!(", {scheme}://{a}"))
        .unwrap_or_default();
    info!(api = %api.socket.display(), "daemon running");
    // A line for scripts and tests waiting for the daemon to be up.
    println!(
        "liaison {} running: api {}{tcp}",
        config.node.name,
        api.socket.display()
    );

    let inbound = tokio::spawn(inbound(node.clone(), events).in_current_span());
    let housekeeping = tokio::spawn(housekeeping(node.clone()).in_current_span());
    let checkpoints = tokio::spawn(checkpoints(node.clone()).in_current_span());
    let matching = tokio::spawn(matching(node.clone()).in_current_span());
    let exchange = tokio::spawn(exchange(node.clone()).in_current_span());

    wait_for_signal(&cancel).await;
    info!("shutting down");
    // Long work on the store (filter builds, purges, ingests) stops at its
    // next check, leaving whole batches only; it goes on at the next start.
    store.request_stop();
    cancel.cancel();
    for t in api.tasks {
        let _ = t.await;
    }
    let _ = net_task.await;
    let _ = inbound.await;
    let _ = housekeeping.await;
    let _ = checkpoints.await;
    let _ = matching.await;
    let _ = exchange.await;
    let couriers = node
        .couriers
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .stop();
    for c in couriers {
        let _ = c.await;
    }
    let _ = std::fs::remove_file(api::addr_file(&data_dir));
    let _ = std::fs::remove_file(api::socket_file(&data_dir));
    let flushed = tokio::task::spawn_blocking(move || store.flush()).await?;
    flushed?;
    info!("stopped");
    Ok(())
}

/// Opens the store, waiting out a CLI command that holds it for a moment
/// (RocksDB allows one process); a daemon that holds it fails at once.
async fn open_store(data_dir: &std::path::Path) -> Result<Store, Error> {
    let deadline = tokio::time::Instant::now() + STORE_LOCK_WAIT;
    loop {
        let dir = data_dir.to_owned();
        let opened = tokio::task::spawn_blocking(move || Store::open(&dir)).await?;
        match opened {
            Err(crate::store::Error::Locked { .. }) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return Ok(other?),
        }
    }
}

async fn wait_for_signal(cancel: &CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            error!(error = %e, "cannot watch SIGTERM");
            return cancel.cancelled().await;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        () = cancel.cancelled() => {}
    }
}

/// Opens inbound envelopes on blocking threads and answers them.
async fn inbound(node: Arc<Node>, mut events: mpsc::Receiver<Event>) {
    let workers = Arc::new(Semaphore::new(INBOUND_WORKERS));
    inbound_loop(&node, &mut events, &workers).await;
    // Let the envelopes being opened finish (their batches and receipts)
    // before the store is flushed.
    let _ = workers.acquire_many(INBOUND_WORKERS as u32).await;
}

async fn inbound_loop(
    node: &Arc<Node>,
    events: &mut mpsc::Receiver<Event>,
    workers: &Arc<Semaphore>,
) {
    loop {
        let event = tokio::select! {
            biased;
            () = node.cancel.cancelled() => break,
            e = events.recv() => match e { Some(e) => e, None => break },
        };
        match event {
            Event::Connected(peer) => {
                if let Some(key) = node.post.key_of(&peer) {
                    node.wake(&key);
                }
            }
            Event::Envelope { peer, id, bytes } => {
                let Ok(permit) = workers.clone().acquire_owned().await else {
                    break;
                };
                let node = node.clone();
                tokio::spawn(
                    async move {
                        let router = node.router.clone();
                        let via = node.post.key_of(&peer);
                        let result = tokio::task::spawn_blocking(move || {
                            let via =
                                via.and_then(|k| ed25519_dalek::VerifyingKey::from_bytes(&k).ok());
                            router.receive(via.as_ref(), &bytes)
                        })
                        .await;
                        match result {
                            Ok(Ok(received)) => node.net.respond(id, received.receipt).await,
                            // No receipt: the sender keeps it and retries.
                            Ok(Err(e)) => error!(%peer, error = %e, "could not record an envelope"),
                            Err(e) => error!(%peer, error = %e, "envelope worker failed"),
                        }
                        drop(permit);
                    }
                    .in_current_span(),
                );
            }
        }
    }
}

async fn housekeeping(node: Arc<Node>) {
    let mut tick = tokio::time::interval(HOUSEKEEPING);
    loop {
        tokio::select! {
            biased;
            () = node.cancel.cancelled() => break,
            _ = tick.tick() => {}
        }
        let post = node.post.clone();
        match tokio::task::spawn_blocking(move || post.forget_old_ids()).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => info!(forgotten = n, "forgot message ids past the replay window"),
            Ok(Err(e)) => warn!(error = %e, "housekeeping failed"),
            Err(e) => warn!(error = %e, "housekeeping task failed"),
        }
    }
}

/// Signs and sends a checkpoint of the audit log at every interval.
async fn checkpoints(node: Arc<Node>) {
    let interval = node
        .config
        .lock()
        .map(|c| c.audit.checkpoint_interval)
        .unwrap_or(Duration::from_secs(300));
    // The first one after a full interval: a restart is not news.
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    let mut last = 0;
    loop {
        tokio::select! {
            biased;
            () = node.cancel.cancelled() => break,
            _ = tick.tick() => {}
        }
        let Ok(peers) = node.config.lock().map(|c| c.peers.clone()) else {
            continue;
        };
        let router = node.router.clone();
        let published = tokio::task::spawn_blocking(move || {
            crate::audit::witness::publish(router.witness(), &peers, last)
        })
        .await;
        match published {
            Ok(Ok(size)) => {
                if size != last {
                    for p in node
                        .config
                        .lock()
                        .map(|c| c.peers.clone())
                        .unwrap_or_default()
                    {
                        node.wake(p.key.verifying_key().as_bytes());
                    }
                }
                last = size;
            }
            Ok(Err(e)) => warn!(error = %e, "signing a checkpoint failed"),
            Err(e) => warn!(error = %e, "checkpoint task failed"),
        }
    }
}

/// Matching's schedule: builds each peer's filter when its epoch has
/// none, sends deltas, destroys old keys, renews the watchlist. Runs at
/// start, then every `delta_interval` (or an eighth of an epoch, if
/// shorter).
async fn matching(node: Arc<Node>) {
    let (every, _) = node
        .config
        .lock()
        .map(|c| {
            let m = &c.matching;
            (
                m.delta_interval
                    .min(m.epoch / 8)
                    .max(Duration::from_millis(100)),
                (),
            )
        })
        .unwrap_or((Duration::from_secs(60), ()));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            () = node.cancel.cancelled() => break,
            _ = tick.tick() => {}
            () = node.matching_now.notified() => {}
        }
        let Ok(peers) = node.config.lock().map(|c| c.peers.clone()) else {
            continue;
        };
        let matching = node.router.matching().clone();
        match tokio::task::spawn_blocking(move || crate::matching::tick(&matching, &peers)).await {
            Ok(Ok(woken)) => {
                for key in woken {
                    node.wake(&key);
                }
            }
            Ok(Err(e)) if node.cancel.is_cancelled() => {
                info!(error = %e, "matching: scheduled work stopped");
            }
            Ok(Err(e)) => warn!(error = %e, "matching: scheduled work failed"),
            Err(e) => warn!(error = %e, "matching task failed"),
        }
    }
}

/// The follow-up's schedule: tells requesters about changed records,
/// raises deadline reminders, and purges what is past its retention
/// (at start, then every `purge_interval`). Runs every minute, or a
/// quarter of the deadline if shorter, and at once when a record changes.
async fn exchange(node: Arc<Node>) {
    let settings = node.router.exchange().settings();
    let every = Duration::from_millis(settings.deadline_ms / 4)
        .min(Duration::from_secs(60))
        .max(Duration::from_millis(100));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_purge: Option<std::time::Instant> = None;
    loop {
        tokio::select! {
            biased;
            () = node.cancel.cancelled() => break,
            _ = tick.tick() => {}
            () = node.exchange_now.notified() => {}
        }
        let purge_every = node.router.exchange().settings().purge_interval;
        let purge = last_purge.is_none_or(|t| t.elapsed() >= purge_every);
        // Purging removes records: one records writer at a time.
        let _writer = if purge {
            last_purge = Some(std::time::Instant::now());
            Some(node.records_writer.lock().await)
        } else {
            None
        };
        let exchange = node.router.exchange().clone();
        let work = move || -> Result<(), crate::exchange::Error> {
            let x = &*exchange;
            crate::exchange::owner::resend_owed(x)?;
            crate::exchange::owner::drain_changed(x)?;
            crate::exchange::owner::remind(x, x.post().now_ms())?;
            if purge {
                crate::exchange::retention::purge(x, x.post().now_ms())?;
                // Expired records queue notices: send them now.
                crate::exchange::owner::drain_changed(x)?;
            }
            Ok(())
        };
        match tokio::task::spawn_blocking(work).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) if node.cancel.is_cancelled() => {
                info!(error = %e, "exchange: scheduled work stopped");
            }
            Ok(Err(e)) => warn!(error = %e, "exchange: scheduled work failed"),
            Err(e) => warn!(error = %e, "exchange task failed"),
        }
    }
}

/// The bearer token file daemons before user accounts wrote at each
/// start; removed at start now (the CLI names its user on the socket).
pub fn token_file(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("api.token")
}
