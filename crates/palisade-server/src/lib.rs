//! Palisade's network services over HTTPS.
//!
//! [`admission`] is the Kubernetes admission webhook behind `palisade admission
//! serve|config|certs`: the same built-in rules and custom policies as `palisade scan
//! config`, applied to objects as the API server admits them. [`tls`] reads serving
//! certificates (with errors that say which file is wrong) and makes new ones.
//!
//! [`platform`] is `palisade serve`: the API, identity, audit log and findings ledger;
//! [`console`] its web pages;
//! [`serving`] is the accept loop (TCP or TLS, HTTP/1.1, graceful shutdown) it runs on.
//!
//! What does not live here: the checks (palisade-misconfig, palisade-policy) and argument
//! parsing (the `palisade` binary).

pub mod admission;
pub mod console;
pub mod platform;
pub mod serving;
pub mod tls;
