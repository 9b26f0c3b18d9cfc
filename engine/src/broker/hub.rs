//! The runtime thread, the command forwarder and the connections shared between links.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Select, Sender, TryRecvError};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::{FromBroker, LinkState, Role, ToBroker, backoff, mask_url, nats, rabbitmq};
use crate::model::Backend;

/// A shared connection's state, as its manager task publishes it to the links.
#[derive(Clone)]
pub(super) enum ConnState<C> {
    Connecting,
    /// Connected; the number grows with every new connection.
    Up(C, u64),
    Down(String),
    Retrying {
        attempt: u32,
        in_ms: u64,
        error: String,
    },
}

/// One connection per broker kind and URL, shared by the links that use it.
#[derive(Default)]
pub(super) struct Pool {
    rabbit: Mutex<HashMap<String, rabbitmq::Shared>>,
    nats: Mutex<HashMap<String, nats::Shared>>,
    jetstream: Mutex<HashMap<String, nats::Shared>>,
}

impl Pool {
    async fn close_all(&self) {
        let rabbit: Vec<_> = lock(&self.rabbit).values().cloned().collect();
        for shared in rabbit {
            shared.close().await;
        }
        let nats: Vec<_> = lock(&self.nats)
            .values()
            .chain(lock(&self.jetstream).values())
            .cloned()
            .collect();
        for shared in nats {
            shared.close().await;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The connection to `url` that the links of one kind share, started on first use.
fn shared<S: Clone>(pool: &Mutex<HashMap<String, S>>, url: &str, start: fn(&str) -> S) -> S {
    lock(pool)
        .entry(url.to_owned())
        .or_insert_with(|| start(url))
        .clone()
}

/// What a link task talks through: commands in, news out, and the hub's stop signal.
pub(super) struct LinkIo {
    pub node: String,
    pub cmds: mpsc::UnboundedReceiver<ToBroker>,
    news: Sender<FromBroker>,
    /// `Some(deadline)` once the hub shuts down.
    pub stop: watch::Receiver<Option<Instant>>,
    last: LinkState,
}

impl LinkIo {
    /// Sends news; `false` when the node dropped its link.
    pub fn send(&self, news: FromBroker) -> bool {
        self.news.send(news).is_ok()
    }

    pub fn closed(&self) -> bool {
        self.cmds.is_closed() && self.cmds.is_empty()
    }

    /// Reports a state, skipping repeats; a retry is always preceded by `Down`.
    pub fn state(&mut self, state: LinkState) {
        if state == self.last {
            return;
        }
        if let LinkState::Retrying { error, .. } = &state
            && !matches!(
                self.last,
                LinkState::Down { .. } | LinkState::Retrying { .. }
            )
        {
            let down = LinkState::Down {
                error: error.clone(),
            };
            let _ = self.news.send(FromBroker::State(down));
        }
        self.last = state.clone();
        let _ = self.news.send(FromBroker::State(state));
    }

    /// Reports a shared connection's state (`Up` is for the link to report once it is ready).
    pub fn conn_state<C>(&mut self, state: &ConnState<C>) {
        match state {
            ConnState::Connecting | ConnState::Up(..) => {}
            ConnState::Down(error) => self.state(LinkState::Down {
                error: error.clone(),
            }),
            ConnState::Retrying {
                attempt,
                in_ms,
                error,
            } => self.state(LinkState::Retrying {
                attempt: *attempt,
                in_ms: *in_ms,
                error: error.clone(),
            }),
        }
    }

    /// The shutdown deadline, once the hub stops.
    pub fn deadline(&self) -> Option<Instant> {
        *self.stop.borrow()
    }

    /// Waits for the hub to stop (forever if the hub is gone without a signal).
    pub async fn stopped(stop: &mut watch::Receiver<Option<Instant>>) {
        if stop.wait_for(|s| s.is_some()).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// A link-level failure (the connection itself is fine): reports it and waits out the
    /// backoff. Commands arriving meanwhile go to `offline`. Returns `false` to end the link.
    pub async fn retry_wait(
        &mut self,
        attempt: u32,
        error: String,
        mut offline: impl FnMut(ToBroker),
    ) -> bool {
        let wait = backoff(attempt);
        self.state(LinkState::Down {
            error: error.clone(),
        });
        self.state(LinkState::Retrying {
            attempt,
            in_ms: wait.as_millis() as u64,
            error,
        });
        let until = Instant::now() + wait;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return true,
                _ = Self::stopped(&mut self.stop) => return false,
                cmd = self.cmds.recv() => match cmd {
                    Some(cmd) => offline(cmd),
                    None => return false,
                },
            }
        }
    }
}

/// Reports every publish still pending as given up.
pub(super) fn give_up<'a>(io: &LinkIo, seqs: impl IntoIterator<Item = &'a u64>, why: &str) {
    for &seq in seqs {
        io.send(FromBroker::Confirmed {
            seq,
            ok: false,
            error: Some(why.to_owned()),
        });
    }
}

enum Ctl {
    Add(Receiver<ToBroker>, mpsc::UnboundedSender<ToBroker>),
}

struct Finish {
    timeout: Duration,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

pub(super) struct Inner {
    handle: Option<tokio::runtime::Handle>,
    pool: Arc<Pool>,
    stop: watch::Sender<Option<Instant>>,
    ctl: Option<Sender<Ctl>>,
    forwarder: Option<JoinHandle<Vec<mpsc::UnboundedSender<ToBroker>>>>,
    runtime: Option<JoinHandle<()>>,
    finish: Option<oneshot::Sender<Finish>>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

pub(super) fn install_crypto() {
    // lapin and async-nats both use rustls; one crypto provider for the whole process.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Inner {
    pub fn start() -> Inner {
        install_crypto();
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let (finish_tx, finish_rx) = oneshot::channel::<Finish>();
        let (stop, _) = watch::channel(None);
        let pool = Arc::new(Pool::default());
        let stop_rt = stop.clone();
        let pool_rt = pool.clone();
        let runtime = std::thread::Builder::new()
            .name("flowbench-brokers".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(_) => return,
                };
                let _ = handle_tx.send(rt.handle().clone());
                rt.block_on(async move {
                    let (timeout, tasks) = match finish_rx.await {
                        Ok(f) => (f.timeout, f.tasks),
                        Err(_) => (Duration::ZERO, Vec::new()),
                    };
                    let deadline = Instant::now() + timeout;
                    let _ = stop_rt.send(Some(deadline));
                    let grace = deadline + Duration::from_millis(500);
                    for task in tasks {
                        let abort = task.abort_handle();
                        if tokio::time::timeout_at(grace, task).await.is_err() {
                            abort.abort();
                        }
                    }
                    let _ = tokio::time::timeout(Duration::from_secs(1), pool_rt.close_all()).await;
                });
                rt.shutdown_timeout(Duration::from_millis(200));
            })
            .ok();
        // `None` when the runtime could not start: links then report `Down`.
        let handle = handle_rx.recv().ok();
        let (ctl_tx, ctl_rx) = crossbeam_channel::unbounded();
        let forwarder = std::thread::Builder::new()
            .name("flowbench-brokers-in".into())
            .spawn(move || forward(ctl_rx))
            .ok();
        Inner {
            handle,
            pool,
            stop,
            ctl: Some(ctl_tx),
            forwarder,
            runtime,
            finish: Some(finish_tx),
            tasks: Mutex::new(Vec::new()),
        }
    }

