use std::sync::atomic::AtomicUsize;
use std::time::Instant;

use super::*;
use crate::model::CellState::{self, *};
use crate::model::{Batch, Cell};
use crate::sources::{ActionAck, BoxFuture};

fn plan(kind: ActionKind, to: Option<&str>) -> Plan {
    Plan {
        action: Action::new(kind, "api", "prod"),
        from_version: Some("old".into()),
        to_version: to.map(str::to_string),
        summary: String::new(),
        blockers: vec![],
        confirm: crate::ops::Confirm::Dialog,
        choices: vec![],
        warnings: vec![],
        baseline: None,
        seen: None,
    }
}

fn cell(v: &str, st: CellState) -> Cell {
    let mut c = Cell::new("sim", st);
    c.version = Some(v.into());
    c
}

/// What [`check_expected`] makes of a cell, in one word.
fn verdict(p: &Plan, c: Option<&Cell>, native_pause: bool) -> &'static str {
    match check_expected(p, c, native_pause) {
        Check::Reached(_) => "reached",
        Check::Pending(_) => "pending",
        Check::Failed(_) => "failed",
    }
}

/// Each row: the action, the version it goes for, the cell's version and state at the source,
/// and what verification makes of it.
type Row<'a> = (ActionKind, &'a str, &'a str, CellState, &'a str);

fn expect(native_pause: bool, seen: Option<CellState>, rows: &[Row]) {
    for &(kind, to, v, st, want) in rows {
        let mut p = plan(kind, Some(to));
        p.seen = seen.map(|st| (Some(to.to_string()), st));
        let got = verdict(&p, Some(&cell(v, st)), native_pause);
        assert_eq!(got, want, "{kind:?} to {to} with {v} {st:?}");
    }
}

#[test]
fn promote_rollback_pause_resume_approve_reject() {
    use ActionKind::*;
    assert_eq!(verdict(&plan(Promote, Some("new")), None, true), "pending");
    expect(
        true,
        None,
        &[
            (Promote, "new", "old", Succeeded, "pending"),
            (Promote, "new", "new", Running, "pending"),
            (Promote, "new", "new", Succeeded, "reached"),
            (Promote, "new", "new", AwaitingApproval, "reached"),
            (Promote, "new", "new", Failed, "failed"),
            (Rollback, "good", "bad", RollingBack, "pending"),
            (Rollback, "good", "good", Succeeded, "reached"),
            (Rollback, "good", "good", AwaitingApproval, "pending"),
            (Pause, "v", "v", Running, "pending"),
            (Pause, "v", "v", Paused, "reached"),
            (Pause, "v", "v", Succeeded, "failed"),
            (Resume, "v", "v", Paused, "pending"),
            (Resume, "v", "v", Running, "reached"),
            (Resume, "v", "v", Failed, "failed"),
            (Resume, "v", "v", Unknown, "pending"),
            (Approve, "v", "v", AwaitingApproval, "pending"),
            (Approve, "v", "v", Running, "reached"),
            (Approve, "v", "v", Cancelled, "failed"),
            (Reject, "v", "v", Cancelled, "reached"),
        ],
    );
    let p = plan(Reject, Some("v"));
    assert!(
        matches!(check_expected(&p, Some(&cell("v", Running)), true), Check::Failed(ref m) if m.contains("someone approved")),
        "approved by someone else is not a rejection"
    );
}

#[test]
fn a_rejected_review_that_fails_the_run_is_the_rejection() {
    use ActionKind::Reject as R;
    // Planned on a waiting deployment: failed is how GitHub ends a rejected one.
    expect(
        true,
        Some(AwaitingApproval),
        &[
            (R, "v", "v", Failed, "reached"),
            (R, "v", "v", AwaitingApproval, "pending"),
        ],
    );
    // Failed already when planned: not news.
    expect(true, Some(Failed), &[(R, "v", "v", Failed, "pending")]);
}

#[test]
fn an_abort_is_reached_when_the_rollout_stops_and_failed_when_it_finished() {
    use ActionKind::Abort as A;
    expect(
        true,
        Some(AwaitingApproval),
        &[
            (A, "v", "v", AwaitingApproval, "pending"),
            (A, "v", "v", Paused, "pending"),
            (A, "v", "v", Running, "pending"),
            (A, "v", "v", Cancelled, "reached"),
            (A, "v", "v", RolledBack, "reached"),
            (A, "v", "v", Failed, "reached"),
            (A, "v", "v", Succeeded, "failed"),
        ],
    );
    // Failed already when planned: not news.
    expect(true, Some(Failed), &[(A, "v", "v", Failed, "pending")]);
}

