//! `saga`: a saga orchestrator on a call path. Each call it answers starts an instance that
//! calls the steps' actions in order; when all succeed the caller gets Ok. When a step
//! fails (Failed or Rejected), the compensations of the steps done before it are called in
//! reverse order (steps without one are skipped, the failed step is not undone), then the
//! caller gets Failed. A compensation that fails marks the instance `compensation_failed`;
//! the remaining compensations still run. Instances run concurrently, without limit.
//! A crash abandons running instances (the orchestrator's state is not durable): their
//! callers get Failed and no compensation runs. Stopped, it starts no instance (calls wait);
//! a `fail` fault answers that share of calls Failed without starting them.

use std::collections::VecDeque;

use crate::metrics::Latency;
use crate::model::SagaConfig;
use crate::report::{NodeReport, StepReport};
use crate::sim::core::{Ctx, Fate, FaultState, Message, NodeId, Outcome, Time};

use super::Behavior;

/// One step of a saga, resolved to nodes.
pub struct Step {
    pub name: String,
    pub action: NodeId,
    pub compensation: Option<NodeId>,
}

/// Which call an instance waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The action of step `k`.
    Action(usize),
    /// The compensation of step `k`.
    Compensation(usize),
}

struct Instance {
    caller: NodeId,
    call_id: u64,
    msg: Message,
    started: Time,
    phase: Phase,
    /// One of its compensations failed: it ends as `compensation_failed`.
    compensation_failed: bool,
}

/// A place for one running instance. The generation is bumped whenever the instance ends,
/// so a late reply meant for an earlier instance in the slot is recognised and ignored.
#[derive(Default)]
struct Slot {
    generation: u32,
    instance: Option<Instance>,
}

pub struct Saga {
    steps: Vec<Step>,
    /// Per step: how its calls ended.
    step_counts: Vec<StepReport>,
    slots: Vec<Slot>,
    free_slots: Vec<u32>,
    /// Calls that came while the saga was stopped, started when it resumes.
    backlog: VecDeque<(NodeId, u64, Message)>,
    in_: u64,
    started: u64,
    completed: u64,
    compensated: u64,
    compensation_failed: u64,
    /// Callers answered Failed: compensated, compensation_failed, abandoned in a crash, or
    /// refused (crashed, `fail` fault).
    failed: u64,
    latency: Latency,
}

/// The saga's call id: the slot in the low half, its generation in the high half.
fn call_id(slot: u32, generation: u32) -> u64 {
    (u64::from(generation) << 32) | u64::from(slot)
}

impl Saga {
    pub fn new(config: &SagaConfig, steps: Vec<Step>) -> Saga {
        debug_assert_eq!(config.steps.len(), steps.len());
        let step_counts = steps
            .iter()
            .map(|s| StepReport {
                name: s.name.clone(),
                ..Default::default()
            })
            .collect();
        Saga {
            steps,
            step_counts,
            slots: Vec::new(),
            free_slots: Vec::new(),
            backlog: VecDeque::new(),
            in_: 0,
            started: 0,
            completed: 0,
            compensated: 0,
            compensation_failed: 0,
            failed: 0,
            latency: Latency::default(),
        }
    }

    /// Starts an instance for a call, or refuses it under a `fail` fault.
    fn begin(&mut self, ctx: &mut Ctx, caller: NodeId, caller_id: u64, msg: Message) {
        if ctx.chance(ctx.faults().fail_rate) {
            self.failed += 1;
            ctx.reply(caller, caller_id, Outcome::Failed);
            return;
        }
        self.started += 1;
        let slot = self.free_slots.pop().unwrap_or_else(|| {
            self.slots.push(Slot::default());
            (self.slots.len() - 1) as u32
        });
        self.slots[slot as usize].instance = Some(Instance {
            caller,
            call_id: caller_id,
            msg,
            started: ctx.now(),
            phase: Phase::Action(0),
            compensation_failed: false,
        });
        self.act(ctx, slot, 0);
    }

    /// Calls the action of step `k`, or answers Ok when every step is done.
    fn act(&mut self, ctx: &mut Ctx, slot: u32, k: usize) {
        let Some(step) = self.steps.get(k) else {
            let instance = self.end(slot);
            self.completed += 1;
            self.latency.record(ctx.now() - instance.started);
            ctx.reply(instance.caller, instance.call_id, Outcome::Ok);
            return;
        };
        let target = step.action;
        self.call(ctx, slot, Phase::Action(k), target);
    }

