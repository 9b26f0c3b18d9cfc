//! NATS subjects and JetStream streams through async-nats: one client per URL and kind.
//!
//! The client reconnects by itself (subscriptions survive); its events become link states.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer, stream};
use async_nats::{Client, ConnectOptions, Event, HeaderMap};
use futures_util::stream::FuturesUnordered;
use futures_util::{Stream, StreamExt};
use tokio::sync::watch;

use super::hub::{ConnState, LinkIo, give_up};
use super::{
    Envelope, FromBroker, HEADER_CREATED, HEADER_ID, HEADER_KEY, LinkState, Role, ToBroker,
    backoff, decode_envelope, encode_body, mask_url, now_unix_ns,
};
use crate::model::{JetStreamBackend, NatsBackend};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Deliveries a JetStream consumer has out without an acknowledgement, at most.
const MAX_IN_FLIGHT: i64 = 256;

/// The client of one NATS URL.
#[derive(Clone)]
pub(super) struct Shared {
    state: watch::Receiver<ConnState<Client>>,
}

impl Shared {
    /// Starts the manager task (inside the hub's runtime).
    pub fn start(url: &str) -> Shared {
        let (tx, state) = watch::channel(ConnState::Connecting);
        tokio::spawn(manage(url.to_owned(), Arc::new(tx)));
        Shared { state }
    }

    pub async fn close(&self) {
        let current = self.state.borrow().clone();
        if let ConnState::Up(client, _) = current {
            let _ = client.flush().await;
            let _ = client.drain().await;
        }
    }
}

fn options(shown: &str) -> ConnectOptions {
    let _ = shown;
    ConnectOptions::new()
        .name("flowbench")
        .connection_timeout(CONNECT_TIMEOUT)
}

async fn manage(url: String, tx: Arc<watch::Sender<ConnState<Client>>>) {
    let shown = mask_url(&url);
    let client_cell: Arc<OnceLock<Client>> = Arc::new(OnceLock::new());
    let last_error: Arc<Mutex<String>> = Arc::new(Mutex::new(String::new()));
    let mut attempt = 0u32;
    loop {
        let (ev_tx, ev_cell, ev_error, ev_shown) = (
            tx.clone(),
            client_cell.clone(),
            last_error.clone(),
            shown.clone(),
        );
        let (rc_tx, rc_error, rc_shown) = (tx.clone(), last_error.clone(), shown.clone());
        let opts = options(&shown)
            .max_reconnects(None)
            .event_callback(move |event| {
                let (tx, cell, error, shown) = (
                    ev_tx.clone(),
                    ev_cell.clone(),
                    ev_error.clone(),
                    ev_shown.clone(),
                );
                async move {
                    match event {
                        Event::Connected => {
                            if let Some(client) = cell.get() {
                                tx.send_replace(ConnState::Up(client.clone(), 1));
                            }
                        }
                        Event::Disconnected | Event::Closed => {
                            let mut message = format!("NATS at {shown}: {event}");
                            let detail = error.lock().map(|e| e.clone()).unwrap_or_default();
                            if !detail.is_empty() {
                                message = format!("{message} ({detail})");
                            }
                            tx.send_replace(ConnState::Down(message));
                        }
                        Event::ServerError(e) => {
                            if let Ok(mut last) = error.lock() {
                                *last = e.to_string();
                            }
                        }
                        Event::ClientError(e) => {
                            if let Ok(mut last) = error.lock() {
                                *last = e.to_string();
                            }
                        }
                        _ => {}
                    }
                }
            })
            .reconnect_delay_callback(move |attempts| {
                let attempt = u32::try_from(attempts).unwrap_or(u32::MAX).max(1);
                let wait = backoff(attempt);
                let detail = rc_error.lock().map(|e| e.clone()).unwrap_or_default();
                let error = if detail.is_empty() {
                    format!("NATS at {rc_shown}: disconnected")
                } else {
                    format!("NATS at {rc_shown}: disconnected ({detail})")
                };
                rc_tx.send_replace(ConnState::Retrying {
                    attempt,
                    in_ms: wait.as_millis() as u64,
                    error,
                });
                wait
            });
        let error = match opts.connect(url.as_str()).await {
            Ok(client) => {
                let _ = client_cell.set(client.clone());
                tx.send_replace(ConnState::Up(client, 1));
                return;
            }
            Err(e) => format!("cannot connect to NATS at {shown}: {e}"),
        };
        attempt += 1;
        let wait = backoff(attempt);
        tx.send_replace(ConnState::Down(error.clone()));
        tx.send_replace(ConnState::Retrying {
            attempt,
            in_ms: wait.as_millis() as u64,
            error,
        });
        if tx.is_closed() {
            return;
        }
        tokio::time::sleep(wait).await;
    }
}

