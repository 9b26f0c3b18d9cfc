//! RabbitMQ queues through lapin: one connection per URL, channels per link.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, Event};
use tokio::sync::{Notify, watch};

use super::hub::{ConnState, LinkIo, give_up};
use super::{
    Envelope, FromBroker, HEADER_CREATED, HEADER_ID, HEADER_KEY, LinkState, Role, ToBroker,
    backoff, decode_envelope, encode_body, mask_url,
};
use crate::model::RabbitMqBackend;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

type Conn = Arc<Connection>;

/// The connection to one RabbitMQ URL, kept up by its manager task.
#[derive(Clone)]
pub(super) struct Shared {
    state: watch::Receiver<ConnState<Conn>>,
    /// A link saw an error that may be the connection's: the manager checks.
    suspect: Arc<Notify>,
}

impl Shared {
    /// Starts the manager task (inside the hub's runtime).
    pub fn start(url: &str) -> Shared {
        let (tx, state) = watch::channel(ConnState::Connecting);
        let suspect = Arc::new(Notify::new());
        tokio::spawn(manage(url.to_owned(), tx, suspect.clone()));
        Shared { state, suspect }
    }

    pub async fn close(&self) {
        let current = self.state.borrow().clone();
        if let ConnState::Up(conn, _) = current {
            let _ = conn.close(200, "flowbench shutdown".into()).await;
        }
    }
}

async fn manage(url: String, tx: watch::Sender<ConnState<Conn>>, suspect: Arc<Notify>) {
    let shown = mask_url(&url);
    let mut attempt = 0u32;
    let mut generation = 0u64;
    loop {
        let props = ConnectionProperties::default().with_connection_name("flowbench".into());
        let error =
            match tokio::time::timeout(CONNECT_TIMEOUT, Connection::connect(&url, props)).await {
                Ok(Ok(conn)) => {
                    attempt = 0;
                    generation += 1;
                    let conn = Arc::new(conn);
                    let mut events = conn.events_listener();
                    if tx.send(ConnState::Up(conn.clone(), generation)).is_err() {
                        return;
                    }
                    let mut tick = tokio::time::interval(Duration::from_secs(1));
                    let error = loop {
                        tokio::select! {
                            ev = events.next() => match ev {
                                Some(Event::Error(e)) => break e.to_string(),
                                None => break "connection closed".to_owned(),
                                Some(_) => {}
                            },
                            _ = suspect.notified() => {}
                            _ = tick.tick() => {}
                        }
                        if !conn.status().connected() {
                            break "connection lost".to_owned();
                        }
                    };
                    format!("RabbitMQ at {shown}: {error}")
                }
                Ok(Err(e)) => format!("cannot connect to RabbitMQ at {shown}: {e}"),
                Err(_) => format!(
                    "cannot connect to RabbitMQ at {shown}: no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                ),
            };
        attempt += 1;
        let wait = backoff(attempt);
        let _ = tx.send(ConnState::Down(error.clone()));
        if tx
            .send(ConnState::Retrying {
                attempt,
                in_ms: wait.as_millis() as u64,
                error,
            })
            .is_err()
        {
            return;
        }
        tokio::time::sleep(wait).await;
    }
}

fn headers(envelope: &Envelope) -> FieldTable {
    let mut table = FieldTable::default();
    // AMQP tables have no unsigned 64-bit type RabbitMQ accepts: the bits travel as i64.
    table.insert(HEADER_ID.into(), AMQPValue::LongLongInt(envelope.id as i64));
    table.insert(
        HEADER_CREATED.into(),
        AMQPValue::LongLongInt(envelope.created_unix_ns as i64),
    );
    if let Some(key) = envelope.key {
        table.insert(HEADER_KEY.into(), AMQPValue::LongLongInt(i64::from(key)));
    }
    table
}

fn header_u64(table: Option<&FieldTable>, name: &str) -> Option<u64> {
    let value = table?.inner().get(name)?;
    Some(match value {
        AMQPValue::LongLongInt(v) => *v as u64,
        AMQPValue::LongInt(v) => *v as u64,
        AMQPValue::LongUInt(v) => u64::from(*v),
        AMQPValue::ShortInt(v) => *v as u64,
        AMQPValue::ShortUInt(v) => u64::from(*v),
        AMQPValue::ShortShortInt(v) => *v as u64,
        AMQPValue::ShortShortUInt(v) => u64::from(*v),
        AMQPValue::Timestamp(v) => *v,
        AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).parse().ok()?,
        AMQPValue::ShortString(s) => s.as_str().parse().ok()?,
        _ => return None,
    })
}

