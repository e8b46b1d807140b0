//! The vocabulary shared by the two analysis layers (`tcp` and `analysis`), kept below both so
//! that neither imports the other: sequence-number arithmetic (RFC 9293 §3.4) and the event
//! kinds of `--report events` (docs/analysis.md, "Events").

pub mod events;
pub mod seq;
