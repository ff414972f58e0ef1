//! The webhook over real HTTPS: a server on 127.0.0.1:0 with a certificate made by rcgen,
//! a client that trusts only that CA, and AdmissionReview bodies in the shapes the API
//! server sends (`tests/data/`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use palisade_server::admission::check::Violation;
use palisade_server::admission::config::{AdmissionConfig, MutateSettings};
use palisade_server::admission::json_patch;
use palisade_server::admission::review::base64_decode;
use palisade_server::admission::{
    Checker, Policies, PolicyEvaluator, PolicyFindings, RegoLoader, RunningServer, ServerOptions,
};
use palisade_server::tls;
use serde_json::{Value, json};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("palisade-admission-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn fixture(name: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

struct Harness {
    server: Option<RunningServer>,
    agent: ureq::Agent,
    base: String,
    dir: PathBuf,
}

impl Harness {
    fn start(name: &str, mut cfg: AdmissionConfig, policies: Policies) -> Harness {
        let dir = temp_dir(name);
        let certs = tls::generate(&["localhost".into(), "127.0.0.1".into()], 30, 30).unwrap();
        std::fs::write(dir.join("tls.crt"), &certs.cert).unwrap();
        std::fs::write(dir.join("tls.key"), &certs.key).unwrap();
        if cfg.audit_log.is_none() {
            cfg.audit_log = Some(dir.join("audit.log"));
        }
        let checker = Checker::new(cfg, policies).unwrap();
        let server = palisade_server::admission::start(
            ServerOptions {
                listen: "127.0.0.1:0".parse().unwrap(),
                tls_cert: dir.join("tls.crt"),
                tls_key: dir.join("tls.key"),
                worker_threads: 2,
                handle_signals: false,
                log: false,
            },
            checker,
        )
        .unwrap();
        let ca = ureq::tls::Certificate::from_pem(certs.ca_cert.as_bytes()).unwrap();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![ca])))
                    .build(),
            )
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(20)))
            .build()
            .into();
        let base = format!("https://localhost:{}", server.local_addr().port());
        Harness {
            server: Some(server),
            agent,
            base,
            dir,
        }
    }

    fn post_raw(&self, path: &str, body: &[u8]) -> (u16, String) {
        let mut r = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/json")
            .send(body)
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    }

    fn post(&self, path: &str, review: &Value) -> (u16, Value) {
        let (code, text) = self.post_raw(path, review.to_string().as_bytes());
        (code, serde_json::from_str(&text).unwrap())
    }

    /// The `response` of a review that must come back with 200.
    fn review(&self, path: &str, review: &Value) -> Value {
        let (code, body) = self.post(path, review);
        assert_eq!(code, 200, "{body}");
        assert_eq!(body["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(body["kind"], "AdmissionReview");
        body["response"].clone()
    }

    fn get(&self, path: &str) -> (u16, String) {
        let mut r = self
            .agent
            .get(format!("{}{path}", self.base))
            .call()
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    }

    fn audit_lines(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join("audit.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown();
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An evaluator standing in for slow or fixed policies.
struct FakePolicies {
    delay: Duration,
    findings: PolicyFindings,
}

impl PolicyEvaluator for FakePolicies {
    fn evaluate(&self, _object: &Value, _json: &str) -> PolicyFindings {
        std::thread::sleep(self.delay);
        self.findings.clone()
    }
    fn rule_count(&self) -> usize {
        1
    }
}

fn fake(delay_ms: u64, findings: PolicyFindings) -> Policies {
    Policies::fixed(Arc::new(FakePolicies {
        delay: Duration::from_millis(delay_ms),
        findings,
    }))
}

const PSS_FIXES: [(&str, &str); 4] = [
    (
        "PAL-K8S-015",
        "Set `securityContext.allowPrivilegeEscalation: false` on every container.",
    ),
    (
        "PAL-K8S-016",
        "Set `securityContext.capabilities.drop: [\"ALL\"]` on every container and add back only what is needed (at most `NET_BIND_SERVICE`).",
    ),
    (
        "PAL-K8S-019",
        "Set `securityContext.runAsNonRoot: true` on the pod (it applies to every container) and build the image with a non-root `USER`.",
    ),
    (
        "PAL-K8S-021",
        "Set `securityContext.seccompProfile.type: RuntimeDefault` on the pod (it applies to every container) or on each container.",
    ),
];

fn fix(id: &str) -> &'static str {
    PSS_FIXES.iter().find(|(i, _)| *i == id).unwrap().1
}

/// The denial lines for the four restricted-profile findings of a container that sets no
/// securityContext hardening.
fn unhardened(container: &str) -> String {
    format!(
        "\n- PAL-K8S-015 (MEDIUM): container \"{c}\" does not set securityContext.allowPrivilegeEscalation to false\n  fix: {}\
         \n- PAL-K8S-016 (LOW): container \"{c}\" does not set securityContext.capabilities.drop to [\"ALL\"]\n  fix: {}\
         \n- PAL-K8S-019 (MEDIUM): neither container \"{c}\" nor the pod sets securityContext.runAsNonRoot to true\n  fix: {}\
         \n- PAL-K8S-021 (LOW): neither container \"{c}\" nor the pod sets securityContext.seccompProfile\n  fix: {}",
        fix("PAL-K8S-015"),
        fix("PAL-K8S-016"),
        fix("PAL-K8S-019"),
        fix("PAL-K8S-021"),
        c = container
    )
}

#[test]
fn pod_create_privileged_is_denied_with_rule_ids_fixes_and_warnings() {
    let h = Harness::start("pod", AdmissionConfig::default(), Policies::none());
    let resp = h.review("/validate", &fixture("pod-create.json"));
    let message = format!(
        "palisade denied Pod shop/web: 5 findings must be fixed\
         \n- PAL-K8S-001 (CRITICAL): container \"web\" runs privileged\
         \n  fix: Remove `securityContext.privileged: true`, or set it to false; grant only the capabilities the process needs.{}",
        unhardened("web")
    );
    assert_eq!(
        resp,
        json!({
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "allowed": false,
            "status": {"code": 403, "message": message},
            "warnings": [
                "PAL-K8S-023 (LOW): container \"web\" does not set securityContext.readOnlyRootFilesystem to true",
                "PAL-K8S-024 (LOW): container \"web\" has no CPU request",
                "PAL-K8S-025 (LOW): container \"web\" has no CPU limit",
                "PAL-K8S-026 (LOW): container \"web\" has no memory request",
                "PAL-K8S-027 (LOW): container \"web\" has no memory limit",
                "PAL-K8S-029 (LOW): pod does not set automountServiceAccountToken, so an API token is mounted into its containers",
                "PAL-K8S-043 (LOW): pod runs as the \"default\" service account"
            ]
        })
    );
    let log = h.audit_lines();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
    assert_eq!(log[0]["user"], "alice@example.com");
    assert_eq!(log[0]["decision"], "deny");
    assert_eq!(log[0]["mode"], "enforce");
    assert_eq!(
        log[0]["resource"],
        json!({"group": "", "version": "v1", "resource": "pods", "kind": "Pod", "namespace": "shop", "name": "web"})
    );
    assert_eq!(log[0]["rules"][0]["id"], "PAL-K8S-001");
    assert_eq!(log[0]["rules"][0]["action"], "deny");
}

#[test]
fn deployment_update_with_old_object_is_allowed_with_warnings() {
    let h = Harness::start("deploy", AdmissionConfig::default(), Policies::none());
    let review = fixture("deployment-update.json");
    assert!(review["request"]["oldObject"].is_object());
    let resp = h.review("/validate", &review);
    assert_eq!(
        resp,
        json!({
            "uid": "e911857d-c318-11e8-bbad-025000000001",
            "allowed": true,
            "warnings": [
                "PAL-K8S-025 (LOW): container \"api\" has no CPU limit",
                "PAL-K8S-027 (LOW): container \"api\" has no memory limit"
            ]
        })
    );
}

#[test]
fn cronjob_dry_run_create_is_denied_and_logged_as_dry_run() {
    let h = Harness::start("cron", AdmissionConfig::default(), Policies::none());
    let resp = h.review("/validate", &fixture("cronjob-create-dryrun.json"));
    let message = format!(
        "palisade denied CronJob ops/log-shipper: 5 findings must be fixed\
         \n- PAL-K8S-006 (MEDIUM): volume \"varlog\" mounts host path \"/var/log\"\
         \n  fix: Replace the hostPath volume with an emptyDir, configMap, secret, projected or persistentVolumeClaim volume.{}",
        unhardened("ship")
    );
    assert_eq!(
        resp,
        json!({
            "uid": "3b5f0c2a-8d4e-4f6a-9b1c-7e2d0a4f6b8c",
            "allowed": false,
            "status": {"code": 403, "message": message},
            "warnings": [
                "PAL-K8S-023 (LOW): container \"ship\" does not set securityContext.readOnlyRootFilesystem to true",
                "PAL-K8S-029 (LOW): pod does not set automountServiceAccountToken, so an API token is mounted into its containers",
                "PAL-K8S-043 (LOW): pod sets no serviceAccountName, so it runs as the \"default\" service account"
            ]
        })
    );
    let log = h.audit_lines();
    assert_eq!(log[0]["dry_run"], true);
    assert_eq!(log[0]["operation"], "CREATE");
}

#[test]
fn deny_rules_follow_the_settings() {
    // Only CRITICAL denies, PSS alone does not, and a rule is turned down to LOW.
    let cfg = AdmissionConfig::parse_toml(
        "deny-severity = [\"CRITICAL\"]\ndeny-pss = \"none\"\n[rules]\ndisable = [\"PAL-K8S-024\", \"PAL-K8S-025\", \"PAL-K8S-026\", \"PAL-K8S-027\"]\nseverity = { \"PAL-K8S-006\" = \"CRITICAL\" }\n",
    )
    .unwrap();
    let h = Harness::start("settings", cfg, Policies::none());
    let resp = h.review("/validate", &fixture("cronjob-create-dryrun.json"));
    assert_eq!(
        resp["status"]["message"],
        "palisade denied CronJob ops/log-shipper: 1 finding must be fixed\
         \n- PAL-K8S-006 (CRITICAL): volume \"varlog\" mounts host path \"/var/log\"\
         \n  fix: Replace the hostPath volume with an emptyDir, configMap, secret, projected or persistentVolumeClaim volume."
    );
    assert_eq!(resp["warnings"].as_array().unwrap().len(), 7);
    let resp = h.review("/validate", &fixture("deployment-update.json"));
    assert_eq!(
        resp,
        json!({"uid": "e911857d-c318-11e8-bbad-025000000001", "allowed": true})
    );
}

#[test]
fn namespace_modes_from_settings_and_label_routes() {
    let cfg = AdmissionConfig::parse_toml("[namespaces]\nshop = \"warn\"\n\"ops*\" = \"audit\"\n")
        .unwrap();
    let h = Harness::start("modes", cfg, Policies::none());
    // Settings say warn for shop: nothing denied, the denials come back as warnings.
    let resp = h.review("/validate", &fixture("pod-create.json"));
    assert_eq!(resp["allowed"], true);
    assert!(resp.get("status").is_none());
    let warnings: Vec<&str> = resp["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(warnings.len(), 12);
    assert_eq!(
        warnings[0],
        "would deny: PAL-K8S-001 (CRITICAL): container \"web\" runs privileged"
    );
    assert_eq!(
        warnings[11],
        "PAL-K8S-043 (LOW): pod runs as the \"default\" service account"
    );
    // The settings file wins over the label route.
    let resp = h.review("/validate/enforce", &fixture("pod-create.json"));
    assert_eq!(resp["allowed"], true);
    // Audit (by glob): allowed, nothing shown, the decision logged and annotated.
    let resp = h.review("/validate", &fixture("cronjob-create-dryrun.json"));
    assert_eq!(
        resp,
        json!({
            "uid": "3b5f0c2a-8d4e-4f6a-9b1c-7e2d0a4f6b8c",
            "allowed": true,
            "auditAnnotations": {
                "decision": "would-deny",
                "rules": "PAL-K8S-006,PAL-K8S-015,PAL-K8S-016,PAL-K8S-019,PAL-K8S-021,PAL-K8S-023,PAL-K8S-029,PAL-K8S-043"
            }
        })
    );
    // A namespace the settings do not name takes the mode its label routed it to.
    let mut review = fixture("pod-create.json");
    review["request"]["namespace"] = json!("payments");
    review["request"]["object"]["metadata"]["namespace"] = json!("payments");
    assert_eq!(h.review("/validate/enforce", &review)["allowed"], false);
    let resp = h.review("/validate/audit", &review);
    assert_eq!(resp["allowed"], true);
    assert!(resp.get("warnings").is_none());
    assert_eq!(h.review("/validate", &review)["allowed"], false);
    let log = h.audit_lines();
    let audit: Vec<&Value> = log.iter().filter(|l| l["mode"] == "audit").collect();
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0]["decision"], "allow");
    assert_eq!(audit[0]["action"], "deny");
    assert_eq!(audit[1]["resource"]["namespace"], "payments");
}

#[test]
fn exemptions_by_namespace_user_group_and_image() {
    let cfg = AdmissionConfig::parse_toml(
        "[exempt]\nnamespaces = [\"ops\"]\nusers = [\"alice@*\"]\ngroups = [\"system:serviceaccounts:argocd\"]\nimages = [\"nginx:*\", \"docker.io/library/*\"]\n",
    )
    .unwrap();
    let h = Harness::start("exempt", cfg, Policies::none());
    let resp = h.review("/validate", &fixture("cronjob-create-dryrun.json"));
    assert_eq!(
        resp,
        json!({"uid": "3b5f0c2a-8d4e-4f6a-9b1c-7e2d0a4f6b8c", "allowed": true})
    );
    let resp = h.review("/validate", &fixture("pod-create.json"));
    assert_eq!(resp["allowed"], true);
    let mut review = fixture("pod-create.json");
    review["request"]["userInfo"]["username"] = json!("mallory@example.com");
    // Every image matches an exempt pattern.
    assert_eq!(h.review("/validate", &review)["allowed"], true);
    review["request"]["object"]["spec"]["containers"][0]["image"] = json!("evil.example/miner:1");
    assert_eq!(h.review("/validate", &review)["allowed"], false);
    let log = h.audit_lines();
    let notes: Vec<&str> = log.iter().filter_map(|l| l["note"].as_str()).collect();
    assert_eq!(
        notes,
        [
            "exempt: namespace \"ops\" is exempt",
            "exempt: user \"alice@example.com\" is exempt",
            "exempt: every image is exempt"
        ]
    );
}

#[test]
fn delete_unknown_kinds_and_missing_objects() {
    let h = Harness::start("kinds", AdmissionConfig::default(), Policies::none());
    let mut del = fixture("pod-create.json");
    let obj = del["request"]["object"].take();
    del["request"]["operation"] = json!("DELETE");
    del["request"]["oldObject"] = obj;
    del["request"]["options"] = json!({"kind": "DeleteOptions", "apiVersion": "meta.k8s.io/v1"});
    assert_eq!(
        h.review("/validate", &del),
        json!({"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "allowed": true})
    );

    let widget = json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "c0ffee00-0000-4000-8000-000000000001",
            "kind": {"group": "example.com", "version": "v1", "kind": "Widget"},
            "resource": {"group": "example.com", "version": "v1", "resource": "widgets"},
            "name": "w", "namespace": "shop", "operation": "CREATE",
            "userInfo": {"username": "alice@example.com", "groups": ["system:authenticated"]},
            "object": {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 3}},
            "oldObject": null, "dryRun": false
        }
    });
    assert_eq!(
        h.review("/validate", &widget),
        json!({"uid": "c0ffee00-0000-4000-8000-000000000001", "allowed": true})
    );
    let log = h.audit_lines();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(
        log[0]["note"],
        "unknown kind example.com/v1/Widget: no built-in rules apply"
    );

    let mut missing = fixture("pod-create.json");
    missing["request"]["object"] = Value::Null;
    assert_eq!(
        h.review("/validate", &missing),
        json!({
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "allowed": false,
            "status": {"code": 400, "message": "palisade: request.object is missing or not an object for CREATE Pod shop/web"}
        })
    );
}

