//! The command-line twins of the actions, and `trainyard audit`. Each action command builds
//! the same [`Action`] a key press builds and hands it to the same [`Runner`].

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use serde_json::json;

use crate::config::Config;
use crate::engine::driver::Handle;
use crate::engine::{Engine, Input, Setup, Snapshot};
use crate::exit::Exit;
use crate::model::duration;
use crate::model::{ActionKind, Train};
use crate::ops::audit::{self, AuditLog, Record};
use crate::ops::{self, Action, Confirm, Outcome, Plan, Runner, Scope};
use crate::sources::Source;
use crate::{poll, sources};

/// The audit log a config writes to.
pub fn audit_log(config: &Config) -> AuditLog {
    let path = config
        .audit_path
        .clone()
        .or_else(audit::default_path)
        .unwrap_or_else(|| "audit.jsonl".into());
    AuditLog::new(path)
}

/// The audit log's records, for the engine to replay holds, the halt and auto_pause's memory
/// from; what can't be read is said on stderr (none are returned then).
pub fn ledger(log: &AuditLog) -> Vec<ops::audit::Record> {
    match log.read_checked() {
        Ok((records, skipped)) => {
            // A line that is not a record is said: a mangled halt must not pass as "not halted".
            for s in skipped {
                tracing::warn!("audit log {}: {s}", log.path().display());
                eprintln!(
                    "trainyard: warning: audit log {}: {s}",
                    log.path().display()
                );
            }
            records
        }
        Err(e) => {
            tracing::warn!("audit log {} unreadable: {e}", log.path().display());
            eprintln!(
                "trainyard: warning: audit log {} unreadable ({e}): holds and the halt are not known",
                log.path().display()
            );
            Vec::new()
        }
    }
}

/// Build the sources, the runner and a running engine for `config`: the screen and `watch`
/// sit on it. Holds, the halt and auto_pause's memory come back from the audit log; it raises
/// the notices of `[notify]`.
pub fn start_engine(config: &Config, readonly: bool, audit: AuditLog) -> (Arc<Runner>, Handle) {
    // token_cmd, secret files and the audit log are blocking IO: off the async workers.
    let (sources, records) =
        tokio::task::block_in_place(|| (sources::build(config), ledger(&audit)));
    let runner = Arc::new(Runner::new(config, &sources, audit, readonly));
    let setup = Setup::from_config(
        config,
        &records,
        runner.in_flight_window(),
        readonly,
        poll::now(),
    );
    let engine = Engine::new(setup).notifying(config.notify.clone());
    let handle = crate::engine::driver::spawn(engine, Arc::clone(&runner), &sources);
    (runner, handle)
}

/// Whatever stopped the screen or `watch`, no attempt is left without an outcome: what was
/// written is said on stderr (after SIGHUP there may be no terminal left: a failed write is
/// no reason to panic).
pub fn close_open_actions(runner: &Runner, why: &str) {
    let said = tokio::task::block_in_place(|| runner.abandon_all(why));
    let mut err = std::io::stderr();
    for s in said {
        let _ = writeln!(err, "trainyard: audit log: {s}");
    }
}

/// The train after one poll round of `sources` (only the ledger when `poll` is false), as
/// the engine judges it.
async fn judge_once(
    config: &Config,
    sources: &[Arc<dyn Source>],
    log: &AuditLog,
    readonly: bool,
    poll: bool,
) -> Arc<Snapshot> {
    let records = tokio::task::block_in_place(|| ledger(log));
    let window = ops::run::in_flight_window(sources, config.verify_timeout);
    let now = crate::poll::now();
    let mut setup = Setup::from_config(config, &records, window, readonly, now);
    // A judgement to plan against: auto_pause acts only in a running engine.
    setup.train.auto_pause.clear();
    let mut engine = Engine::new(setup);
    if poll {
        for report in crate::poll::poll_once(sources).await {
            engine.fold(Input::Report(report));
        }
        engine.fold(Input::Tick(crate::poll::now()));
    }
    engine.snapshot()
}

/// `status`: one poll round of every source, judged by the engine.
pub async fn observe_once(config: &Config, readonly: bool) -> Arc<Snapshot> {
    let sources = tokio::task::block_in_place(|| sources::build(config));
    judge_once(config, &sources, &audit_log(config), readonly, true).await
}