fn headers(envelope: &Envelope) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(HEADER_ID, envelope.id.to_string().as_str());
    headers.insert(
        HEADER_CREATED,
        envelope.created_unix_ns.to_string().as_str(),
    );
    if let Some(key) = envelope.key {
        headers.insert(HEADER_KEY, key.to_string().as_str());
    }
    headers
}

fn envelope_of(message: &async_nats::Message) -> Envelope {
    let get = |name: &str| -> Option<u64> {
        message
            .headers
            .as_ref()?
            .get(name)?
            .as_str()
            .trim()
            .parse()
            .ok()
    };
    let key = get(HEADER_KEY).and_then(|k| u32::try_from(k).ok());
    decode_envelope(get(HEADER_ID), get(HEADER_CREATED), key, &message.payload)
}

/// Waits for the client, handing commands that arrive meanwhile to `offline`. `None`: the
/// link is over (node gone or hub stopped; `stopped` tells which).
async fn wait_up(
    io: &mut LinkIo,
    conn_rx: &mut watch::Receiver<ConnState<Client>>,
    mut offline: impl FnMut(ToBroker),
) -> Option<Client> {
    loop {
        let current = conn_rx.borrow_and_update().clone();
        io.conn_state(&current);
        if let ConnState::Up(client, _) = current {
            return Some(client);
        }
        tokio::select! {
            changed = conn_rx.changed() => if changed.is_err() { return None; },
            cmd = io.cmds.recv() => match cmd {
                Some(cmd) => offline(cmd),
                None => return None,
            },
            _ = LinkIo::stopped(&mut io.stop) => return None,
        }
    }
}

/// Reports a change of the shared client while a session runs.
fn follow(io: &mut LinkIo, conn_rx: &mut watch::Receiver<ConnState<Client>>) {
    let current = conn_rx.borrow_and_update().clone();
    match current {
        ConnState::Up(..) => io.state(LinkState::Up),
        other => io.conn_state(&other),
    }
}

type FlushFuture = Pin<Box<dyn Future<Output = (Vec<u64>, Result<(), String>)> + Send>>;

