//! Where the state a team shares lives: today the audit log's file (the default, nothing to
//! set up); with `kind = "postgres"`, a PostgreSQL database the team already runs
//! (docs/team.md). [`pg`] connects to it and keeps its schema.

pub mod audit;
pub mod pg;
