//! The command-line twins of the actions, and `trainyard audit`. Each action command builds
//! the same [`Action`] a key press builds and hands it to the same [`Runner`].

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use serde_json::json;

use crate::config::Config;
use crate::engine::driver::Handle;
use crate::engine::{Engine, Input, Setup, Snapshot};
use crate::exit::Exit;
use crate::model::{ActionKind, Train};
use crate::ops::audit::{self, AuditLog};
use crate::ops::{self, Action, Confirm, Outcome, Plan, Runner, Scope};
use crate::poll::feed::{Feed, Shared};
use crate::sources::Source;
use crate::store::Store;
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

/// The store's records, for the engine to replay holds, the halt and auto_pause's memory
/// from; what can't be read is said on stderr (none are returned then: on the postgres store,
/// actions are refused meanwhile and the screen says so).
pub async fn ledger(store: &Store) -> Vec<ops::audit::Record> {
    let place = store.place();
    match store.read_checked().await {
        Ok((records, skipped)) => {
            // A line that is not a record is said: a mangled halt must not pass as "not halted".
            for s in skipped {
                tracing::warn!("audit log {place}: {s}");
                eprintln!("trainyard: warning: audit log {place}: {s}");
            }
            records
        }
        Err(e) => {
            tracing::warn!("audit log {place} unreadable: {e}");
            eprintln!(
                "trainyard: warning: audit log {place} unreadable ({e}): holds and the halt are not known"
            );
            Vec::new()
        }
    }
}

/// Build the sources, the runner and a running engine for `config`: the screen and `watch`
/// sit on it. Holds, the halt and auto_pause's memory come back from the store; it raises
/// the notices of `[notify]`.
pub async fn start_engine(config: &Config, readonly: bool, store: Store) -> (Arc<Runner>, Handle) {
    // token_cmd and secret files are blocking IO: off the async workers.
    let sources = tokio::task::block_in_place(|| sources::build(config));
    let records = ledger(&store).await;
    // With a team's store, one trainyard polls for everyone (docs/team.md).
    let feed = match &store {
        Store::Postgres(pg) => Feed::Shared(Shared {
            target: pg.target().clone(),
            identity: ops::actor(config.identity.as_deref()),
        }),
        Store::File(_) => Feed::Local,
    };
    let runner = Arc::new(Runner::new(config, &sources, store, readonly));
    let setup = Setup::from_config(
        config,
        &records,
        runner.in_flight_window(),
        readonly,
        poll::now(),
    );
    let engine = Engine::new(setup).notifying(config.notify.clone());
    let handle = crate::engine::driver::spawn_with(engine, Arc::clone(&runner), &sources, feed);
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
    store: &Store,
    readonly: bool,
    poll: bool,
) -> Arc<Snapshot> {
    let records = ledger(store).await;
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
    let (sources, store) =
        tokio::task::block_in_place(|| (sources::build(config), Store::open(config)));
    judge_once(config, &sources, &store, readonly, true).await
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

/// `trainyard promote|pause|resume|rollback|approve|reject|abort|halt|unhalt`.
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
    // token_cmd and secret files are blocking IO: off the async workers.
    let (sources, store) =
        tokio::task::block_in_place(|| (sources::build(&config), Store::open(&config)));
    let needs_train =
        matches!(action.scope(), Scope::Cell(_)) || action.kind == ActionKind::Promote;
    let snap = judge_once(&config, &sources, &store, readonly, needs_train).await;
    let runner = Runner::new(&config, &sources, store.clone(), readonly);
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
                let now = judge_once(&config, &sources, &store, readonly, needs_train).await;
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

mod audit_cmd;
pub use audit_cmd::{audit_export, audit_import, audit_list, audit_verify};