fn envelope_of(properties: &BasicProperties, data: &[u8]) -> Envelope {
    let table = properties.headers().as_ref();
    let id = header_u64(table, HEADER_ID);
    let key = header_u64(table, HEADER_KEY).and_then(|k| u32::try_from(k).ok());
    decode_envelope(id, header_u64(table, HEADER_CREATED), key, data)
}

type ConfirmFuture = Pin<Box<dyn Future<Output = (u64, lapin::Result<Confirmation>)> + Send>>;

/// How a session ended.
enum End {
    /// The link is over (node gone or hub stopped).
    Stop,
    Failed(String),
}

struct Rabbit {
    cfg: RabbitMqBackend,
    role: Role,
    /// Publishes not yet confirmed, by seq: published again after a reconnection.
    pending: BTreeMap<u64, Envelope>,
    next_tag: u64,
}

/// One node's link: channels on the shared connection, re-made after any failure.
pub(super) async fn run_link(mut io: LinkIo, shared: Shared, cfg: RabbitMqBackend, role: Role) {
    let mut st = Rabbit {
        cfg,
        role,
        pending: BTreeMap::new(),
        next_tag: 1,
    };
    let mut conn_rx = shared.state.clone();
    let mut link_attempt = 0u32;
    loop {
        // Wait for the connection, keeping publishes for later.
        let (conn, generation) = loop {
            let current = conn_rx.borrow_and_update().clone();
            io.conn_state(&current);
            if let ConnState::Up(conn, generation) = current {
                break (conn, generation);
            }
            tokio::select! {
                changed = conn_rx.changed() => if changed.is_err() { return; },
                cmd = io.cmds.recv() => match cmd {
                    Some(cmd) => offline(&mut st, cmd),
                    None => return,
                },
                _ = LinkIo::stopped(&mut io.stop) => {
                    drain_offline(&mut io, &mut st);
                    give_up(&io, st.pending.keys(), "not published: the broker connection was down at shutdown");
                    return;
                }
            }
        };
        match session(&mut io, &mut st, &conn).await {
            End::Stop => return,
            // The channel failed, not the connection: retry the link on its own.
            End::Failed(error) if conn.status().connected() => {
                let error = format!("RabbitMQ queue '{}': {error}", st.cfg.queue);
                link_attempt += 1;
                let st_ref = &mut st;
                if !io
                    .retry_wait(link_attempt, error, |cmd| offline(st_ref, cmd))
                    .await
                {
                    if !io.closed() {
                        drain_offline(&mut io, &mut st);
                        give_up(
                            &io,
                            st.pending.keys(),
                            "not published: the link was failing at shutdown",
                        );
                    }
                    return;
                }
            }
            // The connection is lost: its manager reports why and reconnects.
            End::Failed(_) => {
                link_attempt = 0;
                shared.suspect.notify_one();
                // Wait for the manager to notice and move past this connection.
                while matches!(&*conn_rx.borrow(), ConnState::Up(_, g) if *g == generation) {
                    tokio::select! {
                        changed = conn_rx.changed() => if changed.is_err() { return; },
                        _ = tokio::time::sleep(Duration::from_millis(200)) => shared.suspect.notify_one(),
                    }
                }
            }
        }
    }
}

fn offline(st: &mut Rabbit, cmd: ToBroker) {
    // Deliveries of a lost channel are back in the queue: their acks no longer apply.
    if let ToBroker::Publish { seq, envelope } = cmd {
        st.pending.insert(seq, envelope);
    }
}

fn drain_offline(io: &mut LinkIo, st: &mut Rabbit) {
    while let Ok(cmd) = io.cmds.try_recv() {
        offline(st, cmd);
    }
}

async fn publish(
    channel: &Channel,
    queue: &str,
    durable: bool,
    seq: u64,
    envelope: &Envelope,
) -> lapin::Result<ConfirmFuture> {
    let mut props = BasicProperties::default().with_headers(headers(envelope));
    if durable {
        props = props.with_delivery_mode(2);
    }
    if envelope.payload.is_some() {
        props = props.with_content_type("application/json".into());
    }
    let confirm = channel
        .basic_publish(
            ShortString::from(""),
            ShortString::from(queue),
            BasicPublishOptions::default(),
            &encode_body(envelope),
            props,
        )
        .await?;
    Ok(Box::pin(async move { (seq, confirm.await) }))
}