/// A core NATS topic. Core NATS has no acknowledgements: a publish is confirmed once the
/// client has flushed it to the server, and Ack/Nack do nothing (a message is delivered
/// once to every subscriber that is connected when it is published).
pub(super) async fn run_core_link(mut io: LinkIo, shared: Shared, cfg: NatsBackend, role: Role) {
    let mut conn_rx = shared.state.clone();
    let mut waiting: BTreeMap<u64, Envelope> = BTreeMap::new();
    let mut next_tag = 1u64;
    let mut link_attempt = 0u32;
    'sessions: loop {
        let offline = |cmd| {
            if let ToBroker::Publish { seq, envelope } = cmd {
                waiting.insert(seq, envelope);
            }
        };
        let Some(client) = wait_up(&mut io, &mut conn_rx, offline).await else {
            if io.deadline().is_some() {
                while let Ok(cmd) = io.cmds.try_recv() {
                    if let ToBroker::Publish { seq, envelope } = cmd {
                        waiting.insert(seq, envelope);
                    }
                }
                give_up(
                    &io,
                    waiting.keys(),
                    "not published: the NATS connection was down at shutdown",
                );
            }
            return;
        };
        let mut sub = None;
        if !role.consumers.is_empty() {
            match client.subscribe(cfg.subject.clone()).await {
                Ok(s) => sub = Some(s),
                Err(e) => {
                    link_attempt += 1;
                    let error = format!("NATS subject '{}': cannot subscribe: {e}", cfg.subject);
                    let w = &mut waiting;
                    if !io
                        .retry_wait(link_attempt, error, |cmd| {
                            if let ToBroker::Publish { seq, envelope } = cmd {
                                w.insert(seq, envelope);
                            }
                        })
                        .await
                    {
                        if io.deadline().is_some() {
                            give_up(
                                &io,
                                waiting.keys(),
                                "not published: the link was failing at shutdown",
                            );
                        }
                        return;
                    }
                    continue 'sessions;
                }
            }
        }
        link_attempt = 0;
        io.state(LinkState::Up);
        let mut unflushed: Vec<u64> = Vec::new();
        let mut flushing: BTreeSet<u64> = BTreeSet::new();
        let mut flushes: FuturesUnordered<FlushFuture> = FuturesUnordered::new();
        for (seq, envelope) in std::mem::take(&mut waiting) {
            match core_publish(&client, &cfg.subject, &envelope).await {
                Ok(()) => unflushed.push(seq),
                Err(error) => give_up(&io, [&seq], &error),
            }
        }
        let stopped = loop {
            if !unflushed.is_empty() && io.cmds.is_empty() {
                flushes.push(flush(&client, &mut unflushed, &mut flushing));
            }
            tokio::select! {
                _ = LinkIo::stopped(&mut io.stop) => break true,
                changed = conn_rx.changed() => {
                    if changed.is_err() { break false; }
                    follow(&mut io, &mut conn_rx);
                }
                cmd = io.cmds.recv() => match cmd {
                    Some(ToBroker::Publish { seq, envelope }) => {
                        match core_publish(&client, &cfg.subject, &envelope).await {
                            Ok(()) => unflushed.push(seq),
                            Err(error) => give_up(&io, [&seq], &error),
                        }
                    }
                    Some(_) => {}
                    None => break false,
                },
                Some((seqs, result)) = flushes.next(), if !flushes.is_empty() => {
                    confirm_flush(&io, &mut flushing, &seqs, result);
                }
                message = next_message(&mut sub) => match message {
                    Some(message) => {
                        let tag = next_tag;
                        next_tag += 1;
                        if !io.send(FromBroker::Delivery {
                            consumer: 0,
                            tag,
                            redelivered: false,
                            stream_seq: None,
                            envelope: envelope_of(&message),
                        }) {
                            break false;
                        }
                    }
                    None => {
                        // Publishes already handed to the client are flushed by it; they
                        // are confirmed by the flushes still running or given up here.
                        give_up(&io, unflushed.iter().chain(flushing.iter()), "the NATS subscription ended before the flush");
                        unflushed.clear();
                        flushing.clear();
                        link_attempt += 1;
                        let error = format!("NATS subject '{}': the subscription ended", cfg.subject);
                        let w = &mut waiting;
                        if !io.retry_wait(link_attempt, error, |cmd| {
                            if let ToBroker::Publish { seq, envelope } = cmd {
                                w.insert(seq, envelope);
                            }
                        }).await {
                            if io.deadline().is_some() {
                                give_up(&io, waiting.keys(), "not published: the link was failing at shutdown");
                            }
                            return;
                        }
                        continue 'sessions;
                    }
                },
            }
        };
        if let Some(mut s) = sub.take() {
            let _ = s.unsubscribe().await;
        }
        if !stopped {
            return;
        }
        // Shutdown: publish what the node already sent, then flush until the deadline.
        while let Ok(cmd) = io.cmds.try_recv() {
            if let ToBroker::Publish { seq, envelope } = cmd {
                match core_publish(&client, &cfg.subject, &envelope).await {
                    Ok(()) => unflushed.push(seq),
                    Err(error) => give_up(&io, [&seq], &error),
                }
            }
        }
        if !unflushed.is_empty() {
            flushes.push(flush(&client, &mut unflushed, &mut flushing));
        }
        let deadline = io.deadline().unwrap_or_else(tokio::time::Instant::now);
        while !flushes.is_empty() {
            match tokio::time::timeout_at(deadline, flushes.next()).await {
                Ok(Some((seqs, result))) => confirm_flush(&io, &mut flushing, &seqs, result),
                _ => break,
            }
        }
        give_up(
            &io,
            flushing.iter(),
            "not flushed to the NATS server before shutdown",
        );
        return;
    }
}