#[test]
fn bad_requests_get_clear_errors() {
    let cfg = AdmissionConfig {
        max_body_bytes: 64 * 1024,
        ..AdmissionConfig::default()
    };
    let h = Harness::start("bad", cfg, Policies::none());
    let status = |code: u16, reason: &str, message: &str| json!({"apiVersion": "v1", "kind": "Status", "status": "Failure", "message": message, "reason": reason, "code": code});
    let (code, body) = h.post_raw("/validate", b"{\"apiVersion\": ");
    assert_eq!(code, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        status(
            400,
            "BadRequest",
            "request body is not JSON: EOF while parsing a value at line 1 column 15"
        )
    );
    let mut old = fixture("pod-create.json");
    old["apiVersion"] = json!("admission.k8s.io/v1beta1");
    assert_eq!(
        h.post("/validate", &old),
        (
            400,
            status(
                400,
                "BadRequest",
                "AdmissionReview apiVersion \"admission.k8s.io/v1beta1\" is not supported: this webhook serves admission.k8s.io/v1; set admissionReviewVersions: [\"v1\"] in the webhook configuration"
            )
        )
    );
    let mut no_uid = fixture("pod-create.json");
    no_uid["request"].as_object_mut().unwrap().remove("uid");
    assert_eq!(
        h.post("/validate", &no_uid),
        (
            400,
            status(400, "BadRequest", "AdmissionReview request has no uid")
        )
    );
    let mut big = fixture("pod-create.json");
    big["request"]["object"]["metadata"]["annotations"] = json!({"blob": "x".repeat(70 * 1024)});
    assert_eq!(
        h.post("/validate", &big),
        (
            413,
            status(
                413,
                "RequestEntityTooLarge",
                "request body is over the 65536 byte limit (max-body-bytes)"
            )
        )
    );
    let (code, body) = h.get("/validate");
    assert_eq!(code, 405, "{body}");
    let (code, body) = h.get("/nope");
    assert_eq!(code, 404);
    assert!(body.contains("no such endpoint"), "{body}");
    let (code, body) = h.post_raw("/validate/strict", b"{}");
    assert_eq!(code, 404);
    assert!(body.contains("unknown mode \\\"strict\\\""), "{body}");
    // The server is still answering.
    assert_eq!(
        h.review("/validate", &fixture("deployment-update.json"))["allowed"],
        true
    );
}