fn plan_text(plan: &Plan, train: &Train, runner: &Runner) -> String {
    let mut out = String::new();
    // Said first, in words, as the screen's dialog does.
    if let Some(note) = train.protected_note(&plan.action.stage) {
        out.push_str(&note);
        out.push('\n');
    }
    out.push_str(&format!("{}\n  {}\n", plan.action.describe(), plan.summary));
    if let Some(src) = runner.source_of(&plan.action) {
        out.push_str(&format!("  via source {src}\n"));
    }
    for w in &plan.warnings {
        out.push_str(&format!("  warning: {w}\n"));
    }
    if plan.allowed() {
        out.push_str("  policy: allowed\n");
    } else {
        out.push_str("  policy: BLOCKED\n");
        for b in &plan.blockers {
            out.push_str(&format!("    [{}] {}\n", b.kind.as_str(), b.message));
        }
    }
    out
}

/// Ask on the terminal. `Err` when there is none to ask on.
fn confirm_on_terminal(plan: &Plan) -> Result<bool, String> {
    if !std::io::stdin().is_terminal() {
        return Err("no terminal to confirm on: pass --yes to confirm on the command line".into());
    }
    let mut stderr = std::io::stderr();
    let question = match &plan.confirm {
        Confirm::TypeName(name) => {
            format!("Type the lane's name ({name}) to confirm, anything else cancels: ")
        }
        Confirm::Dialog => format!("{}? [y/N] ", plan.action.describe()),
    };
    let _ = write!(stderr, "{question}");
    let _ = stderr.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| e.to_string())?;
    let answer = answer.trim();
    Ok(match &plan.confirm {
        Confirm::TypeName(name) => answer == name,
        Confirm::Dialog => matches!(answer, "y" | "Y" | "yes"),
    })
}

fn print_result(
    plan: Option<&Plan>,
    action: &Action,
    outcome: &Outcome,
    preview: Option<&str>,
    json_out: bool,
    code: Exit,
) {
    if json_out {
        let v = json!({
            "action": action.kind.as_str(),
            "lane": action.lane_opt(),
            "stage": action.stage_opt(),
            "from": plan.and_then(|p| p.from_version.clone()),
            "to": plan.and_then(|p| p.to_version.clone()),
            "summary": plan.map(|p| p.summary.clone()),
            "allowed": plan.map(Plan::allowed),
            "blockers": plan.map(|p| p.blockers.clone()).unwrap_or_default(),
            "forced": plan.is_some_and(|p| p.forced()),
            "dry_run": matches!(outcome, Outcome::DryRun(_)),
            "request": preview,
            "result": outcome.word(),
            "message": outcome.message(),
            "exit_code": code.code(),
        });
        println!("{}", crate::model::text::json_safe(&v.to_string()));
    } else {
        match outcome {
            Outcome::DryRun(req) => println!("dry run: nothing sent. It would send:\n  {req}"),
            o => println!("{}: {}", o.word(), o.message()),
        }
    }
}

/// An action that makes no sense as asked (nothing to pause, already on its way): said on
/// stderr, and with `--json` as the same object every action prints, `result: "invalid"`.
fn refused_early(action: &Action, why: &str, json_out: bool) -> Exit {
    eprintln!("trainyard: {why}");
    if json_out {
        let v = json!({
            "action": action.kind.as_str(),
            "lane": action.lane_opt(),
            "stage": action.stage_opt(),
            "result": "invalid",
            "message": why,
            "exit_code": Exit::Usage.code(),
        });
        println!("{}", crate::model::text::json_safe(&v.to_string()));
    }
    Exit::Usage
}