async fn core_publish(client: &Client, subject: &str, envelope: &Envelope) -> Result<(), String> {
    client
        .publish_with_headers(
            subject.to_owned(),
            headers(envelope),
            encode_body(envelope).into(),
        )
        .await
        .map_err(|e| format!("publish on '{subject}': {e}"))
}

/// One flush confirms every publish handed to the client before it.
fn flush(client: &Client, unflushed: &mut Vec<u64>, flushing: &mut BTreeSet<u64>) -> FlushFuture {
    let seqs = std::mem::take(unflushed);
    flushing.extend(seqs.iter().copied());
    let client = client.clone();
    Box::pin(async move { (seqs, client.flush().await.map_err(|e| e.to_string())) })
}

fn confirm_flush(
    io: &LinkIo,
    flushing: &mut BTreeSet<u64>,
    seqs: &[u64],
    result: Result<(), String>,
) {
    for &seq in seqs {
        if !flushing.remove(&seq) {
            continue;
        }
        io.send(FromBroker::Confirmed {
            seq,
            ok: result.is_ok(),
            error: result.as_ref().err().cloned(),
        });
    }
}

async fn next_message(sub: &mut Option<async_nats::Subscriber>) -> Option<async_nats::Message> {
    match sub {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

/// `[A-Za-z0-9_-]` only: other characters become `_`.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The subject a JetStream log publishes on: a trailing wildcard token becomes the node id.
fn publish_subject(subject: &str, node: &str) -> String {
    match subject.rsplit_once('.') {
        Some((head, "*" | ">")) => format!("{head}.{}", sanitize(node)),
        None if subject == "*" || subject == ">" => sanitize(node),
        _ => subject.to_owned(),
    }
}

fn durable_name(stream: &str, node: &str, consumer: &str) -> String {
    sanitize(&format!("{stream}-{node}-{consumer}"))
}

type AckFuture =
    Pin<Box<dyn Future<Output = (u64, Result<jetstream::publish::PublishAck, String>)> + Send>>;
type Messages = jetstream::consumer::pull::Stream;

struct Js {
    cfg: JetStreamBackend,
    subject: String,
    durables: Vec<String>,
    /// Publishes not yet acknowledged by the stream, by seq.
    pending: BTreeMap<u64, Envelope>,
    /// Deliveries not yet acknowledged: tag → (consumer, acker). Acks go by the message's
    /// reply subject, so they stay valid across reconnections.
    tags: HashMap<u64, (usize, jetstream::message::Acker)>,
    next_tag: u64,
    /// Makes `Nats-Msg-Id` unique to this link, so a publish sent twice is stored once.
    id_prefix: String,
    /// Per consumer: where its durable starts when (re)created, and whether a replay still
    /// has to recreate it.
    starts: Vec<consumer::DeliverPolicy>,
    recreate: Vec<bool>,
    /// Acks and nacks that arrived while the link was down: applied once it is back (they
    /// go by the message's reply subject, so they stay valid).
    deferred: Vec<ToBroker>,
}

impl Js {
    /// The link stops for good: at shutdown, the publishes still pending (those still in
    /// the command queue too) are answered as not published, with `why`.
    fn give_up_at_shutdown(&mut self, io: &mut LinkIo, why: &str) {
        if io.deadline().is_none() {
            return;
        }
        while let Ok(cmd) = io.cmds.try_recv() {
            self.offline(cmd);
        }
        give_up(io, self.pending.keys(), why);
    }

    /// A command while the link is down.
    fn offline(&mut self, cmd: ToBroker) {
        match cmd {
            ToBroker::Publish { seq, envelope } => {
                self.pending.insert(seq, envelope);
            }
            ToBroker::Replay { consumer, from_seq } => {
                self.plan_replay(consumer, from_seq);
            }
            ack => self.deferred.push(ack),
        }
    }

    /// Forgets the consumer's outstanding deliveries and marks it for recreation at
    /// `from_seq`; `false` if there is no such consumer.
    fn plan_replay(&mut self, consumer: usize, from_seq: u64) -> bool {
        if consumer >= self.durables.len() {
            return false;
        }
        self.tags.retain(|_, (c, _)| *c != consumer);
        self.starts[consumer] = consumer::DeliverPolicy::ByStartSequence {
            start_sequence: from_seq.max(1),
        };
        self.recreate[consumer] = true;
        true
    }
}

/// A JetStream log: the stream is created if missing; one durable pull consumer per local
/// consumer, explicit acks, at most [`MAX_IN_FLIGHT`] unacknowledged deliveries each.
pub(super) async fn run_jetstream_link(
    mut io: LinkIo,
    shared: Shared,
    cfg: JetStreamBackend,
    role: Role,
) {
    let mut st = Js {
        subject: publish_subject(&cfg.subject, &io.node),
        durables: role
            .consumers
            .iter()
            .map(|c| durable_name(&cfg.stream, &io.node, c))
            .collect(),
        cfg,
        pending: BTreeMap::new(),
        tags: HashMap::new(),
        next_tag: 1,
        id_prefix: format!("flowbench-{}-{}", std::process::id(), now_unix_ns()),
        starts: vec![consumer::DeliverPolicy::All; role.consumers.len()],
        recreate: vec![false; role.consumers.len()],
        deferred: Vec::new(),
    };
    let mut conn_rx = shared.state.clone();
    let mut link_attempt = 0u32;
    loop {
        let Some(client) = wait_up(&mut io, &mut conn_rx, |cmd| st.offline(cmd)).await else {
            st.give_up_at_shutdown(
                &mut io,
                "not published: the NATS connection was down at shutdown",
            );
            return;
        };
        match js_session(&mut io, &mut st, &mut conn_rx, client).await {
            Ok(()) => return,
            Err(error) => {
                link_attempt += 1;
                let error = format!("JetStream stream '{}': {error}", st.cfg.stream);
                if !io
                    .retry_wait(link_attempt, error, |cmd| st.offline(cmd))
                    .await
                {
                    st.give_up_at_shutdown(
                        &mut io,
                        "not published: the link was failing at shutdown",
                    );
                    return;
                }
            }
        }
    }
}

async fn open_consumer(
    stream: &jetstream::stream::Stream,
    name: &str,
    deliver_policy: consumer::DeliverPolicy,
) -> Result<Messages, String> {
    let config = consumer::pull::Config {
        durable_name: Some(name.to_owned()),
        deliver_policy,
        ack_policy: consumer::AckPolicy::Explicit,
        max_ack_pending: MAX_IN_FLIGHT,
        ..Default::default()
    };
    let consumer: consumer::PullConsumer = stream
        .get_or_create_consumer(name, config)
        .await
        .map_err(|e| format!("consumer '{name}': {e}"))?;
    consumer
        .messages()
        .await
        .map_err(|e| format!("consumer '{name}': {e}"))
}

async fn js_publish(
    js: &jetstream::Context,
    st: &Js,
    seq: u64,
    envelope: &Envelope,
) -> Result<AckFuture, String> {
    let mut h = headers(envelope);
    h.insert("Nats-Msg-Id", format!("{}-{seq}", st.id_prefix).as_str());
    let ack = js
        .publish_with_headers(st.subject.clone(), h, encode_body(envelope).into())
        .await
        .map_err(|e| format!("publish on '{}': {e}", st.subject))?;
    Ok(Box::pin(async move {
        (seq, ack.await.map_err(|e| e.to_string()))
    }))
}

/// Polls the consumers' message streams, first ready first.
async fn next_js_message(
    streams: &mut [Option<Messages>],
) -> (
    usize,
    Option<Result<jetstream::Message, jetstream::consumer::pull::MessagesError>>,
) {
    if streams.iter().all(Option::is_none) {
        return std::future::pending().await;
    }
    std::future::poll_fn(|cx| {
        for (i, s) in streams.iter_mut().enumerate() {
            if let Some(s) = s
                && let std::task::Poll::Ready(item) = Pin::new(s).poll_next(cx)
            {
                return std::task::Poll::Ready((i, item));
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// One connected session; `Ok` ends the link, `Err` is retried.
async fn js_session(
    io: &mut LinkIo,
    st: &mut Js,
    conn_rx: &mut watch::Receiver<ConnState<Client>>,
    client: Client,
) -> Result<(), String> {
    let js = jetstream::new(client);
    let mut stream = js
        .get_or_create_stream(stream::Config {
            name: st.cfg.stream.clone(),
            subjects: vec![st.cfg.subject.clone()],
            ..Default::default()
        })
        .await
        .map_err(|e| format!("cannot get or create the stream: {e}"))?;
    let mut streams: Vec<Option<Messages>> = Vec::new();
    for (i, name) in st.durables.iter().enumerate() {
        if st.recreate[i] {
            let _ = stream.delete_consumer(name).await;
        }
        streams.push(Some(open_consumer(&stream, name, st.starts[i]).await?));
        st.recreate[i] = false;
    }
    io.state(LinkState::Up);
    io.send(FromBroker::Depth(stream.cached_info().state.messages));

    let mut acks: FuturesUnordered<AckFuture> = FuturesUnordered::new();
    for cmd in std::mem::take(&mut st.deferred) {
        js_command(st, &js, &stream, &mut streams, &mut acks, cmd).await?;
    }
    for (&seq, envelope) in &st.pending {
        let ack = js_publish(&js, st, seq, envelope).await?;
        acks.push(ack);
    }
    let mut depth_tick = tokio::time::interval(Duration::from_secs(1));
    depth_tick.tick().await;
    loop {
        tokio::select! {
            _ = LinkIo::stopped(&mut io.stop) => break,
            changed = conn_rx.changed() => {
                if changed.is_err() { return Ok(()); }
                follow(io, conn_rx);
            }
            cmd = io.cmds.recv() => match cmd {
                Some(cmd) => js_command(st, &js, &stream, &mut streams, &mut acks, cmd).await?,
                None => return Ok(()),
            },
            Some((seq, result)) = acks.next(), if !acks.is_empty() => {
                js_confirmed(io, st, seq, result)?;
            }
            (i, item) = next_js_message(&mut streams) => match item {
                Some(Ok(message)) => {
                    let (stream_seq, redelivered) = match message.info() {
                        Ok(info) => (Some(info.stream_sequence), info.delivered > 1),
                        Err(_) => (None, false),
                    };
                    let (message, acker) = message.split();
                    let tag = st.next_tag;
                    st.next_tag += 1;
                    st.tags.insert(tag, (i, acker));
                    if !io.send(FromBroker::Delivery {
                        consumer: i,
                        tag,
                        redelivered,
                        stream_seq,
                        envelope: envelope_of(&message),
                    }) {
                        return Ok(());
                    }
                }
                Some(Err(e)) => return Err(format!("consumer '{}': {e}", st.durables[i])),
                None => return Err(format!("consumer '{}': deliveries ended", st.durables[i])),
            },
            _ = depth_tick.tick() => {
                match stream.info().await {
                    Ok(info) => { io.send(FromBroker::Depth(info.state.messages)); }
                    Err(e) => return Err(format!("stream info: {e}")),
                }
            }
        }
    }

    // Shutdown: carry out what the node already sent, give unacknowledged deliveries back,
    // then wait for the stream's acks until the deadline.
    while let Ok(cmd) = io.cmds.try_recv() {
        if js_command(st, &js, &stream, &mut streams, &mut acks, cmd)
            .await
            .is_err()
        {
            break;
        }
    }
    streams.clear();
    for (_, (_, acker)) in st.tags.drain() {
        let _ = acker.ack_with(AckKind::Nak(None)).await;
    }
    let deadline = io.deadline().unwrap_or_else(tokio::time::Instant::now);
    while !acks.is_empty() {
        match tokio::time::timeout_at(deadline, acks.next()).await {
            Ok(Some((seq, result))) => {
                if js_confirmed(io, st, seq, result).is_err() {
                    break;
                }
            }
            _ => break,
        }
    }
    give_up(
        io,
        st.pending.keys(),
        "not acknowledged by the stream before shutdown",
    );
    Ok(())
}

async fn js_command(
    st: &mut Js,
    js: &jetstream::Context,
    stream: &jetstream::stream::Stream,
    streams: &mut [Option<Messages>],
    acks: &mut FuturesUnordered<AckFuture>,
    cmd: ToBroker,
) -> Result<(), String> {
    match cmd {
        ToBroker::Publish { seq, envelope } => {
            let ack = js_publish(js, st, seq, &envelope).await;
            st.pending.insert(seq, envelope);
            acks.push(ack?);
        }
        ToBroker::Ack { tag, .. } => {
            if let Some((_, acker)) = st.tags.remove(&tag) {
                // A lost ack only means a redelivery after the ack wait.
                let _ = acker.ack().await;
            }
        }
        ToBroker::Nack { tag, .. } => {
            if let Some((_, acker)) = st.tags.remove(&tag) {
                let _ = acker.ack_with(AckKind::Nak(None)).await;
            }
        }
        ToBroker::Replay { consumer, from_seq } => {
            if !st.plan_replay(consumer, from_seq) {
                return Ok(());
            }
            // Until it is recreated nothing more comes from the old durable; if this fails,
            // the next session recreates it.
            streams[consumer] = None;
            let name = &st.durables[consumer];
            let _ = stream.delete_consumer(name).await;
            streams[consumer] = Some(open_consumer(stream, name, st.starts[consumer]).await?);
            st.recreate[consumer] = false;
        }
    }
    Ok(())
}

/// Reports a stream ack; a failed one (timeout, no stream reachable) fails the session, and
/// the publish goes out again (with the same `Nats-Msg-Id`) once the link is back.
fn js_confirmed(
    io: &LinkIo,
    st: &mut Js,
    seq: u64,
    result: Result<jetstream::publish::PublishAck, String>,
) -> Result<(), String> {
    match result {
        Ok(_) => {
            if st.pending.remove(&seq).is_some() {
                io.send(FromBroker::Confirmed {
                    seq,
                    ok: true,
                    error: None,
                });
            }
            Ok(())
        }
        Err(e) => Err(format!("publish {seq} not acknowledged: {e}")),
    }
}

/// See [`super::remove`].
pub(super) async fn remove_stream(cfg: &JetStreamBackend, shown: &str) -> Result<(), String> {
    let client = options(shown)
        .connect(cfg.url.as_str())
        .await
        .map_err(|e| format!("cannot connect to NATS at {shown}: {e}"))?;
    let js = jetstream::new(client.clone());
    let result = js
        .delete_stream(&cfg.stream)
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "JetStream at {shown}: cannot delete stream '{}': {e}",
                cfg.stream
            )
        });
    let _ = client.drain().await;
    result
}

/// See [`super::check`].
pub(super) async fn check_core(cfg: &NatsBackend, shown: &str) -> Result<String, String> {
    let client = options(shown)
        .connect(cfg.url.as_str())
        .await
        .map_err(|e| format!("cannot connect to NATS at {shown}: {e}"))?;
    let version = client.server_info().version;
    let _ = client.drain().await;
    Ok(format!("NATS at {shown}: connected (server {version})"))
}

/// See [`super::check`].
pub(super) async fn check_jetstream(cfg: &JetStreamBackend, shown: &str) -> Result<String, String> {
    let client = options(shown)
        .connect(cfg.url.as_str())
        .await
        .map_err(|e| format!("cannot connect to NATS at {shown}: {e}"))?;
    let js = jetstream::new(client.clone());
    let result = match js.get_stream(&cfg.stream).await {
        Ok(mut stream) => match stream.info().await {
            Ok(info) => Ok(format!(
                "stream '{}': {} messages, subjects {}",
                cfg.stream,
                info.state.messages,
                info.config.subjects.join(", ")
            )),
            Err(e) => Err(format!(
                "JetStream at {shown}: cannot read stream '{}': {e}",
                cfg.stream
            )),
        },
        Err(e) if e.to_string().to_lowercase().contains("not found") => {
            Err(format!("stream '{}' does not exist on {shown}", cfg.stream))
        }
        Err(e) => Err(format!(
            "JetStream at {shown}: cannot look up stream '{}': {e}",
            cfg.stream
        )),
    };
    let _ = client.drain().await;
    result
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn broker_jetstream_names() {
        assert_eq!(publish_subject("orders.>", "log 1"), "orders.log_1");
        assert_eq!(publish_subject("orders.*", "log"), "orders.log");
        assert_eq!(publish_subject("orders.created", "log"), "orders.created");
        assert_eq!(durable_name("S.1", "log", "c 2"), "S_1-log-c_2");
    }
}
