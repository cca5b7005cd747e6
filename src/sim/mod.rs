//! The simulator: a loopback HTTP server speaking the `http` source protocol
//! (docs/protocol.md), serving a believable release train mid-flight.
//!
//! At start the train is moving: builds running and finishing, `auth-service`'s build failed
//! on `integration-tests`, `checkout-web` waits for approval at prod, `payments-api` is held
//! back from canary until `ledger`'s slow canary rollout finishes, `notifications`' canary
//! rolls out a version whose error rate climbs past its threshold within a minute or two,
//! `inventory` soaks at canary. Afterwards CI keeps producing builds (now and then a failing
//! one), and every action a client POSTs changes the train.
//!
//! Everything is deterministic under the seed (a hash-based PRNG, no `rand`): the same seed
//! gives the same versions, metrics and timings. [`Scenario`] is the pure core and can be
//! driven with explicit time; [`start`] serves it on the wall clock, `speed` times faster.
//!
//! Endpoints: `GET /v1/train`, `POST /v1/actions`, and the simulator extras
//! `GET /v1/_sim/actions` (`{"actions": [...]}`: each POSTed body as sent, plus
//! `received_at` and the answered `status`; a body that was not a JSON object is kept under
//! `body` or `raw`) and `GET /runs/N` (what a cell's `url` points at).

mod rng;
mod roster;
mod scenario;

pub use scenario::{Ack, Reject, SERIES_LEN, STAGES, Scenario};

/// How the simulated train looks and moves.
#[derive(Clone, Debug, PartialEq)]
pub struct SimOptions {
    /// Number of lanes: the first eight are hand-written services, more are `svc-NN`
    /// (clamped to 1..=200).
    pub lanes: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// Pace: 1.0 is a lively demo (something happens every few seconds); 10.0 is ten times
    /// faster.
    pub speed: f64,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            lanes: 8,
            seed: 42,
            speed: 1.0,
        }
    }
}