async fn session(io: &mut LinkIo, st: &mut Rabbit, conn: &Connection) -> End {
    let queue = st.cfg.queue.clone();
    let durable = st.cfg.durable;
    let declare = QueueDeclareOptions {
        durable,
        ..QueueDeclareOptions::default()
    };
    let setup = async {
        let channel = conn.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let declared = channel
            .queue_declare(queue.as_str().into(), declare, FieldTable::default())
            .await?;
        let consumer = if st.role.consumers.is_empty() {
            None
        } else {
            let cch = conn.create_channel().await?;
            cch.basic_qos(st.cfg.prefetch.max(1), BasicQosOptions::default())
                .await?;
            let consumer = cch
                .basic_consume(
                    queue.as_str().into(),
                    ShortString::from(format!("flowbench-{}", io.node)),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            Some((cch, consumer))
        };
        lapin::Result::Ok((channel, declared.message_count(), consumer))
    };
    let (channel, depth, mut consumer) = match setup.await {
        Ok(x) => x,
        Err(e) => return End::Failed(e.to_string()),
    };
    io.state(LinkState::Up);
    io.send(FromBroker::Depth(u64::from(depth)));

    let mut confirms: FuturesUnordered<ConfirmFuture> = FuturesUnordered::new();
    for (&seq, envelope) in &st.pending {
        match publish(&channel, &queue, durable, seq, envelope).await {
            Ok(f) => confirms.push(f),
            Err(e) => return End::Failed(e.to_string()),
        }
    }
    let mut ackers: HashMap<u64, lapin::Acker> = HashMap::new();
    let mut depth_tick = tokio::time::interval(Duration::from_secs(1));
    depth_tick.tick().await;

    let failure = loop {
        tokio::select! {
            _ = LinkIo::stopped(&mut io.stop) => break None,
            cmd = io.cmds.recv() => match cmd {
                Some(cmd) => if let Err(e) = command(st, &channel, &mut ackers, &mut confirms, cmd).await {
                    break Some(e.to_string());
                },
                None => {
                    // The node is gone: give its deliveries back and stop quietly.
                    if let Some((cch, _)) = &consumer {
                        let _ = cch.close(200, "link closed".into()).await;
                    }
                    let _ = channel.close(200, "link closed".into()).await;
                    return End::Stop;
                }
            },
            Some((seq, result)) = confirms.next(), if !confirms.is_empty() => {
                if let Err(e) = confirmed(io, st, seq, result) {
                    break Some(e);
                }
            }
            delivery = next_delivery(&mut consumer) => match delivery {
                Some(Ok(d)) => {
                    let tag = st.next_tag;
                    st.next_tag += 1;
                    let envelope = envelope_of(&d.properties, &d.data);
                    ackers.insert(tag, d.acker);
                    if !io.send(FromBroker::Delivery {
                        consumer: 0,
                        tag,
                        redelivered: d.redelivered,
                        stream_seq: None,
                        envelope,
                    }) {
                        return End::Stop;
                    }
                }
                Some(Err(e)) => break Some(e.to_string()),
                None => break Some("the broker cancelled the consumer".to_owned()),
            },
            _ = depth_tick.tick() => {
                let passive = QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() };
                match channel.queue_declare(queue.as_str().into(), passive, FieldTable::default()).await {
                    Ok(q) => { io.send(FromBroker::Depth(u64::from(q.message_count()))); }
                    Err(e) => break Some(e.to_string()),
                }
            }
        }
    };
    if let Some(error) = failure {
        return End::Failed(error);
    }

    // Shutdown: carry out what the node already sent, give unacknowledged deliveries
    // back, then wait for the confirms until the deadline.
    while let Ok(cmd) = io.cmds.try_recv() {
        if command(st, &channel, &mut ackers, &mut confirms, cmd)
            .await
            .is_err()
        {
            break;
        }
    }
    if let Some((cch, _)) = consumer.take() {
        let _ = cch.close(200, "flowbench shutdown".into()).await;
    }
    let deadline = io.deadline().unwrap_or_else(tokio::time::Instant::now);
    while !confirms.is_empty() {
        match tokio::time::timeout_at(deadline, confirms.next()).await {
            Ok(Some((seq, result))) => {
                if confirmed(io, st, seq, result).is_err() {
                    break;
                }
            }
            Ok(None) | Err(_) => break,
        }
    }
    give_up(
        io,
        st.pending.keys(),
        "not confirmed by the broker before shutdown",
    );
    let _ = channel.close(200, "flowbench shutdown".into()).await;
    End::Stop
}