#[test]
fn mutate_adds_safe_defaults_that_apply_cleanly() {
    let cfg = AdmissionConfig {
        mutate: MutateSettings {
            allow_privilege_escalation: true,
            seccomp_profile: true,
            run_as_non_root: true,
        },
        ..AdmissionConfig::default()
    };
    let h = Harness::start("mutate", cfg, Policies::none());
    let review = fixture("cronjob-create-dryrun.json");
    let resp = h.review("/mutate", &review);
    assert_eq!(resp["uid"], "3b5f0c2a-8d4e-4f6a-9b1c-7e2d0a4f6b8c");
    assert_eq!(resp["allowed"], true);
    assert_eq!(resp["patchType"], "JSONPatch");
    let patch: Value =
        serde_json::from_slice(&base64_decode(resp["patch"].as_str().unwrap()).unwrap()).unwrap();
    let base = "/spec/jobTemplate/spec/template/spec";
    assert_eq!(
        patch,
        json!([
            {"op": "add", "path": format!("{base}/securityContext/seccompProfile"), "value": {"type": "RuntimeDefault"}},
            {"op": "add", "path": format!("{base}/securityContext/runAsNonRoot"), "value": true},
            {"op": "add", "path": format!("{base}/containers/0/securityContext"), "value": {"allowPrivilegeEscalation": false}}
        ])
    );
    let mut object = review["request"]["object"].clone();
    json_patch::apply(&mut object, patch.as_array().unwrap()).unwrap();
    assert_eq!(
        object.pointer(&format!("{base}/securityContext")).unwrap(),
        &json!({"seccompProfile": {"type": "RuntimeDefault"}, "runAsNonRoot": true})
    );
    // The patched object no longer fails the checks the defaults cover.
    let mut patched = review.clone();
    patched["request"]["object"] = object;
    let resp = h.review("/validate", &patched);
    let message = resp["status"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("palisade denied CronJob ops/log-shipper: 2 findings must be fixed"),
        "{message}"
    );
    for gone in ["PAL-K8S-015", "PAL-K8S-019", "PAL-K8S-021"] {
        assert!(!message.contains(gone), "{message}");
    }
    // A Pod's spec cannot change on UPDATE: no patch.
    let mut update = fixture("pod-create.json");
    update["request"]["operation"] = json!("UPDATE");
    update["request"]["oldObject"] = update["request"]["object"].clone();
    assert_eq!(
        h.review("/mutate", &update),
        json!({"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "allowed": true})
    );
    // The privileged container gets no allowPrivilegeEscalation (the API server would refuse it).
    let resp = h.review("/mutate", &fixture("pod-create.json"));
    let patch: Value =
        serde_json::from_slice(&base64_decode(resp["patch"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(
        patch,
        json!([
            {"op": "add", "path": "/spec/securityContext/seccompProfile", "value": {"type": "RuntimeDefault"}},
            {"op": "add", "path": "/spec/securityContext/runAsNonRoot", "value": true}
        ])
    );
}

#[test]
fn mutate_is_off_unless_configured() {
    let h = Harness::start("mutate-off", AdmissionConfig::default(), Policies::none());
    assert_eq!(
        h.review("/mutate", &fixture("cronjob-create-dryrun.json")),
        json!({"uid": "3b5f0c2a-8d4e-4f6a-9b1c-7e2d0a4f6b8c", "allowed": true})
    );
}

const TEAM_LABEL: &str = r#"# METADATA
# title: Workload without a team label
# custom:
#   id: TEST-001
#   severity: HIGH
#   recommended_actions:
#   - Add a team label.
package test.team

import rego.v1

deny contains msg if {
	not input.metadata.labels.team
	msg := sprintf("%s %q has no team label", [input.kind, input.metadata.name])
}
"#;

const BROKEN: &str = r#"package test.broken

import rego.v1

warn contains msg if {
	n := to_number(input.metadata.name)
	msg := sprintf("%d", [n])
}
"#;

fn policy_dir(h_name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = temp_dir(&format!("{h_name}-policies"));
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

fn rego(dir: &Path) -> Policies {
    Policies::load(Arc::new(RegoLoader::new(
        vec![dir.to_path_buf()],
        Vec::new(),
        Duration::from_secs(1),
    )))
    .unwrap()
}

#[test]
fn rego_policies_deny_next_to_builtins_and_reload_on_change() {
    let dir = policy_dir("rego", &[("team.rego", TEAM_LABEL)]);
    let cfg = AdmissionConfig {
        reload_interval_secs: 1,
        deny_pss: palisade_server::admission::config::PssDeny::None,
        ..AdmissionConfig::default()
    };
    let h = Harness::start("rego", cfg, rego(&dir));
    let resp = h.review("/validate", &fixture("pod-create.json"));
    assert_eq!(
        resp["status"]["message"],
        "palisade denied Pod shop/web: 2 findings must be fixed\
         \n- PAL-K8S-001 (CRITICAL): container \"web\" runs privileged\
         \n  fix: Remove `securityContext.privileged: true`, or set it to false; grant only the capabilities the process needs.\
         \n- TEST-001 (HIGH): Pod \"web\" has no team label\
         \n  fix: Add a team label."
    );
    // The deployment has a team label.
    assert_eq!(
        h.review("/validate", &fixture("deployment-update.json"))["allowed"],
        true
    );

    // A new policy file is picked up without a restart, and requests keep being answered.
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(
        dir.join("replicas.rego"),
        "package test.replicas\nimport rego.v1\n# METADATA\n# custom:\n#   id: TEST-002\n#   severity: CRITICAL\ndeny contains \"at least 3 replicas\" if input.spec.replicas < 3\n",
    )
    .unwrap();
    let started = Instant::now();
    loop {
        let resp = h.review("/validate", &fixture("deployment-update.json"));
        if resp["allowed"] == false {
            assert!(
                resp["status"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("TEST-002 (CRITICAL): at least 3 replicas")
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "policy not reloaded"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // A broken edit keeps the last good set.
    std::fs::write(
        dir.join("replicas.rego"),
        "package test.replicas\ndeny contains x if {",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        h.review("/validate", &fixture("deployment-update.json"))["allowed"],
        false
    );
    let (_, metrics) = h.get("/metrics");
    assert!(
        metrics.contains("palisade_admission_reloads_total{what=\"policies\",result=\"ok\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics
            .contains("palisade_admission_reloads_total{what=\"policies\",result=\"error\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("palisade_admission_policy_generation 2\n"),
        "{metrics}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_example_policies_are_enforced() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/policies");
    let loader = RegoLoader::new(
        vec![examples.clone()],
        vec![examples.join("data.yaml")],
        Duration::from_secs(1),
    );
    let h = Harness::start(
        "examples",
        AdmissionConfig::default(),
        Policies::load(Arc::new(loader)).unwrap(),
    );
    // nginx:1.27.3 comes from Docker Hub, which data.yaml does not allow; the pod lacks labels.
    let resp = h.review("/validate", &fixture("pod-create.json"));
    let message = resp["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("ORG-K8S-002 (HIGH): container \"web\" uses \"nginx:1.27.3\""),
        "{message}"
    );
    let all: String = resp["warnings"].to_string() + message;
    assert!(all.contains("ORG-K8S-001"), "{all}");
}

#[test]
fn failing_policies_follow_the_failure_mode() {
    let dir = policy_dir("broken", &[("broken.rego", BROKEN)]);
    let h = Harness::start("fail-deny", AdmissionConfig::default(), rego(&dir));
    let resp = h.review("/validate", &fixture("deployment-update.json"));
    assert_eq!(resp["allowed"], false);
    assert_eq!(resp["status"]["code"], 500);
    let message = resp["status"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("palisade: custom policies failed: rule test.broken.warn: "),
        "{message}"
    );
    assert!(message.contains("broken.rego:"), "{message}");
    assert!(
        message.ends_with("; denied (failure-mode = deny)"),
        "{message}"
    );
    let log = h.audit_lines();
    assert!(
        log[0]["error"].as_str().unwrap().contains("broken.rego:6:"),
        "{:?}",
        log[0]
    );
    let (_, metrics) = h.get("/metrics");
    assert!(
        metrics.contains("palisade_admission_policy_errors_total 1\n"),
        "{metrics}"
    );
    drop(h);

    let cfg = AdmissionConfig::parse_toml("failure-mode = \"allow\"").unwrap();
    let h = Harness::start("fail-allow", cfg, rego(&dir));
    let resp = h.review("/validate", &fixture("deployment-update.json"));
    assert_eq!(resp["allowed"], true);
    let last = resp["warnings"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .as_str()
        .unwrap();
    assert!(
        last.starts_with("palisade: custom policies failed: rule test.broken.warn: "),
        "{last}"
    );
    assert!(last.chars().count() <= 256);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_slow_check_is_answered_by_the_deadline() {
    let cfg = AdmissionConfig {
        timeout_ms: 300,
        ..AdmissionConfig::default()
    };
    let h = Harness::start("slow", cfg, fake(2000, PolicyFindings::default()));
    let started = Instant::now();
    let resp = h.review("/validate", &fixture("deployment-update.json"));
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1500), "{took:?}");
    assert_eq!(
        resp,
        json!({
            "uid": "e911857d-c318-11e8-bbad-025000000001",
            "allowed": false,
            "status": {"code": 500, "message": "palisade: checks did not finish before the deadline; denied (failure-mode = deny)"}
        })
    );
}

#[test]
fn shutdown_finishes_requests_in_flight() {
    let v = Violation {
        rule_id: "FAKE-1".into(),
        severity: palisade_core::Severity::Low,
        title: "t".into(),
        message: "slow but fine".into(),
        fix: String::new(),
        pss: None,
    };
    let mut h = Harness::start(
        "shutdown",
        AdmissionConfig::default(),
        fake(
            800,
            PolicyFindings {
                violations: vec![v],
                errors: vec![],
            },
        ),
    );
    let agent = h.agent.clone();
    let url = format!("{}/validate", h.base);
    let body = fixture("deployment-update.json").to_string();
    let client = std::thread::spawn(move || {
        let mut r = agent.post(url).send(body.as_bytes()).unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    });
    std::thread::sleep(Duration::from_millis(300));
    let base = h.base.clone();
    let agent = h.agent.clone();
    h.stop();
    let (code, text) = client.join().unwrap();
    assert_eq!(code, 200);
    let resp: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(resp["response"]["allowed"], true);
    assert!(
        resp["response"]["warnings"]
            .to_string()
            .contains("FAKE-1 (LOW): slow but fine")
    );
    // Stopped: no more connections.
    assert!(agent.get(format!("{base}/healthz")).call().is_err());
}

#[test]
fn health_readiness_and_metrics() {
    let h = Harness::start("health", AdmissionConfig::default(), Policies::none());
    assert_eq!(h.get("/healthz"), (200, "ok\n".to_string()));
    assert_eq!(h.get("/readyz"), (200, "ok\n".to_string()));
    h.review("/validate", &fixture("pod-create.json"));
    h.review("/validate", &fixture("deployment-update.json"));
    h.post_raw("/validate", b"nope");
    let (code, m) = h.get("/metrics");
    assert_eq!(code, 200);
    for line in [
        "palisade_admission_requests_total{path=\"/validate\",result=\"allowed\"} 1\n",
        "palisade_admission_requests_total{path=\"/validate\",result=\"bad_request\"} 1\n",
        "palisade_admission_requests_total{path=\"/validate\",result=\"denied\"} 1\n",
        "palisade_admission_decisions_total{rule=\"PAL-K8S-001\",mode=\"enforce\",action=\"deny\"} 1\n",
        "palisade_admission_decisions_total{rule=\"PAL-K8S-025\",mode=\"enforce\",action=\"warn\"} 2\n",
        "palisade_admission_request_duration_seconds_count{path=\"/validate\"} 3\n",
        "palisade_admission_evaluation_seconds_count{stage=\"builtin\"} 2\n",
        "palisade_admission_evaluation_seconds_count{stage=\"policy\"} 0\n",
        "# TYPE palisade_admission_request_duration_seconds histogram\n",
    ] {
        assert!(m.contains(line), "missing {line:?} in\n{m}");
    }
}

#[test]
fn concurrent_requests_each_get_their_own_answer() {
    let dir = policy_dir("concurrent", &[("team.rego", TEAM_LABEL)]);
    let h = Harness::start("concurrent", AdmissionConfig::default(), rego(&dir));
    let base = fixture("deployment-update.json");
    std::thread::scope(|s| {
        for t in 0..6 {
            let h = &h;
            let base = &base;
            s.spawn(move || {
                for i in 0..20 {
                    let mut r = base.clone();
                    let uid = format!("uid-{t}-{i}");
                    r["request"]["uid"] = json!(uid);
                    if i % 2 == 0 {
                        r["request"]["object"]["metadata"]["labels"]
                            .as_object_mut()
                            .unwrap()
                            .remove("team");
                    }
                    let resp = h.review("/validate", &r);
                    assert_eq!(resp["uid"], uid);
                    assert_eq!(resp["allowed"], i % 2 != 0, "{resp}");
                }
            });
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tls_problems_are_clear_startup_errors() {
    let dir = temp_dir("tls");
    let a = tls::generate(&["localhost".into()], 30, 30).unwrap();
    let b = tls::generate(&["localhost".into()], 30, 30).unwrap();
    std::fs::write(dir.join("a.crt"), &a.cert).unwrap();
    std::fs::write(dir.join("b.key"), &b.key).unwrap();
    std::fs::write(dir.join("a.key"), &a.key).unwrap();
    let start = |cert: &str, key: &str| {
        let checker = Checker::new(AdmissionConfig::default(), Policies::none()).unwrap();
        palisade_server::admission::start(
            ServerOptions {
                listen: "127.0.0.1:0".parse().unwrap(),
                tls_cert: dir.join(cert),
                tls_key: dir.join(key),
                worker_threads: 1,
                handle_signals: false,
                log: false,
            },
            checker,
        )
        .map(|_| ())
        .unwrap_err()
        .to_string()
    };
    let d = dir.display();
    assert_eq!(
        start("a.crt", "b.key"),
        format!(
            "the private key {d}/b.key does not belong to the certificate {d}/a.crt (the certificate's public key differs); pass the key the certificate was issued for"
        )
    );
    assert_eq!(
        start("a.crt", "missing.key"),
        format!("{d}/missing.key: cannot read: No such file or directory (os error 2)")
    );
    assert_eq!(
        start("a.crt", "a.crt"),
        format!(
            "{d}/a.crt: no private key found: expected a PEM PKCS#8, RSA or EC private key (is this the certificate file?)"
        )
    );
    assert_eq!(
        start("a.key", "a.key"),
        format!(
            "{d}/a.key: no certificate found: expected PEM with `-----BEGIN CERTIFICATE-----` (is this the key file?)"
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}
