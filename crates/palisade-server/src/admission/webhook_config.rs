//! `ValidatingWebhookConfiguration` and `MutatingWebhookConfiguration` YAML for the
//! webhook's Service.
//!
//! Namespace modes from labels: the AdmissionReview does not carry the namespace's labels,
//! but the API server evaluates `namespaceSelector`s. So the validating configuration holds
//! four webhooks with disjoint selectors: namespaces labelled `palisade.dev/mode=enforce`,
//! `=warn` or `=audit` are sent to `/validate/enforce`, `/validate/warn`, `/validate/audit`;
//! all others (no label, or another value) to `/validate`, where the settings file decides.
//! Each request matches exactly one of them, so it is checked once. `kube-system` and the
//! webhook's own namespace are never sent, so a webhook that is down cannot keep itself
//! (or the control plane) from starting.

use std::fmt::Write;

use super::review::base64_encode;

/// The label whose value routes a namespace's requests to a mode.
pub const MODE_LABEL: &str = "palisade.dev/mode";

/// What to generate.
#[derive(Debug, Clone)]
pub struct WebhookConfigOptions {
    /// Name of the configuration objects.
    pub name: String,
    pub service_namespace: String,
    pub service_name: String,
    pub port: u16,
    /// The PEM CA bundle that signed the serving certificate.
    pub ca_bundle_pem: String,
    pub mutating: bool,
    /// `Fail` or `Ignore`, for the validating webhooks (mutation is always `Ignore`: the
    /// defaults are a convenience, not a control).
    pub failure_policy: String,
    pub timeout_seconds: u32,
}