async fn next_delivery(
    consumer: &mut Option<(Channel, lapin::Consumer)>,
) -> Option<lapin::Result<lapin::message::Delivery>> {
    match consumer {
        Some((_, c)) => c.next().await,
        None => std::future::pending().await,
    }
}

async fn command(
    st: &mut Rabbit,
    channel: &Channel,
    ackers: &mut HashMap<u64, lapin::Acker>,
    confirms: &mut FuturesUnordered<ConfirmFuture>,
    cmd: ToBroker,
) -> lapin::Result<()> {
    match cmd {
        ToBroker::Publish { seq, envelope } => {
            let f = publish(channel, &st.cfg.queue, st.cfg.durable, seq, &envelope);
            st.pending.insert(seq, envelope.clone());
            let confirm = f.await?;
            confirms.push(confirm);
        }
        ToBroker::Ack { tag, .. } => {
            if let Some(acker) = ackers.remove(&tag) {
                acker.ack(BasicAckOptions::default()).await?;
            }
        }
        ToBroker::Nack { tag, .. } => {
            if let Some(acker) = ackers.remove(&tag) {
                acker
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..BasicNackOptions::default()
                    })
                    .await?;
            }
        }
        // Queues have no positions to go back to.
        ToBroker::Replay { .. } => {}
    }
    Ok(())
}

/// Reports a confirm; an error (the channel or connection failed) leaves the publish
/// pending for the next session.
fn confirmed(
    io: &LinkIo,
    st: &mut Rabbit,
    seq: u64,
    result: lapin::Result<Confirmation>,
) -> Result<(), String> {
    let (ok, error) = match result {
        Ok(Confirmation::Ack(None) | Confirmation::NotRequested) => (true, None),
        Ok(Confirmation::Ack(Some(_))) => (false, Some("returned by the broker (unroutable)")),
        Ok(Confirmation::Nack(_)) => (false, Some("refused by the broker (nack)")),
        Err(e) => return Err(e.to_string()),
    };
    if st.pending.remove(&seq).is_some() {
        io.send(FromBroker::Confirmed {
            seq,
            ok,
            error: error.map(str::to_owned),
        });
    }
    Ok(())
}

/// Runs `work` on a channel of a short-lived connection (for `check` and `remove`), then
/// closes the connection.
async fn with_channel<T, F: std::future::Future<Output = Result<T, String>>>(
    url: &str,
    shown: &str,
    work: impl FnOnce(Channel) -> F,
) -> Result<T, String> {
    let conn = Connection::connect(url, ConnectionProperties::default())
        .await
        .map_err(|e| format!("cannot connect to RabbitMQ at {shown}: {e}"))?;
    let result = match conn.create_channel().await {
        Ok(channel) => work(channel).await,
        Err(e) => Err(format!("RabbitMQ at {shown}: cannot open a channel: {e}")),
    };
    let _ = conn.close(200, "flowbench".into()).await;
    result
}

/// See [`super::remove`].
pub(super) async fn remove(cfg: &RabbitMqBackend, shown: &str) -> Result<(), String> {
    with_channel(&cfg.url, shown, |channel| async move {
        channel
            .queue_delete(cfg.queue.as_str().into(), QueueDeleteOptions::default())
            .await
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "RabbitMQ at {shown}: cannot delete queue '{}': {e}",
                    cfg.queue
                )
            })
    })
    .await
}

/// See [`super::check`].
pub(super) async fn check(cfg: &RabbitMqBackend, shown: &str) -> Result<String, String> {
    with_channel(&cfg.url, shown, |channel| async move {
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        match channel
            .queue_declare(cfg.queue.as_str().into(), passive, FieldTable::default())
            .await
        {
            Ok(q) => Ok(format!(
                "queue '{}': {} ready, {} consumers",
                cfg.queue,
                q.message_count(),
                q.consumer_count()
            )),
            Err(e) if e.to_string().contains("NOT_FOUND") || e.to_string().contains("404") => {
                Err(format!("queue '{}' does not exist on {shown}", cfg.queue))
            }
            Err(e) => Err(format!(
                "RabbitMQ at {shown}: cannot look up queue '{}': {e}",
                cfg.queue
            )),
        }
    })
    .await
}
