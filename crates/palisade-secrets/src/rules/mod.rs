//! The built-in secret rules, one file per provider or family. Adding rules: write them in
//! the provider's file (or a new one listed here), with their samples for the tests.

use crate::rule::SecretRule;

mod ai;
mod aws;
mod chat;
mod ci;
mod cloud;
mod config_files;
mod decode;
#[cfg(test)]
mod fresh;
mod generic;
mod github;
mod gitlab;
mod keys;
mod messaging;
mod observability;
mod payments;
mod registries;
mod saas;

/// Every built-in secret rule, sorted by id.
pub fn all() -> Vec<&'static SecretRule> {
    let mut v: Vec<&'static SecretRule> = [
        aws::RULES,
        chat::RULES,
        ci::RULES,
        cloud::RULES,
        config_files::RULES,
        generic::RULES,
        github::RULES,
        gitlab::RULES,
        keys::RULES,
        messaging::RULES,
        payments::RULES,
        saas::RULES,
        registries::RULES,
        observability::RULES,
        ai::RULES,
    ]
    .concat();
    v.sort_by_key(|r| r.meta.id);
    v
}

/// Test material of every rule group.
#[cfg(test)]
pub(crate) fn samples(rng: &mut crate::testing::Rng) -> Vec<crate::testing::Sample> {
    let groups: Vec<Vec<crate::testing::Sample>> = vec![
        aws::samples(rng),
        chat::samples(rng),
        ci::samples(rng),
        cloud::samples(rng),
        config_files::samples(rng),
        generic::samples(rng),
        github::samples(rng),
        gitlab::samples(rng),
        keys::samples(rng),
        messaging::samples(rng),
        payments::samples(rng),
        saas::samples(rng),
        registries::samples(rng),
        observability::samples(rng),
        ai::samples(rng),
    ];
    groups.into_iter().flatten().collect()
}