/// Resources the webhooks receive: every kind that carries a pod template.
const RULES: &[(&str, &[&str])] = &[
    ("", &["pods", "replicationcontrollers", "podtemplates"]),
    (
        "apps",
        &["deployments", "replicasets", "statefulsets", "daemonsets"],
    ),
    ("batch", &["jobs", "cronjobs"]),
];

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn q(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

impl WebhookConfigOptions {
    /// Checks the inputs the API server would refuse.
    pub fn validate(&self) -> Result<(), String> {
        for (what, v) in [
            ("service namespace", &self.service_namespace),
            ("service name", &self.service_name),
        ] {
            if !is_dns_label(v) {
                return Err(format!(
                    "{what} {v:?} is not a valid name (lowercase letters, digits and '-', at most 63)"
                ));
            }
        }
        if !self.ca_bundle_pem.contains("-----BEGIN CERTIFICATE-----") {
            return Err(
                "the CA bundle holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
            );
        }
        if !matches!(self.failure_policy.as_str(), "Fail" | "Ignore") {
            return Err(format!(
                "failure policy {:?}: expected Fail or Ignore",
                self.failure_policy
            ));
        }
        if !(1..=30).contains(&self.timeout_seconds) {
            return Err("timeoutSeconds must be between 1 and 30".into());
        }
        Ok(())
    }

    fn write_rules(&self, out: &mut String, operations: &str, ephemeral: bool) {
        out.push_str("    rules:\n");
        for (group, resources) in RULES {
            let mut res: Vec<String> = resources.iter().map(|r| q(r)).collect();
            if ephemeral && group.is_empty() {
                res.push(q("pods/ephemeralcontainers"));
            }
            let _ = write!(
                out,
                "      - apiGroups: [{}]\n        apiVersions: [\"v1\"]\n        operations: [{operations}]\n        resources: [{}]\n        scope: Namespaced\n",
                q(group),
                res.join(", ")
            );
        }
    }

    fn write_webhook(
        &self,
        out: &mut String,
        name: &str,
        path: &str,
        failure_policy: &str,
        mode_expr: Option<(&str, &str)>,
        mutating: bool,
    ) {
        let _ = write!(
            out,
            "  - name: {}\n    admissionReviewVersions: [\"v1\"]\n    sideEffects: None\n    failurePolicy: {failure_policy}\n    timeoutSeconds: {}\n    matchPolicy: Equivalent\n",
            q(name),
            self.timeout_seconds
        );
        if mutating {
            out.push_str("    reinvocationPolicy: Never\n");
        }
        let _ = write!(
            out,
            "    clientConfig:\n      service:\n        namespace: {}\n        name: {}\n        path: {}\n        port: {}\n      caBundle: {}\n",
            q(&self.service_namespace),
            q(&self.service_name),
            q(path),
            self.port,
            base64_encode(self.ca_bundle_pem.as_bytes())
        );
        self.write_rules(out, "\"CREATE\", \"UPDATE\"", !mutating);
        let mut excluded = vec![q("kube-system")];
        if self.service_namespace != "kube-system" {
            excluded.push(q(&self.service_namespace));
        }
        let _ = write!(
            out,
            "    namespaceSelector:\n      matchExpressions:\n        - key: kubernetes.io/metadata.name\n          operator: NotIn\n          values: [{}]\n",
            excluded.join(", ")
        );
        if let Some((op, values)) = mode_expr {
            let _ = write!(
                out,
                "        - key: {MODE_LABEL}\n          operator: {op}\n          values: [{values}]\n"
            );
        }
    }

    /// The YAML: the validating configuration, then (with `mutating`) the mutating one.
    pub fn render(&self) -> Result<String, String> {
        self.validate()?;
        let mut out = String::new();
        let _ = write!(
            out,
            "# Generated by `palisade admission config`. Namespaces labelled {MODE_LABEL}=enforce|warn|audit\n# get that mode; the others get the mode of the webhook's settings file.\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata:\n  name: {}\n  labels:\n    app.kubernetes.io/name: palisade-webhook\nwebhooks:\n",
            q(&self.name)
        );
        self.write_webhook(
            &mut out,
            "validate.palisade.dev",
            "/validate",
            &self.failure_policy,
            Some(("NotIn", "\"enforce\", \"warn\", \"audit\"")),
            false,
        );
        for mode in ["enforce", "warn", "audit"] {
            self.write_webhook(
                &mut out,
                &format!("{mode}.validate.palisade.dev"),
                &format!("/validate/{mode}"),
                &self.failure_policy,
                Some(("In", &q(mode))),
                false,
            );
        }
        if self.mutating {
            let _ = write!(
                out,
                "---\napiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata:\n  name: {}\n  labels:\n    app.kubernetes.io/name: palisade-webhook\nwebhooks:\n",
                q(&self.name)
            );
            self.write_webhook(
                &mut out,
                "mutate.palisade.dev",
                "/mutate",
                "Ignore",
                None,
                true,
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> WebhookConfigOptions {
        WebhookConfigOptions {
            name: "palisade".into(),
            service_namespace: "palisade".into(),
            service_name: "palisade-webhook".into(),
            port: 443,
            ca_bundle_pem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into(),
            mutating: true,
            failure_policy: "Fail".into(),
            timeout_seconds: 5,
        }
    }

    #[test]
    fn renders_parseable_yaml_with_disjoint_selectors() {
        let yaml = opts().render().unwrap();
        let stream = palisade_yaml::parse_stream(&yaml);
        assert!(stream.error.is_none(), "{:?}", stream.error);
        assert_eq!(stream.documents.len(), 2);
        let v: serde_json::Value =
            serde_json::from_str(&stream.documents[0].root.to_json()).unwrap();
        let hooks = v["webhooks"].as_array().unwrap();
        assert_eq!(hooks.len(), 4);
        assert_eq!(hooks[0]["clientConfig"]["service"]["path"], "/validate");
        assert_eq!(hooks[0]["sideEffects"], "None");
        assert_eq!(hooks[0]["admissionReviewVersions"][0], "v1");
        assert_eq!(
            hooks[0]["namespaceSelector"]["matchExpressions"][0]["values"],
            serde_json::json!(["kube-system", "palisade"])
        );
        assert_eq!(
            hooks[2]["clientConfig"]["service"]["path"],
            "/validate/warn"
        );
        assert_eq!(
            hooks[0]["rules"][0]["resources"],
            serde_json::json!([
                "pods",
                "replicationcontrollers",
                "podtemplates",
                "pods/ephemeralcontainers"
            ])
        );
        let m: serde_json::Value =
            serde_json::from_str(&stream.documents[1].root.to_json()).unwrap();
        assert_eq!(m["kind"], "MutatingWebhookConfiguration");
        assert_eq!(m["webhooks"][0]["failurePolicy"], "Ignore");
        let ca = m["webhooks"][0]["clientConfig"]["caBundle"]
            .as_str()
            .unwrap();
        assert_eq!(
            crate::admission::review::base64_decode(ca).unwrap(),
            opts().ca_bundle_pem.as_bytes()
        );
    }

    #[test]
    fn refuses_bad_input() {
        let mut o = opts();
        o.service_name = "Bad_Name".into();
        assert!(o.render().unwrap_err().contains("not a valid name"));
        let mut o = opts();
        o.ca_bundle_pem = "junk".into();
        assert!(o.render().unwrap_err().contains("no PEM certificate"));
        let mut o = opts();
        o.failure_policy = "Maybe".into();
        assert!(o.render().is_err());
    }
}
