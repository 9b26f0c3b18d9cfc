//! CPU cost of live mode: the online shop (sample-graphs/online-shop.json) runs on the engine
//! thread ([`EngineHandle`]) at `Pace::Realtime`, while this thread reads the newest snapshot
//! 20 times a second as the live view does. The process's user + system CPU time
//! (/proc/self/stat) and the engine thread's time on CPU (/proc/self/task/TID/schedstat) are
//! read before and after, and printed as a share of one core.
//!
//! Three phases, each with a fresh simulation: paused (the engine only publishes snapshots),
//! 1× for 20 s of wall time (the graph's busy part: its clients stop after about 73 s of
//! simulated time), and 10× for 6 s (60 s simulated, before the end).
//!
//! `cargo bench -p flowbench-engine --bench live_cpu`. Not a criterion benchmark: it prints
//! its numbers and exits. Linux only (reads /proc).

use std::hint::black_box;
use std::time::{Duration, Instant};

use flowbench_engine::Graph;
use flowbench_engine::runtime::{Command, EngineHandle, Pace, RunState, Snapshot};

const ONLINE_SHOP_JSON: &str = include_str!("../../sample-graphs/online-shop.json");
/// How often the live view looks for a new snapshot.
const UI_PERIOD: Duration = Duration::from_millis(50);
/// Share of one core live mode at 1× may cost at most, in percent.
const TARGET_PERCENT: f64 = 5.0;

/// CPU time of the whole process (user + system), from /proc/self/stat, in seconds.
fn process_cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat")
        .expect("/proc/self/stat is readable (this benchmark needs Linux)");
    // Fields after the command name (which is in parentheses and may hold spaces): state is
    // field 3, utime 14 and stime 15, in clock ticks.
    let rest = &stat[stat.rfind(')').expect("a command name in parentheses") + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> f64 {
        fields[i - 3]
            .parse::<f64>()
            .expect("utime and stime are numbers")
    };
    (ticks(14) + ticks(15)) / clock_ticks_per_sec()
}

/// `sysconf(_SC_CLK_TCK)`: the kernel hands it to every process in its auxiliary vector
/// (`AT_CLKTCK`, type 17); 100 on Linux when it cannot be read.
fn clock_ticks_per_sec() -> f64 {
    const AT_CLKTCK: u64 = 17;
    let auxv = std::fs::read("/proc/self/auxv").unwrap_or_default();
    auxv.chunks_exact(16)
        .map(|pair| {
            let word = |b: &[u8]| u64::from_ne_bytes(b.try_into().expect("8 bytes"));
            (word(&pair[..8]), word(&pair[8..]))
        })
        .find(|&(key, _)| key == AT_CLKTCK)
        .map_or(100.0, |(_, value)| value as f64)
}

/// Time thread `tid` of this process has spent on a CPU, from its schedstat, in seconds.
fn thread_cpu_secs(tid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat"))
        .expect("the thread's schedstat is readable");
    let ns: u64 = stat
        .split_whitespace()
        .next()
        .and_then(|f| f.parse().ok())
        .expect("schedstat starts with the time on CPU in ns");
    ns as f64 / 1e9
}

/// The id of the engine's thread ("flowbench-engine", which the kernel cuts to 15 bytes).
fn engine_tid() -> u32 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let found = std::fs::read_dir("/proc/self/task")
            .expect("/proc/self/task is readable")
            .filter_map(Result::ok)
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
            .find(|tid| {
                std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"))
                    .is_ok_and(|comm| "flowbench-engine".starts_with(comm.trim()))
            });
        if let Some(tid) = found {
            return tid;
        }
        assert!(Instant::now() < deadline, "the engine thread shows up");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// CPU clocks read at one moment.
#[derive(Debug, Clone, Copy)]
struct Clocks {
    wall: Instant,
    process: f64,
    engine: f64,
    main: f64,
}

fn clocks(engine: u32) -> Clocks {
    Clocks {
        wall: Instant::now(),
        process: process_cpu_secs(),
        engine: thread_cpu_secs(engine),
        main: thread_cpu_secs(std::process::id()),
    }
}

/// One phase: the online shop at `pace`, running (or paused) for `wall` while this thread
/// reads snapshots like the live view.
fn phase(name: &str, pace: Pace, run: bool, wall: Duration) -> f64 {
    let graph = Graph::from_json_str(ONLINE_SHOP_JSON).expect("the online shop parses");
    let handle = EngineHandle::start(&graph, None, pace).expect("the online shop is valid");
    let engine = engine_tid();
    // Let the thread settle into its loop before the clocks start.
    std::thread::sleep(Duration::from_millis(200));
    let _ = handle.latest();

    let before = clocks(engine);
    if run {
        handle.send(Command::Run);
    }
    let mut last: Option<Snapshot> = None;
    let mut snapshots = 0u32;
    let mut next = before.wall;
    while next.duration_since(before.wall) < wall {
        next += UI_PERIOD;
        if let Some(snapshot) = handle.latest() {
            snapshots += 1;
            // What a frame reads of it.
            black_box((snapshot.report.events, snapshot.report.nodes.len()));
            last = Some(snapshot);
        }
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    let after = clocks(engine);
    drop(handle);

    let wall_secs = after.wall.duration_since(before.wall).as_secs_f64();
    let percent = |cpu: f64| cpu / wall_secs * 100.0;
    let process = percent(after.process - before.process);
    let last = last.expect("the engine publishes snapshots");
    let pace_text = match pace {
        Pace::Max => "max".to_owned(),
        Pace::Realtime { speed } => format!("{speed}×"),
    };
    println!(
        "{name}: online shop at {pace_text}{}, {wall_secs:.1} s wall",
        if run { "" } else { " (paused)" }
    );
    println!(
        "  simulated {:.1} s, {} events ({:.0} events/s of wall time), state {:?}, \
         {snapshots} snapshots read",
        last.report.sim_time_ms / 1000.0,
        last.report.events,
        last.report.events as f64 / wall_secs,
        last.state,
    );
    println!(
        "  CPU: process {process:.2} % of one core (user + system, /proc/self/stat); \
         engine thread {:.2} %, reading thread {:.2} % (schedstat)",
        percent(after.engine - before.engine),
        percent(after.main - before.main),
    );
    if run {
        assert_eq!(
            last.state,
            RunState::Running,
            "the phase ends inside the graph's busy part"
        );
    }
    process
}

fn main() {
    // `cargo bench` passes `--bench`; a name filter that does not match skips the run.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(filter) = args.iter().find(|a| !a.starts_with('-'))
        && !"live_cpu".contains(filter.as_str())
    {
        return;
    }
    // Without `--bench` (`cargo test --benches`), a one-second check that the phases run.
    let measuring = args.iter().any(|a| a == "--bench");
    let secs = |full: u64| Duration::from_secs(if measuring { full } else { 1 });
    println!(
        "live_cpu: clock ticks {} per second; {} CPUs",
        clock_ticks_per_sec(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    phase("paused", Pace::Realtime { speed: 1.0 }, false, secs(5));
    let live = phase("1x", Pace::Realtime { speed: 1.0 }, true, secs(20));
    phase("10x", Pace::Realtime { speed: 10.0 }, true, secs(6));
    if measuring {
        println!(
            "target: live mode at 1× under {TARGET_PERCENT:.0} % of one core for the online \
             shop: {live:.2} % ({})",
            if live < TARGET_PERCENT {
                "met"
            } else {
                "NOT met"
            }
        );
    }
}
