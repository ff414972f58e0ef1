//! The registry of built-in Kubernetes rules: one line per rule.

use crate::rule::{K8sRule, K8sSetRule};

mod apparmor_profile;
mod binding_to_all_users;
mod capabilities_added;
mod capabilities_not_dropped;
mod capability_beyond_net_bind;
mod cluster_admin_binding;
mod configmap_credentials;
mod cpu_limit_missing;
mod cpu_request_missing;
mod default_namespace;
mod default_service_account;
mod env_literal_credential;
mod hardening_util;
mod host_ipc;
mod host_network;
mod host_path_volume;
mod host_pid;
mod host_ports;
mod host_probes_lifecycle;
mod image_tag_latest;
mod ingress_without_tls;
mod low_user_id;
mod memory_limit_missing;
mod memory_request_missing;
mod namespace_without_network_policy;
mod netpol_util;
mod network_policy_allow_all_egress;
mod network_policy_allow_all_ingress;
mod privilege_escalation;
mod privileged_container;
mod proc_mount_unmasked;
mod proc_mount_user_namespace;
mod pss_util;
mod rbac_admission_webhooks;
mod rbac_approve_csr;
mod rbac_bind;
mod rbac_create_persistent_volumes;
mod rbac_create_sa_tokens;
mod rbac_create_workloads;
mod rbac_escalate;
mod rbac_full_control;
mod rbac_impersonate;
mod rbac_node_proxy;
mod rbac_pod_exec;
mod rbac_read_secrets;
mod rbac_util;
mod rbac_wildcard_resources;
mod rbac_wildcard_verbs;
mod read_only_root_filesystem;
mod restricted_volume_type;
mod root_group;
mod run_as_non_root;
mod run_as_root_user;
mod runtime_socket_mount;
mod seccomp_not_set;
mod seccomp_unconfined;
mod secret_in_env;
mod secret_with_data;
mod selinux_options;
mod sensitive_host_path;
mod service_account_token_automount;
mod service_external_ips;
mod service_load_balancer_open;
mod service_node_port;
mod share_process_namespace;
mod unsafe_sysctls;
mod windows_host_process;

/// Kinds that carry a pod spec.
pub const WORKLOAD_KINDS: &[&str] = &[
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "PodTemplate",
];

/// Every per-object Kubernetes rule.
pub static RULES: &[&K8sRule] = &[
    &privileged_container::RULE,
    &host_network::RULE,
    &host_pid::RULE,
    &host_ipc::RULE,
    &capabilities_added::RULE,
    &host_path_volume::RULE,
    &host_ports::RULE,
    &apparmor_profile::RULE,
    &selinux_options::RULE,
    &proc_mount_unmasked::RULE,
    &seccomp_unconfined::RULE,
    &unsafe_sysctls::RULE,
    &windows_host_process::RULE,
    &host_probes_lifecycle::RULE,
    &privilege_escalation::RULE,
    &capabilities_not_dropped::RULE,
    &capability_beyond_net_bind::RULE,
    &restricted_volume_type::RULE,
    &run_as_non_root::RULE,
    &run_as_root_user::RULE,
    &seccomp_not_set::RULE,
    &proc_mount_user_namespace::RULE,
    &read_only_root_filesystem::RULE,
    &cpu_request_missing::RULE,
    &cpu_limit_missing::RULE,
    &memory_request_missing::RULE,
    &memory_limit_missing::RULE,
    &image_tag_latest::RULE,
    &service_account_token_automount::RULE,
    &default_namespace::RULE,
    &env_literal_credential::RULE,
    &secret_with_data::RULE,
    &configmap_credentials::RULE,
    &runtime_socket_mount::RULE,
    &sensitive_host_path::RULE,
    &service_node_port::RULE,
    &service_load_balancer_open::RULE,
    &service_external_ips::RULE,
    &ingress_without_tls::RULE,
    &low_user_id::RULE,
    &root_group::RULE,
    &share_process_namespace::RULE,
    &default_service_account::RULE,
    &secret_in_env::RULE,
    &rbac_wildcard_verbs::RULE,
    &rbac_wildcard_resources::RULE,
    &rbac_full_control::RULE,
    &cluster_admin_binding::RULE,
    &binding_to_all_users::RULE,
    &rbac_read_secrets::RULE,
    &rbac_pod_exec::RULE,
    &rbac_escalate::RULE,
    &rbac_bind::RULE,
    &rbac_impersonate::RULE,
    &rbac_create_workloads::RULE,
    &rbac_node_proxy::RULE,
    &rbac_admission_webhooks::RULE,
    &rbac_create_sa_tokens::RULE,
    &rbac_approve_csr::RULE,
    &rbac_create_persistent_volumes::RULE,
    &network_policy_allow_all_ingress::RULE,
    &network_policy_allow_all_egress::RULE,
];

/// Rules that look at all objects of a scan together.
pub static SET_RULES: &[&K8sSetRule] = &[&namespace_without_network_policy::RULE];