#[test]
fn without_a_native_pause_the_rollout_stopping_is_the_pause() {
    use ActionKind::Pause as P;
    let stopped = [
        (P, "v", "v", Failed, "reached"),
        (P, "v", "v", Cancelled, "reached"),
        (P, "v", "v", Running, "pending"),
    ];
    expect(false, Some(Running), &stopped);
    // A source that can pause must show it paused: a failure is a failure there.
    expect(true, Some(Running), &[(P, "v", "v", Failed, "failed")]);
    // Already failed before the pause: that is not the pause.
    expect(false, Some(Failed), &[(P, "v", "v", Failed, "failed")]);
}

#[test]
fn an_old_failure_is_not_the_new_result() {
    let at = ts("2026-11-26T15:00:00Z");
    let mut p = plan(ActionKind::Promote, Some("v2"));
    p.baseline = Some(at);
    let mut c = cell("v2", Failed);
    c.updated_at = Some(at);
    assert!(
        matches!(check_expected(&p, Some(&c), true), Check::Pending(_)),
        "the retry has not started yet"
    );
    c.updated_at = Some(at + chrono::TimeDelta::seconds(30));
    assert!(
        matches!(check_expected(&p, Some(&c), true), Check::Failed(_)),
        "failed again"
    );
}

#[test]
fn the_log_refuses_a_second_action_and_anything_against_a_halt_or_hold() {
    let now = ts("2026-11-26T15:00:00Z");
    let w = Duration::from_secs(600);
    let promote = Action::new(ActionKind::Promote, "api", "prod");
    assert!(refuse_against_log(&[], &promote, now, w).is_ok());
    let mut halt = rec(1, "h", "done", "", "", "2026-11-26T14:00:00Z");
    halt.action = "halt".into();
    halt.lane = None;
    halt.stage = None;
    halt.reason = Some("incident".into());
    let e = refuse_against_log(&[halt], &promote, now, w).unwrap_err();
    assert!(e.contains("halted") && e.contains("incident"), "{e}");
    let mut hold = rec(1, "l", "done", "api", "", "2026-11-26T14:00:00Z");
    hold.action = "pause".into();
    hold.stage = None;
    let e = refuse_against_log(&[hold.clone()], &promote, now, w).unwrap_err();
    assert!(e.contains("on hold"), "{e}");
    // A second hold does not overwrite the first one's who, when and why; a release goes.
    let second = Action::lane(ActionKind::Pause, "api");
    let e = refuse_against_log(&[hold.clone()], &second, now, w).unwrap_err();
    assert!(e.contains("already on hold (by a"), "{e}");
    let release = Action::lane(ActionKind::Resume, "api");
    assert!(refuse_against_log(&[hold.clone()], &release, now, w).is_ok());
    assert!(
        refuse_against_log(&[], &release, now, w)
            .unwrap_err()
            .contains("not on hold")
    );
    // A hold stops promotion, not a rollback.
    let rollback = Action::new(ActionKind::Rollback, "api", "prod");
    assert!(refuse_against_log(&[hold], &rollback, now, w).is_ok());
    let open = rec(1, "x", "attempt", "api", "prod", "2026-11-26T14:59:00Z");
    assert!(
        refuse_against_log(&[open], &rollback, now, w)
            .unwrap_err()
            .contains("in flight")
    );
}