/// `trainyard promote|pause|resume|rollback|approve|reject|halt|unhalt`.
pub async fn run_action(
    config: Config,
    readonly: bool,
    mut action: Action,
    act: &crate::cli::ActArgs,
) -> Exit {
    action.reason = act.reason.clone();
    action.force = act.force;
    let json_out = act.json;
    if readonly {
        let o = Outcome::Refused(ops::availability::readonly_refusal(action.kind));
        print_result(None, &action, &o, None, json_out, o.exit());
        return o.exit();
    }
    // token_cmd, secret files and the audit log are blocking IO: off the async workers.
    let sources = tokio::task::block_in_place(|| sources::build(&config));
    let log = audit_log(&config);
    let needs_train =
        matches!(action.scope(), Scope::Cell(_)) || action.kind == ActionKind::Promote;
    let snap = judge_once(&config, &sources, &log, readonly, needs_train).await;
    let runner = Runner::new(&config, &sources, log.clone(), readonly);
    // `promote LANE` without --to: the lane's next stage.
    if action.kind == ActionKind::Promote && action.stage.is_empty() {
        let next = snap
            .train
            .lanes
            .iter()
            .position(|l| l.name == action.lane)
            .and_then(|li| snap.lanes[li].next);
        match next {
            Some(i) => action.stage = config.train.stages[i].clone(),
            None => {
                let why = format!(
                    "{} has nothing to promote: name the stage with --to",
                    action.lane
                );
                return refused_early(&action, &why, json_out);
            }
        }
    }
    let mut plan = match snap.plan(action.clone()) {
        Ok(p) => p,
        Err(e) => return refused_early(&action, &e, json_out),
    };
    plan.action = action.clone();
    if !json_out {
        eprint!("{}", plan_text(&plan, &config.train, &runner));
    }
    // Forced into a halt or a hold: refused now, before anyone types a lane's name.
    if action.force
        && !plan.allowed()
        && let Some(why) = ops::availability::unforceable(&plan)
    {
        let o = Outcome::Refused(why);
        print_result(Some(&plan), &action, &o, None, json_out, o.exit());
        return o.exit();
    }
    if !act.yes && !act.dry_run && (plan.allowed() || action.force) {
        match confirm_on_terminal(&plan) {
            Ok(true) => {
                // The train may have moved while the question was open: send only what the
                // user saw.
                let now = judge_once(&config, &sources, &log, readonly, needs_train).await;
                if let Err((why, _)) = ops::availability::recheck(&plan, now.plan(action.clone())) {
                    eprintln!(
                        "the train moved while you decided: nothing sent; run the command again ({why})"
                    );
                    return Exit::Refused;
                }
            }
            Ok(false) => {
                eprintln!("cancelled: nothing sent");
                return Exit::Usage;
            }
            Err(e) => {
                eprintln!("trainyard: {e}");
                return Exit::Usage;
            }
        }
    }
    let progress = |text: String| {
        if !json_out {
            eprintln!("  … {text}");
        }
    };
    let mut stop = match crate::signals::Stop::new() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("trainyard: cannot listen for signals: {e}");
            return Exit::Usage;
        }
    };
    let outcome = tokio::select! {
        o = runner.run(&plan, act.dry_run, &progress) => o,
        n = stop.recv() => {
            let why = crate::signals::why(n);
            let said = tokio::task::block_in_place(|| runner.abandon_all(&why));
            // After SIGHUP the terminal may be gone: a failed write is no reason to panic.
            use std::io::Write;
            let mut err = std::io::stderr();
            let _ = writeln!(err, "{why}");
            for s in said {
                let _ = writeln!(err, "  audit log: {s}");
            }
            return Exit::Signal(n);
        }
    };
    let preview = matches!(outcome, Outcome::DryRun(_)).then(|| runner.preview(&plan));
    // A dry run of something policy blocks says so in its exit code too.
    let code = match &outcome {
        Outcome::DryRun(_) if !plan.allowed() && !action.force => Exit::Blocked,
        o => o.exit(),
    };
    print_result(
        Some(&plan),
        &action,
        &outcome,
        preview.as_deref(),
        json_out,
        code,
    );
    code
}

fn record_line(r: &Record) -> String {
    let mut s = format!(
        "{:>5} {} {} [{}] {}",
        r.seq, r.ts, r.actor, r.origin, r.action
    );
    if let Some(l) = &r.lane {
        s.push_str(&format!(" {l}"));
    }
    if let Some(st) = &r.stage {
        s.push_str(&format!(" @{st}"));
    }
    if r.from.is_some() || r.to.is_some() {
        let v = |x: &Option<String>| {
            x.as_deref()
                .map(crate::model::cell::short_version)
                .unwrap_or_else(|| "-".into())
        };
        s.push_str(&format!(" {}→{}", v(&r.from), v(&r.to)));
    }
    s.push_str(&format!(": {}", r.result));
    if r.forced {
        s.push_str(" FORCED");
    }
    if let Some(reason) = &r.reason {
        s.push_str(&format!(" — {reason:?}"));
    }
    if let Some(e) = &r.error {
        s.push_str(&format!(" ({e})"));
    }
    // Every field may have been typed by someone (an actor, a reason) or come from a source
    // (an error): one clean line on the terminal.
    crate::model::text::sanitize(&s, 4000)
}