    /// Calls the next compensation among steps `below - 1 .. 0`, or answers Failed when
    /// none is left.
    fn compensate(&mut self, ctx: &mut Ctx, slot: u32, below: usize) {
        let next = (0..below)
            .rev()
            .find_map(|j| self.steps[j].compensation.map(|c| (j, c)));
        if let Some((j, target)) = next {
            self.call(ctx, slot, Phase::Compensation(j), target);
            return;
        }
        let instance = self.end(slot);
        if instance.compensation_failed {
            self.compensation_failed += 1;
        } else {
            self.compensated += 1;
        }
        self.failed += 1;
        ctx.reply(instance.caller, instance.call_id, Outcome::Failed);
    }

    fn call(&mut self, ctx: &mut Ctx, slot: u32, phase: Phase, target: NodeId) {
        let s = &mut self.slots[slot as usize];
        let instance = s.instance.as_mut().expect("running instance");
        instance.phase = phase;
        let msg = instance.msg.clone();
        ctx.call(target, call_id(slot, s.generation), msg);
    }

    /// Frees the slot of a finished instance and returns the instance.
    fn end(&mut self, slot: u32) -> Instance {
        let s = &mut self.slots[slot as usize];
        s.generation = s.generation.wrapping_add(1);
        self.free_slots.push(slot);
        s.instance.take().expect("running instance")
    }

    /// Starts waiting calls while the saga is up and running.
    fn drain_backlog(&mut self, ctx: &mut Ctx) {
        while !ctx.faults().halted() {
            let Some((caller, id, msg)) = self.backlog.pop_front() else {
                break;
            };
            self.begin(ctx, caller, id, msg);
        }
    }

    /// A crash: running instances are abandoned and every waiting caller gets Failed.
    fn crash(&mut self, ctx: &mut Ctx) {
        for slot in 0..self.slots.len() as u32 {
            if self.slots[slot as usize].instance.is_some() {
                let instance = self.end(slot);
                self.failed += 1;
                ctx.reply(instance.caller, instance.call_id, Outcome::Failed);
            }
        }
        for (caller, id, _) in std::mem::take(&mut self.backlog) {
            self.failed += 1;
            ctx.reply(caller, id, Outcome::Failed);
        }
    }
}

impl Behavior for Saga {
    fn start(&mut self, ctx: &mut Ctx) {
        // Answers calls only; never takes messages.
        ctx.set_free(0);
    }

    fn on_arrive(&mut self, ctx: &mut Ctx, _from: NodeId, _msg: Message, _token: u32) {
        // Validation refuses message edges into a saga.
        self.in_ += 1;
        ctx.fate(Fate::Lost, 1);
    }

    fn on_call(&mut self, ctx: &mut Ctx, caller: NodeId, call_id: u64, msg: Message) {
        self.in_ += 1;
        let faults = ctx.faults();
        if faults.crashed {
            self.failed += 1;
            ctx.reply(caller, call_id, Outcome::Failed);
        } else if faults.stopped || !self.backlog.is_empty() {
            self.backlog.push_back((caller, call_id, msg));
        } else {
            self.begin(ctx, caller, call_id, msg);
        }
    }

    fn on_reply(&mut self, ctx: &mut Ctx, id: u64, outcome: Outcome) {
        let (slot, generation) = (id as u32, (id >> 32) as u32);
        let Some(Slot {
            generation: current,
            instance: Some(instance),
        }) = self.slots.get_mut(slot as usize)
        else {
            return;
        };
        if *current != generation {
            return; // meant for an instance abandoned in a crash
        }
        let ok = outcome == Outcome::Ok;
        match instance.phase {
            Phase::Action(k) if ok => {
                self.step_counts[k].ok += 1;
                self.act(ctx, slot, k + 1);
            }
            Phase::Action(k) => {
                self.step_counts[k].failed += 1;
                self.compensate(ctx, slot, k);
            }
            Phase::Compensation(j) => {
                if ok {
                    self.step_counts[j].compensated += 1;
                } else {
                    self.step_counts[j].compensation_failed += 1;
                    instance.compensation_failed = true;
                }
                self.compensate(ctx, slot, j);
            }
        }
    }

