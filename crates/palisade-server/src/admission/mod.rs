//! The Kubernetes admission webhook.
//!
//! - [`review`]: AdmissionReview requests in, responses out.
//! - [`check`]: the built-in rules and custom policies on one object, and the decision.
//! - [`policy`]: where custom policies plug in, and their reloading; [`rego`]: the Rego
//!   policies of palisade-policy behind that seam.
//! - [`mutate`] and [`json_patch`]: safe defaults as a JSONPatch, checked by applying it.
//! - [`config`]: the settings file; [`audit`]: the decision log; [`metrics`]: Prometheus.
//! - [`server`]: HTTPS, deadlines, graceful shutdown.
//! - [`webhook_config`]: the webhook configuration objects for a cluster.
//!
//! What does not live here: the rules themselves (palisade-misconfig), Rego evaluation
//! (palisade-policy), argument parsing (the `palisade` binary).

pub mod audit;
pub mod check;
pub mod config;
pub mod json_patch;
pub mod metrics;
pub mod mutate;
pub mod policy;
pub mod rego;
pub mod review;
pub mod server;
pub mod webhook_config;

pub use check::{Checker, Outcome, Violation};
pub use config::{AdmissionConfig, Mode};
pub use policy::{Policies, PolicyEvaluator, PolicyFindings, PolicyLoader};
pub use rego::{RegoLoader, RegoPolicies};
pub use server::{RunningServer, ServerOptions, start};