/// `trainyard audit [--json] [--since D]`.
pub fn audit_list(config: &Config, json_out: bool, since: Option<&str>) -> Exit {
    let log = audit_log(config);
    let cutoff = match since.map(duration::parse) {
        // Never "now" in silence, nor a panic, for a duration the clock can't go back by.
        Some(Ok(d)) => match chrono::TimeDelta::from_std(d)
            .ok()
            .and_then(|d| poll::now().checked_sub_signed(d))
        {
            Some(c) => Some(c),
            None => {
                eprintln!(
                    "trainyard: --since: {} is out of range (at most {})",
                    duration::human(d),
                    duration::human(duration::MAX)
                );
                return Exit::Usage;
            }
        },
        Some(Err(e)) => {
            eprintln!("trainyard: --since: {e}");
            return Exit::Usage;
        }
        None => None,
    };
    let (records, skipped) = match log.read_checked() {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "trainyard: cannot read the audit log {}: {e}",
                log.path().display()
            );
            return Exit::Runtime;
        }
    };
    // Lines that are not records are not listed: said, so that none is missed unawares.
    for s in &skipped {
        eprintln!("trainyard: warning: {}: {s}", log.path().display());
    }
    let shown = records
        .iter()
        .filter(|r| cutoff.is_none_or(|c| r.time().is_some_and(|t| t >= c)));
    for r in shown {
        if json_out {
            println!(
                "{}",
                crate::model::text::json_safe(&serde_json::to_string(r).unwrap_or_default())
            );
        } else {
            println!("{}", record_line(r));
        }
    }
    Exit::Ok
}

/// `trainyard audit verify`: 0 intact, 1 broken (naming the first bad line).
pub fn audit_verify(config: &Config) -> Exit {
    let log = audit_log(config);
    let path = log.path().display().to_string();
    match log.verify() {
        Err(e) => {
            eprintln!("trainyard: cannot read the audit log {path}: {e}");
            Exit::Runtime
        }
        Ok(v) => {
            if let Some(line) = v.torn {
                println!(
                    "{path}:{line}: warning: torn last line (a write was cut off); the next append repairs it and records that"
                );
            }
            match v.first_bad {
                None => {
                    println!("{path}: intact: {} records, hash chain verified", v.records);
                    if let Some(head) = &v.head {
                        // Kept elsewhere, the head proves later that nothing before it was
                        // removed or rewritten: the chain alone can't show a cut-off end.
                        println!("{path}: head {head} (record {})", v.records);
                    }
                    Exit::Ok
                }
                Some((line, why)) => {
                    // The reason may quote the broken line: shown clean.
                    let why = crate::model::text::sanitize(&why, 500);
                    println!("{path}:{line}: chain broken: {why}");
                    println!("{path}: {} records verified before line {line}", v.records);
                    Exit::Runtime
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--since` past what trainyard accepts is a usage error that says the range, never an
    /// empty list (a cut-off of "now").
    #[test]
    fn audit_since_out_of_range_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[train]\nname = \"t\"\nstages = [\"build\", \"prod\"]\n\n[audit]\npath = {:?}\n\n\
             [sources.p]\nkind = \"http\"\nurl = \"http://127.0.0.1:9\"\n\n[[lanes]]\nname = \"a\"\nsource = \"p\"\n",
            dir.path().join("audit.jsonl")
        );
        let config = crate::config::parse(&text, "t.toml").unwrap();
        for since in ["99999999999d", "3651d", "99999999999999999999d"] {
            assert_eq!(
                audit_list(&config, true, Some(since)),
                Exit::Usage,
                "{since}"
            );
        }
        assert_eq!(audit_list(&config, true, Some("3650d")), Exit::Ok);
        assert!(
            duration::parse("99999999999d")
                .unwrap_err()
                .contains("at most 3650d")
        );
    }
}
