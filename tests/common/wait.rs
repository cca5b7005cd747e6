//! Waiting for something to become true: look again and again until it is, within a deadline
//! far beyond what it ever takes. Hitting the deadline is the failure, and it says what was
//! last seen. Nothing here assumes how long anything takes.

use std::fmt::Display;
use std::time::{Duration, Instant};

/// How long a test waits for what should happen: generous, so that a busy machine is never
/// taken for a fault.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// How long between two looks.
const EVERY: Duration = Duration::from_millis(100);

/// Look with `probe` until it says `Ok`; after `within`, panic with `what` and the last `Err`
/// (what was seen instead).
pub fn until<T, E: Display>(
    what: &str,
    within: Duration,
    mut probe: impl FnMut() -> Result<T, E>,
) -> T {
    let start = Instant::now();
    loop {
        match probe() {
            Ok(v) => return v,
            Err(seen) if start.elapsed() > within => {
                panic!("waited {within:?} for {what}; last seen:\n{seen}")
            }
            Err(_) => std::thread::sleep(EVERY),
        }
    }
}

/// [`until`] in async code: the probe is awaited, and the pause between looks lets the
/// runtime go on (an in-process server on it keeps answering).
pub async fn until_async<T, E: Display, F: Future<Output = Result<T, E>>>(
    what: &str,
    within: Duration,
    mut probe: impl FnMut() -> F,
) -> T {
    let start = Instant::now();
    loop {
        match probe().await {
            Ok(v) => return v,
            Err(seen) if start.elapsed() > within => {
                panic!("waited {within:?} for {what}; last seen:\n{seen}")
            }
            Err(_) => tokio::time::sleep(EVERY).await,
        }
    }
}

/// `Ok(())` when `cond` holds, else what was seen: for [`until`] on a plain condition.
pub fn ok_if<E>(cond: bool, seen: impl FnOnce() -> E) -> Result<(), E> {
    if cond { Ok(()) } else { Err(seen()) }
}