    pub fn open(
        &self,
        node: &str,
        backend: &Backend,
        role: Role,
        cmd_rx: Receiver<ToBroker>,
        news: Sender<FromBroker>,
    ) {
        let Some(handle) = &self.handle else {
            let _ = news.send(FromBroker::State(LinkState::Down {
                error: "the broker runtime could not start".to_owned(),
            }));
            return;
        };
        let (tx, cmds) = mpsc::unbounded_channel();
        if let Some(ctl) = &self.ctl {
            let _ = ctl.send(Ctl::Add(cmd_rx, tx));
        }
        let io = LinkIo {
            node: node.to_owned(),
            cmds,
            news,
            stop: self.stop.subscribe(),
            last: LinkState::Connecting,
        };
        let _guard = handle.enter();
        let task = match backend {
            Backend::RabbitMq(cfg) => {
                let shared = shared(&self.pool.rabbit, &cfg.url, rabbitmq::Shared::start);
                handle.spawn(rabbitmq::run_link(io, shared, cfg.clone(), role))
            }
            Backend::Nats(cfg) => {
                let shared = shared(&self.pool.nats, &cfg.url, nats::Shared::start);
                handle.spawn(nats::run_core_link(io, shared, cfg.clone(), role))
            }
            Backend::JetStream(cfg) => {
                let shared = shared(&self.pool.jetstream, &cfg.url, nats::Shared::start);
                handle.spawn(nats::run_jetstream_link(io, shared, cfg.clone(), role))
            }
        };
        let mut tasks = lock(&self.tasks);
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
    }