    fn on_faults(&mut self, ctx: &mut Ctx, before: FaultState) {
        if ctx.faults().crashed && !before.crashed {
            self.crash(ctx);
        }
        self.drain_backlog(ctx);
    }

    fn held(&self) -> u64 {
        // Requests belong to their clients until answered.
        0
    }

    fn latency(&self) -> Option<&Latency> {
        Some(&self.latency)
    }

    fn report(&self, _now: Time) -> NodeReport {
        NodeReport {
            kind: "saga".into(),
            in_: self.in_,
            out: self.completed,
            failed: Some(self.failed),
            started: Some(self.started),
            completed: Some(self.completed),
            compensated: Some(self.compensated),
            compensation_failed: Some(self.compensation_failed),
            latency_ms: Some(self.latency.summary()),
            steps: Some(self.step_counts.clone()),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Graph;
    use crate::report::Report;
    use crate::sim::{RunOptions, Simulation, run};
    use crate::validate::validate;

    /// A client calling saga `sg` `limit` times (one call per second from 1 s, a 60 s
    /// timeout). `services` are `(id, service_ms, failure_rate)`, each a one-worker service
    /// with a constant service time that the saga has an edge to.
    fn saga_graph(steps: &str, services: &[(&str, f64, f64)], limit: u64, faults: &str) -> Graph {
        let nodes: String = services
            .iter()
            .map(|(id, ms, fail)| {
                format!(
                    r#",{{"id": "{id}", "kind": "service", "config": {{"service_time":
                       {{"dist": "const", "ms": {ms}}}, "failure_rate": {fail}}}}}"#
                )
            })
            .collect();
        let edges: String = services
            .iter()
            .map(|(id, _, _)| format!(r#",{{"from": "sg", "to": "{id}"}}"#))
            .collect();
        Graph::from_json_str(&format!(
            r#"{{"format": "flowbench.graph", "version": 1, "seed": 9,
              "nodes": [
                {{"id": "c", "kind": "client", "config": {{"rate_per_sec": 1,
                  "arrival": "constant", "limit": {limit}, "timeout_ms": 60000}}}},
                {{"id": "sg", "kind": "saga", "config": {{"steps": {steps}}}}}
                {nodes}],
              "edges": [{{"from": "c", "to": "sg"}} {edges}],
              "faults": [{faults}]}}"#
        ))
        .unwrap()
    }

    fn run_to_end(graph: &Graph) -> Report {
        let report = run(graph, &RunOptions::default()).unwrap();
        assert!(report.conservation.ok, "{:?}", report.conservation);
        report
    }

    const THREE_STEPS: &str = r#"[
        {"name": "order", "action": "create", "compensation": "cancel"},
        {"name": "payment", "action": "charge", "compensation": "refund"},
        {"name": "shipping", "action": "ship"}]"#;

    fn three_step_services(
        charge_fail: f64,
        ship_fail: f64,
        refund_fail: f64,
    ) -> Vec<(&'static str, f64, f64)> {
        vec![
            ("create", 10.0, 0.0),
            ("charge", 20.0, charge_fail),
            ("ship", 30.0, ship_fail),
            ("cancel", 5.0, 0.0),
            ("refund", 7.0, refund_fail),
        ]
    }

    /// When every step succeeds, each saga calls every action once, no compensation, and
    /// answers Ok after the sum of the steps' times.
    #[test]
    fn all_steps_ok_completes() {
        let r = run_to_end(&saga_graph(
            THREE_STEPS,
            &three_step_services(0.0, 0.0, 0.0),
            50,
            "",
        ));
        let sg = &r.nodes["sg"];
        assert_eq!(
            (sg.in_, sg.out, sg.started, sg.completed, sg.compensated),
            (50, 50, Some(50), Some(50), Some(0))
        );
        assert_eq!((sg.failed, sg.compensation_failed), (Some(0), Some(0)));
        for action in ["create", "charge", "ship"] {
            assert_eq!(r.nodes[action].in_, 50, "{action}");
        }
        for compensation in ["cancel", "refund"] {
            assert_eq!(r.nodes[compensation].in_, 0, "{compensation}");
        }
        let steps = sg.steps.as_ref().unwrap();
        let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["order", "payment", "shipping"]);
        assert!(steps.iter().all(|s| s.ok == 50 && s.failed == 0));
        let latency = sg.latency_ms.unwrap();
        assert_eq!((latency.count, latency.mean, latency.max), (50, 60.0, 60.0));
        assert_eq!(r.nodes["c"].ok, Some(50));
        assert_eq!(r.totals.delivered, 50);
    }

    /// A failure at the last step undoes the earlier steps in reverse order: the refund is
    /// called when the shipment fails (at 1.060 s) and the cancel only once the refund has
    /// answered (1.067 s); the caller gets Failed when the cancel has answered (1.072 s).
    #[test]
    fn failure_compensates_done_steps_in_reverse() {
        let graph = saga_graph(THREE_STEPS, &three_step_services(0.0, 1.0, 0.0), 1, "");
        let mut sim = Simulation::new(&graph, None).unwrap();
        let mut at = |ms: f64| {
            sim.run_until_ms(ms);
            let r = sim.report(0.0);
            let n = |id: &str| r.nodes[id].in_;
            (n("refund"), n("cancel"), r.nodes["c"].failed.unwrap())
        };
        assert_eq!(at(1059.9), (0, 0, 0));
        assert_eq!(at(1060.0), (1, 0, 0));
        assert_eq!(at(1066.9), (1, 0, 0));
        assert_eq!(at(1067.0), (1, 1, 0));
        assert_eq!(at(1071.9), (1, 1, 0));
        assert_eq!(at(1072.0), (1, 1, 1));

        let r = run_to_end(&saga_graph(
            THREE_STEPS,
            &three_step_services(0.0, 1.0, 0.0),
            40,
            "",
        ));
        let sg = &r.nodes["sg"];
        assert_eq!(
            (sg.started, sg.completed, sg.compensated),
            (Some(40), Some(0), Some(40))
        );
        assert_eq!((r.nodes["refund"].in_, r.nodes["cancel"].in_), (40, 40));
        let steps = sg.steps.as_ref().unwrap();
        assert_eq!((steps[2].ok, steps[2].failed), (0, 40));
        assert_eq!((steps[1].compensated, steps[0].compensated), (40, 40));
        assert_eq!(r.nodes["c"].failed, Some(40));
    }

    /// Steps without a compensation are skipped, and the failed step itself is not undone
    /// (its compensation is never called).
    #[test]
    fn skips_steps_without_compensation_and_the_failed_step() {
        let steps = r#"[
            {"name": "a", "action": "a", "compensation": "undo-a"},
            {"name": "b", "action": "b"},
            {"name": "c", "action": "cc", "compensation": "undo-c"},
            {"name": "d", "action": "d", "compensation": "undo-d"}]"#;
        let services = [
            ("a", 1.0, 0.0),
            ("b", 1.0, 0.0),
            ("cc", 1.0, 0.0),
            ("d", 1.0, 1.0),
            ("undo-a", 1.0, 0.0),
            ("undo-c", 1.0, 0.0),
            ("undo-d", 1.0, 0.0),
        ];
        // One saga: d fails at 1.004 s, undo-c runs 1.004..1.005, undo-a 1.005..1.006.
        let graph = saga_graph(steps, &services, 1, "");
        let mut sim = Simulation::new(&graph, None).unwrap();
        sim.run_until_ms(1004.5);
        let r = sim.report(0.0);
        assert_eq!((r.nodes["undo-c"].in_, r.nodes["undo-a"].in_), (1, 0));
        sim.run_to_idle(None);
        let r = sim.report(0.0);
        assert_eq!(r.nodes["undo-a"].in_, 1);
        assert_eq!(r.nodes["undo-d"].in_, 0);
        assert_eq!(r.nodes["sg"].compensated, Some(1));
        assert!(r.conservation.ok);
    }

    /// A compensation that fails counts the saga `compensation_failed` (not compensated);
    /// the earlier compensations still run and the caller gets Failed.
    #[test]
    fn failing_compensation_counts_and_the_rest_still_run() {
        let r = run_to_end(&saga_graph(
            THREE_STEPS,
            &three_step_services(0.0, 1.0, 1.0),
            30,
            "",
        ));
        let sg = &r.nodes["sg"];
        assert_eq!(
            (sg.compensated, sg.compensation_failed, sg.failed),
            (Some(0), Some(30), Some(30))
        );
        assert_eq!(
            (r.nodes["refund"].in_, r.nodes["refund"].failed),
            (30, Some(30))
        );
        assert_eq!(r.nodes["cancel"].in_, 30);
        let steps = sg.steps.as_ref().unwrap();
        assert_eq!(
            (steps[1].compensation_failed, steps[0].compensated),
            (30, 30)
        );
        assert_eq!(r.nodes["c"].failed, Some(30));
    }

    /// With random failures at every step, each saga ends completed or fully compensated,
    /// and each compensation is called exactly once per saga that failed at a later step.
    #[test]
    fn random_failures_are_each_compensated_once() {
        let steps = r#"[
            {"name": "order", "action": "create", "compensation": "cancel"},
            {"name": "payment", "action": "charge", "compensation": "refund"},
            {"name": "shipping", "action": "ship", "compensation": "recall"}]"#;
        let services = [
            ("create", 10.0, 0.1),
            ("charge", 20.0, 0.2),
            ("ship", 30.0, 0.3),
            ("cancel", 5.0, 0.0),
            ("refund", 7.0, 0.0),
            ("recall", 7.0, 0.0),
        ];
        let r = run_to_end(&saga_graph(steps, &services, 1000, ""));
        let sg = &r.nodes["sg"];
        let st = sg.steps.as_ref().unwrap();
        let (started, completed) = (sg.started.unwrap(), sg.completed.unwrap());
        assert_eq!(started, 1000);
        assert_eq!(sg.compensated.unwrap(), started - completed);
        assert_eq!(completed, st[2].ok);
        assert_eq!(r.nodes["charge"].in_, st[0].ok);
        assert_eq!(r.nodes["ship"].in_, st[1].ok);
        assert_eq!(r.nodes["cancel"].in_, st[1].failed + st[2].failed);
        assert_eq!(r.nodes["refund"].in_, st[2].failed);
        assert_eq!(r.nodes["recall"].in_, 0);
        assert!(st.iter().all(|s| s.failed > 20), "{st:?}");
        assert_eq!(r.nodes["c"].ok, Some(completed));
    }

    /// A crashed saga answers Failed: running instances are abandoned (late step replies
    /// are ignored), calls during the crash are refused, and it works again afterwards.
    #[test]
    fn crash_abandons_running_sagas() {
        // Sagas start each second and take 60 ms; the crash at 3.030 s hits the third.
        let graph = saga_graph(
            THREE_STEPS,
            &three_step_services(0.0, 0.0, 0.0),
            10,
            r#"{"node": "sg", "kind": "crash", "at_ms": 3030, "until_ms": 5500}"#,
        );
        let r = run_to_end(&graph);
        let sg = &r.nodes["sg"];
        // Calls at 3.03 (abandoned), 4 and 5 (refused); the other seven complete.
        assert_eq!((sg.in_, sg.started, sg.completed), (10, Some(8), Some(7)));
        assert_eq!((sg.failed, sg.compensated), (Some(3), Some(0)));
        assert_eq!((r.nodes["c"].ok, r.nodes["c"].failed), (Some(7), Some(3)));
        assert_eq!(r.nodes["ship"].in_, 7);
    }

    /// A step naming a node that does not answer calls is refused, through the edge.
    #[test]
    fn step_must_be_callable() {
        let graph = Graph::from_json_str(
            r#"{"format": "flowbench.graph", "version": 1,
              "nodes": [{"id": "c", "kind": "client"},
                {"id": "sg", "kind": "saga", "config": {"steps": [
                  {"name": "x", "action": "q"}]}},
                {"id": "q", "kind": "queue"}, {"id": "s", "kind": "sink"}],
              "edges": [{"from": "c", "to": "sg"}, {"from": "sg", "to": "q"},
                        {"from": "q", "to": "s"}]}"#,
        )
        .unwrap();
        let problems: Vec<String> = validate(&graph)
            .iter()
            .filter(|d| d.is_error())
            .map(ToString::to_string)
            .collect();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("(sg -> q)") && p.contains("a queue does not answer calls")),
            "{problems:?}"
        );
    }
}