fn ts(s: &str) -> Timestamp {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

fn rec(seq: u64, id: &str, result: &str, lane: &str, stage: &str, ts: &str) -> Record {
    Record {
        seq,
        ts: ts.into(),
        id: id.into(),
        action: "promote".into(),
        lane: Some(lane.into()),
        stage: Some(stage.into()),
        result: result.into(),
        ..Record::sample()
    }
}

#[test]
fn an_attempt_without_outcome_is_open_until_its_window_passes() {
    let now = ts("2026-11-26T15:00:00Z");
    let a = Action::new(ActionKind::Promote, "api", "prod");
    let w = Duration::from_secs(600);
    let records = vec![rec(
        1,
        "x",
        "attempt",
        "api",
        "prod",
        "2026-11-26T14:58:00Z",
    )];
    assert_eq!(open_attempt(&records, &a, now, w).unwrap().id, "x");
    let other = Action::new(ActionKind::Promote, "api", "canary");
    assert!(
        open_attempt(&records, &other, now, w).is_none(),
        "another cell is free"
    );
    let mut closed = records.clone();
    closed.push(rec(2, "x", "done", "api", "prod", "2026-11-26T14:59:00Z"));
    assert!(open_attempt(&closed, &a, now, w).is_none());
    let old = vec![rec(
        1,
        "y",
        "attempt",
        "api",
        "prod",
        "2026-11-26T14:00:00Z",
    )];
    assert!(
        open_attempt(&old, &a, now, w).is_none(),
        "a crashed process does not block forever"
    );
    // An abort goes beside the promote it stops, not beside another abort.
    let abort = Action::new(ActionKind::Abort, "api", "prod");
    assert!(open_attempt(&records, &abort, now, w).is_none());
    let mut aborting = records.clone();
    aborting.push(rec(
        2,
        "z",
        "attempt",
        "api",
        "prod",
        "2026-11-26T14:59:00Z",
    ));
    aborting[1].action = "abort".into();
    assert_eq!(open_attempt(&aborting, &abort, now, w).unwrap().id, "z");
    assert_eq!(open_attempt(&aborting, &a, now, w).unwrap().id, "z");
}

#[test]
fn unfinished_lists_unknown_outcomes_and_attempts_left_open() {
    let now = ts("2026-11-26T15:00:00Z");
    let w = Duration::from_secs(600);
    let day = UNFINISHED_SINCE;
    // An attempt an hour old with no outcome: its process is gone.
    let crashed = rec(1, "a", "attempt", "api", "prod", "2026-11-26T14:00:00Z");
    // Sent, then stopped by a signal.
    let sent = rec(2, "b", "attempt", "web", "canary", "2026-11-26T14:10:00Z");
    let mut unknown = rec(3, "b", "unknown", "web", "canary", "2026-11-26T14:10:05Z");
    unknown.error = Some("sent to sim, outcome unknown: trainyard was stopped by SIGHUP".into());
    // Still in flight (2 minutes old): not unfinished, in flight.
    let young = rec(4, "c", "attempt", "db", "prod", "2026-11-26T14:58:00Z");
    // Two days old: out of sight.
    let old = rec(5, "d", "attempt", "old", "prod", "2026-11-24T14:58:00Z");
    let records = vec![crashed, sent, unknown, young, old];
    let u = unfinished(&records, now, day, w);
    let ids: Vec<(&str, &str)> = u
        .iter()
        .map(|u| (u.record.id.as_str(), u.record.result.as_str()))
        .collect();
    assert_eq!(ids, [("a", "attempt"), ("b", "unknown")]);
    assert!(u[0].why.starts_with("no outcome was recorded"));
    assert_eq!(
        u[1].describe(),
        "promote web → canary by a at 2026-11-26 14:10 UTC: sent to sim, outcome unknown: trainyard was stopped by SIGHUP"
    );
    // A later attempt on api's prod: someone dealt with it.
    let mut more = records.clone();
    more.push(rec(
        6,
        "e",
        "attempt",
        "api",
        "prod",
        "2026-11-26T14:59:00Z",
    ));
    more.push(rec(7, "e", "done", "api", "prod", "2026-11-26T14:59:30Z"));
    let u = unfinished(&more, now, day, w);
    assert_eq!(u.len(), 1);
    assert_eq!(u[0].record.id, "b");
}

/// A source that asks to be left alone until `free_at`, and shows api at prod succeeded at
/// version `new`; or, with `panics`, panics in every poll.
struct Fake {
    free_at: Instant,
    panics: bool,
    polls: AtomicUsize,
    polled_while_held: AtomicUsize,
}

impl Fake {
    fn new(held: Duration, panics: bool) -> Arc<Fake> {
        Arc::new(Fake {
            free_at: Instant::now() + held,
            panics,
            polls: AtomicUsize::new(0),
            polled_while_held: AtomicUsize::new(0),
        })
    }
}

impl Source for Fake {
    fn name(&self) -> &str {
        "sim"
    }
    fn kind(&self) -> &'static str {
        "http"
    }
    fn interval(&self) -> Duration {
        Duration::from_millis(200)
    }
    fn timeout(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn held_for(&self) -> Option<Duration> {
        self.free_at
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    }
    fn poll(&self) -> BoxFuture<'_, Result<Batch, String>> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        if self.held_for().is_some() {
            self.polled_while_held.fetch_add(1, Ordering::SeqCst);
        }
        let panics = self.panics;
        Box::pin(async move {
            assert!(!panics, "a source that breaks while polling");
            Ok(Batch {
                cells: vec![(CellKey::new("api", "prod"), cell("new", Succeeded))],
                ..Batch::default()
            })
        })
    }
    fn act<'a>(&'a self, _: &'a ActionRequest) -> BoxFuture<'a, Result<ActionAck, ActionError>> {
        Box::pin(async {
            Ok(ActionAck {
                message: "ok".into(),
            })
        })
    }
}

