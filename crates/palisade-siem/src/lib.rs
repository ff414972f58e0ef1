//! Security events for `palisade serve` and `palisade ingest`.
//!
//! - [`event`]: the event every source produces: the raw form kept byte for byte, and the
//!   normalised fields added (time, source, host, user, action, object, outcome, source IP).
//! - [`parse`]: parsers, one per source kind, and detection of a file's kind.
//! - [`query`]: the search language (`verb:create objectRef.resource:pods`, full text,
//!   AND/OR/NOT, parentheses) parsed into a [`query::Query`].
//! - [`store`]: the time-partitioned event store on SQLite or PostgreSQL: append, search,
//!   histogram, retention.

pub mod event;
pub mod parse;
pub mod query;
pub mod store;

pub use event::Event;
pub use query::{Query, QueryError};
