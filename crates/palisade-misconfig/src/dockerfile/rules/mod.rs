//! The registry of built-in Dockerfile rules: one line per rule.

use crate::rule::DockerfileRule;

mod add_local;
mod add_url;
mod arg_secret;
mod base_image_latest;
mod env_secret;
mod no_healthcheck;
mod package_cache;
mod packages;
mod remote_script_pipe;
mod secret_file_copied;
mod ssh_port_exposed;
mod sudo_used;
mod tls_verification_disabled;
mod unpinned_packages;
mod user_root;
mod util;
mod world_writable;

/// Every Dockerfile rule.
pub static RULES: &[&DockerfileRule] = &[
    &user_root::RULE,
    &base_image_latest::RULE,
    &add_url::RULE,
    &add_local::RULE,
    &env_secret::RULE,
    &arg_secret::RULE,
    &remote_script_pipe::RULE,
    &unpinned_packages::RULE,
    &package_cache::RULE,
    &sudo_used::RULE,
    &no_healthcheck::RULE,
    &ssh_port_exposed::RULE,
    &world_writable::RULE,
    &secret_file_copied::RULE,
    &tls_verification_disabled::RULE,
];