/// A runner that acts on `source` for lane api, verifying for at most `verify_timeout`.
fn runner(source: Arc<Fake>, verify_timeout: &str) -> (tempfile::TempDir, Runner) {
    let text = format!(
        "[train]\nname = \"t\"\nstages = [\"canary\", \"prod\"]\n\
         [sources.sim]\nkind = \"http\"\nurl = \"http://127.0.0.1:9\"\n\
         [[lanes]]\nname = \"api\"\nsource = \"sim\"\n\
         [actions]\nverify_timeout = \"{verify_timeout}\"\n"
    );
    let config = crate::config::parse(&text, "t.toml").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let audit = crate::store::Store::File(crate::ops::audit::AuditLog::new(
        dir.path().join("audit.jsonl"),
    ));
    let sources: Vec<Arc<dyn Source>> = vec![source];
    (dir, Runner::new(&config, &sources, audit, false))
}

/// What the runner said on the way.
#[derive(Default)]
struct Heard(std::sync::Mutex<Vec<String>>);

impl Heard {
    fn say(&self) -> impl Fn(String) + Send + Sync + '_ {
        |m| self.0.lock().unwrap().push(m)
    }
}

/// Verify a promotion to `new` at a source that asks to be left alone for `held`: the
/// outcome, the source, what the runner said, and how long it took.
async fn verify_held(held: Duration, timeout: &str) -> (Outcome, Arc<Fake>, Vec<String>, Duration) {
    let src = Fake::new(held, false);
    let (_dir, r) = runner(Arc::clone(&src), timeout);
    let heard = Heard::default();
    let started = Instant::now();
    let p = plan(ActionKind::Promote, Some("new"));
    let out = r.verify(&p, src.as_ref(), &heard.say()).await;
    let said = heard.0.into_inner().unwrap();
    (out, src, said, started.elapsed())
}

#[tokio::test]
async fn verification_waits_out_a_source_that_asked_to_be_left_alone() {
    let (out, src, said, _) = verify_held(Duration::from_millis(400), "10s").await;
    assert!(matches!(out, Outcome::Done(_)), "{out:?}");
    // It waited: the one poll came after the source was free again.
    assert_eq!(src.polled_while_held.load(Ordering::SeqCst), 0);
    assert_eq!(src.polls.load(Ordering::SeqCst), 1);
    let waited = said
        .iter()
        .any(|m| m.contains("sim asked not to be polled"));
    assert!(waited, "{said:?}");
}

#[tokio::test]
async fn a_wait_longer_than_the_verify_timeout_ends_in_a_timeout() {
    let (out, src, _, took) = verify_held(Duration::from_secs(60), "300ms").await;
    assert!(matches!(out, Outcome::TimedOut(_)), "{out:?}");
    assert!(took < Duration::from_secs(5));
    assert_eq!(src.polls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_source_that_panics_while_polling_is_read_as_the_poller_reads_it() {
    // The look before sending and every look after: a broken poll is no answer, not a crash.
    let src = Fake::new(Duration::ZERO, true);
    let (_dir, r) = runner(Arc::clone(&src), "300ms");
    let mut p = plan(ActionKind::Promote, Some("new"));
    p.seen = Some((Some("old".into()), Succeeded));
    let out = r.run(&p, false, &Heard::default().say()).await;
    assert!(matches!(out, Outcome::TimedOut(_)), "{out:?}");
    assert!(src.polls.load(Ordering::SeqCst) >= 2);
}