    /// Stops the forwarder (after it handed over what the nodes sent), then the links and
    /// the connections; `join` waits for the threads.
    pub fn finish(mut self, timeout: Duration, join: bool) {
        self.ctl = None;
        // The forwarder hands back its ends of the command channels: kept open until the
        // links are done, so they tell a stopping hub from a node that dropped its link.
        let mut _open_ends = Vec::new();
        if let Some(forwarder) = self.forwarder.take()
            && join
        {
            _open_ends = forwarder.join().unwrap_or_default();
        }
        let tasks = std::mem::take(&mut *lock(&self.tasks));
        if let Some(finish) = self.finish.take() {
            let _ = finish.send(Finish { timeout, tasks });
        }
        if let Some(runtime) = self.runtime.take()
            && join
        {
            let _ = runtime.join();
        }
    }
}

/// Hands the nodes' commands over to the link tasks. Every round collects all that is
/// waiting; when that includes anything but a publish it looks once more, so a publish a
/// node sent before an ack (on any link) is never handed over after that ack. Publishes
/// of a round go first.
fn forward(ctl: Receiver<Ctl>) -> Vec<mpsc::UnboundedSender<ToBroker>> {
    let mut links: Vec<(Receiver<ToBroker>, mpsc::UnboundedSender<ToBroker>)> = Vec::new();
    let mut stopping = false;
    loop {
        if !stopping {
            let mut sel = Select::new();
            sel.recv(&ctl);
            for (rx, _) in &links {
                sel.recv(rx);
            }
            let _ = sel.ready();
        }
        loop {
            match ctl.try_recv() {
                Ok(Ctl::Add(rx, tx)) => links.push((rx, tx)),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    stopping = true;
                    break;
                }
            }
        }
        let mut dead = vec![false; links.len()];
        let mut batch = Vec::new();
        sweep(&links, &mut batch, &mut dead);
        if batch
            .iter()
            .any(|(_, c)| !matches!(c, ToBroker::Publish { .. }))
        {
            sweep(&links, &mut batch, &mut dead);
        }
        let (publishes, others): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .partition(|(_, c)| matches!(c, ToBroker::Publish { .. }));
        for (i, cmd) in publishes.into_iter().chain(others) {
            if links[i].1.send(cmd).is_err() {
                dead[i] = true;
            }
        }
        if stopping {
            return links.into_iter().map(|(_, tx)| tx).collect();
        }
        let mut i = 0;
        links.retain(|(_, tx)| {
            let keep = !dead[i] && !tx.is_closed();
            i += 1;
            keep
        });
    }
}

fn sweep(
    links: &[(Receiver<ToBroker>, mpsc::UnboundedSender<ToBroker>)],
    batch: &mut Vec<(usize, ToBroker)>,
    dead: &mut [bool],
) {
    for (i, (rx, _)) in links.iter().enumerate() {
        loop {
            match rx.try_recv() {
                Ok(cmd) => batch.push((i, cmd)),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    dead[i] = true;
                    break;
                }
            }
        }
    }
}

/// Runs one request to the broker of `backend` on a runtime of its own, given at most
/// `timeout`; `work` gets the masked URL for its messages.
fn ask_broker<T, F>(
    backend: &Backend,
    timeout: Duration,
    work: impl FnOnce(String) -> F,
) -> Result<T, String>
where
    F: std::future::Future<Output = Result<T, String>>,
{
    install_crypto();
    let url = mask_url(backend.url());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the broker runtime: {e}"))?;
    let work = work(url.clone());
    let result = rt.block_on(async {
        match tokio::time::timeout(timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "{} at {url}: no answer within {} ms",
                backend.kind_name(),
                timeout.as_millis()
            )),
        }
    });
    rt.shutdown_timeout(Duration::from_millis(100));
    result
}

/// See [`super::remove`].
pub(super) fn remove(backend: &Backend, timeout: Duration) -> Result<(), String> {
    ask_broker(backend, timeout, |url| async move {
        match backend {
            Backend::RabbitMq(cfg) => rabbitmq::remove(cfg, &url).await,
            Backend::Nats(_) => Ok(()),
            Backend::JetStream(cfg) => nats::remove_stream(cfg, &url).await,
        }
    })
}

/// See [`super::check`].
pub(super) fn check(backend: &Backend, timeout: Duration) -> Result<String, String> {
    ask_broker(backend, timeout, |url| async move {
        match backend {
            Backend::RabbitMq(cfg) => rabbitmq::check(cfg, &url).await,
            Backend::Nats(cfg) => nats::check_core(cfg, &url).await,
            Backend::JetStream(cfg) => nats::check_jetstream(cfg, &url).await,
        }
    })
}
