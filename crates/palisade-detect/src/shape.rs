//! Which log source an event comes from, and the shape rules expect it in.
//!
//! A rule's `logsource` names a product, service and category; an event gets the same three
//! from its source. Events arrive through a source whose kind Palisade knows (the ingest
//! source, or `--source` on the command line); JSON of unknown origin is recognised by the
//! fields each format always carries.
//!
//! Windows event JSON in the EVTX-to-JSON shape SigmaHQ's regression data uses
//! (`{"Event": {"System": …, "EventData": …}}`) is flattened: the `EventData` (or `UserData`)
//! fields move to the top level, with `EventID`, `Channel`, `Computer`, `Provider_Name` and
//! the other `System` values rules use beside them, and spaces are removed from field names
//! (Defender writes `Source Name`, rules write `SourceName`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use rsigma_parser::LogSource;
use serde_json::{Map, Value};

/// The sources Palisade has routing and pipelines for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    K8sAudit,
    CloudTrail,
    GcpAudit,
    AzureActivity,
    Okta,
    GitHubAudit,
    Auditd,
    /// Process start events from a Linux sensor (Sigma `process_creation` field names).
    Process,
    Windows,
    Falco,
    Syslog,
    /// JSON of no known format: only rules without a product/service/category run on it.
    Generic,
}

impl SourceKind {
    pub const ALL: [SourceKind; 12] = [
        SourceKind::K8sAudit,
        SourceKind::CloudTrail,
        SourceKind::GcpAudit,
        SourceKind::AzureActivity,
        SourceKind::Okta,
        SourceKind::GitHubAudit,
        SourceKind::Auditd,
        SourceKind::Process,
        SourceKind::Windows,
        SourceKind::Falco,
        SourceKind::Syslog,
        SourceKind::Generic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::K8sAudit => "k8s_audit",
            SourceKind::CloudTrail => "cloudtrail",
            SourceKind::GcpAudit => "gcp_audit",
            SourceKind::AzureActivity => "azure_activity",
            SourceKind::Okta => "okta",
            SourceKind::GitHubAudit => "github_audit",
            SourceKind::Auditd => "auditd",
            SourceKind::Process => "process",
            SourceKind::Windows => "windows",
            SourceKind::Falco => "falco",
            SourceKind::Syslog => "syslog",
            SourceKind::Generic => "json",
        }
    }

    /// A source kind by name (event kinds of the event store, and the names `--source` takes).
    /// `json` means "recognise it": `None`.
    pub fn from_name(name: &str) -> Result<Option<SourceKind>, String> {
        let n = name.trim().to_ascii_lowercase().replace('-', "_");
        Ok(Some(match n.as_str() {
            "k8s_audit" | "k8s" | "kubernetes" | "kubernetes_audit" => SourceKind::K8sAudit,
            "cloudtrail" | "aws" | "aws_cloudtrail" => SourceKind::CloudTrail,
            "gcp" | "gcp_audit" => SourceKind::GcpAudit,
            "azure" | "azure_activity" | "activitylogs" => SourceKind::AzureActivity,
            "okta" => SourceKind::Okta,
            "github" | "github_audit" => SourceKind::GitHubAudit,
            "auditd" | "linux_auditd" => SourceKind::Auditd,
            "process" | "process_creation" => SourceKind::Process,
            "windows" | "evtx" | "sysmon" => SourceKind::Windows,
            "falco" => SourceKind::Falco,
            "syslog" => SourceKind::Syslog,
            "json" | "ndjson" | "auto" => return Ok(None),
            _ => {
                return Err(format!(
                    "unknown event source {name:?}: expected one of k8s-audit, cloudtrail, gcp-audit, azure-activity, okta, github-audit, auditd, process, windows, falco, syslog, json"
                ));
            }
        }))
    }

    /// Position in [`SourceKind::ALL`].
    pub(crate) fn index(self) -> usize {
        SourceKind::ALL
            .iter()
            .position(|k| *k == self)
            .unwrap_or_default()
    }

    /// Whether [`SourceKind::logsources`] depends on the event (the syslog program, the
    /// Windows channel and event id) rather than on the kind alone.
    pub(crate) fn logsource_varies(self) -> bool {
        matches!(self, SourceKind::Syslog | SourceKind::Windows)
    }

    /// Recognise a JSON event's format by the fields it always carries.
    pub fn recognise(event: &Value) -> SourceKind {
        let Some(o) = event.as_object() else {
            return SourceKind::Generic;
        };
        let has = |k: &str| o.contains_key(k);
        let s = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("");
        if o.get("Event").and_then(|e| e.get("System")).is_some()
            || (has("EventID") && has("Channel"))
        {
            SourceKind::Windows
        } else if s("apiVersion").starts_with("audit.k8s.io/")
            || (has("auditID") && has("verb") && has("requestURI"))
        {
            SourceKind::K8sAudit
        } else if has("eventSource")
            && has("eventName")
            && (has("awsRegion") || has("userIdentity"))
        {
            SourceKind::CloudTrail
        } else if o.get("protoPayload").is_some_and(Value::is_object) {
            SourceKind::GcpAudit
        } else if has("operationName") && (has("resourceId") || has("correlationId")) {
            SourceKind::AzureActivity
        } else if has("eventType")
            && has("actor")
            && (has("displayMessage") || has("legacyEventType"))
        {
            SourceKind::Okta
        } else if has("action")
            && (has("actor") || has("actor_id"))
            && (has("_document_id") || has("org") || has("business") || has("repo"))
        {
            SourceKind::GitHubAudit
        } else if has("output_fields") && has("rule") && has("priority") {
            SourceKind::Falco
        } else if has("type") && (has("syscall") || s("msg").starts_with("audit(")) {
            SourceKind::Auditd
        } else if has("Image") && has("CommandLine") && (has("ProcessId") || has("ParentImage")) {
            SourceKind::Process
        } else {
            SourceKind::Generic
        }
    }

    /// The log sources (product, service, category) an event of this kind belongs to. Most
    /// have one; a Sysmon registry event belongs to its specific category and `registry_event`.
    pub fn logsources(self, event: &Value) -> Vec<LogSource> {
        let ls = |product: &str, service: Option<&str>, category: Option<&str>| LogSource {
            product: Some(product.to_owned()),
            service: service.map(str::to_owned),
            category: category.map(str::to_owned),
            ..LogSource::default()
        };
        match self {
            SourceKind::K8sAudit => vec![ls("kubernetes", Some("audit"), Some("application"))],
            SourceKind::CloudTrail => vec![ls("aws", Some("cloudtrail"), None)],
            SourceKind::GcpAudit => vec![ls("gcp", Some("gcp.audit"), None)],
            SourceKind::AzureActivity => vec![ls("azure", Some("activitylogs"), None)],
            SourceKind::Okta => vec![ls("okta", Some("okta"), None)],
            SourceKind::GitHubAudit => vec![ls("github", Some("audit"), None)],
            SourceKind::Auditd => vec![ls("linux", Some("auditd"), None)],
            SourceKind::Process => vec![ls("linux", None, Some("process_creation"))],
            SourceKind::Falco => vec![ls("falco", None, None)],
            SourceKind::Syslog => {
                let app = event
                    .get("app_name")
                    .or_else(|| event.get("appname"))
                    .or_else(|| event.get("program"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let mut out = vec![ls("linux", Some("syslog"), None)];
                if matches!(
                    app,
                    "sshd"
                        | "sudo"
                        | "su"
                        | "login"
                        | "passwd"
                        | "useradd"
                        | "usermod"
                        | "groupadd"
                        | "systemd-logind"
                        | "polkitd"
                        | "pam"
                ) {
                    out.push(ls("linux", Some("auth"), None));
                }
                if app == "sshd" {
                    out.push(ls("linux", Some("sshd"), None));
                }
                if app == "sudo" {
                    out.push(ls("linux", Some("sudo"), None));
                }
                out
            }
            SourceKind::Windows => windows_logsources(event),
            SourceKind::Generic => vec![LogSource::default()],
        }
    }
}

/// Sysmon event ids → Sigma categories.
fn sysmon_categories(id: i64) -> &'static [&'static str] {
    match id {
        1 => &["process_creation"],
        2 => &["file_change"],
        3 => &["network_connection"],
        4 => &["sysmon_status"],
        5 => &["process_termination"],
        6 => &["driver_load"],
        7 => &["image_load"],
        8 => &["create_remote_thread"],
        9 => &["raw_access_thread"],
        10 => &["process_access"],
        11 => &["file_event"],
        12 => &["registry_add", "registry_delete", "registry_event"],
        13 => &["registry_set", "registry_event"],
        14 => &["registry_rename", "registry_event"],
        15 => &["create_stream_hash"],
        16 => &["sysmon_status"],
        17 | 18 => &["pipe_created"],
        19..=21 => &["wmi_event"],
        22 => &["dns_query"],
        23 | 26 => &["file_delete"],
        24 => &["clipboard_capture"],
        25 => &["process_tampering"],
        27 => &["file_block_executable"],
        28 => &["file_block_shredding"],
        29 => &["file_executable_detected"],
        255 => &["sysmon_error"],
        _ => &[],
    }
}

/// Windows channels → Sigma services.
fn windows_service(channel: &str) -> Option<&'static str> {
    Some(match channel.to_ascii_lowercase().as_str() {
        "security" => "security",
        "system" => "system",
        "application" => "application",
        "microsoft-windows-sysmon/operational" => "sysmon",
        "microsoft-windows-powershell/operational" => "powershell",
        "windows powershell" => "powershell-classic",
        "microsoft-windows-taskscheduler/operational" => "taskscheduler",
        "microsoft-windows-wmi-activity/operational" => "wmi",
        "microsoft-windows-windows defender/operational" => "windefend",
        "microsoft-windows-dns-client/operational" => "dns-client",
        "dns server" => "dns-server",
        "microsoft-windows-bits-client/operational" => "bits-client",
        "microsoft-windows-codeintegrity/operational" => "codeintegrity-operational",
        "microsoft-windows-applocker/exe and dll"
        | "microsoft-windows-applocker/msi and script"
        | "microsoft-windows-applocker/packaged app-deployment"
        | "microsoft-windows-applocker/packaged app-execution" => "applocker",
        "microsoft-windows-windows firewall with advanced security/firewall" => "firewall-as",
        "microsoft-windows-ntlm/operational" => "ntlm",
        "microsoft-windows-printservice/admin" => "printservice-admin",
        "microsoft-windows-printservice/operational" => "printservice-operational",
        "microsoft-windows-smbclient/security" => "smbclient-security",
        "microsoft-windows-smbclient/connectivity" => "smbclient-connectivity",
        "microsoft-windows-terminalservices-localsessionmanager/operational" => {
            "terminalservices-localsessionmanager"
        }
        "openssh/operational" => "openssh",
        "microsoft-windows-shell-core/operational" => "shell-core",
        "microsoft-windows-appxpackaging/operational" => "appxpackaging-om",
        "microsoft-windows-appxdeploymentserver/operational" => "appxdeployment-server",
        "microsoft-windows-diagnosis-scripted/operational" => "diagnosis-scripted",
        "microsoft-windows-ldap-client/debug" => "ldap",
        "microsoft-windows-lsa/operational" => "lsa-server",
        "microsoft-windows-capi2/operational" => "capi2",
        "microsoft-windows-certificateservicesclient-lifecycle-system/operational" => {
            "certificateservicesclient-lifecycle-system"
        }
        "microsoft-windows-security-mitigations/kernel mode"
        | "microsoft-windows-security-mitigations/user mode" => "security-mitigations",
        "microsoft-windows-kernel-shimengine/operational" => "shim-engine",
        "microsoft-windows-driverframeworks-usermode/operational" => "driver-framework",
        "microsoft-windows-hyper-v-worker-admin" => "hyper-v-worker",
        "microsoft-windows-vhdmp/operational" => "vhdmp",
        "microsoft-windows-msexchange management" | "msexchange management" => {
            "msexchange-management"
        }
        _ => return None,
    })
}

fn windows_logsources(event: &Value) -> Vec<LogSource> {
    let channel = event.get("Channel").and_then(Value::as_str).unwrap_or("");
    let id = event
        .get("EventID")
        .and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(-1);
    let service = windows_service(channel).map(str::to_owned);
    let base = LogSource {
        product: Some("windows".to_owned()),
        service: service.clone(),
        ..LogSource::default()
    };
    let categories: &[&str] = match service.as_deref() {
        Some("sysmon") => sysmon_categories(id),
        Some("powershell") => match id {
            4104 => &["ps_script"],
            4103 => &["ps_module"],
            _ => &[],
        },
        Some("powershell-classic") => match id {
            400 => &["ps_classic_start"],
            600 => &["ps_classic_provider_start"],
            800 => &["ps_classic_script"],
            _ => &[],
        },
        _ => &[],
    };
    if categories.is_empty() {
        return vec![base];
    }
    categories
        .iter()
        .map(|c| LogSource {
            category: Some((*c).to_owned()),
            ..base.clone()
        })
        .collect()
}

/// The event in the shape rules expect: Windows (and Sysmon for Linux) event JSON flattened,
/// everything else as is.
pub fn shape(kind: SourceKind, event: &Value) -> Cow<'_, Value> {
    // Sysmon for Linux writes process events in the same EVTX shape as Windows.
    if matches!(kind, SourceKind::Windows | SourceKind::Process)
        && let Some(inner) = event.get("Event").and_then(Value::as_object)
    {
        return Cow::Owned(Value::Object(flatten_windows(inner)));
    }
    Cow::Borrowed(event)
}

fn text_of(v: &Value) -> Value {
    match v {
        Value::Object(o) if o.contains_key("#text") => o["#text"].clone(),
        other => other.clone(),
    }
}

fn put(out: &mut Map<String, Value>, key: &str, value: Value) {
    let key: String = key.chars().filter(|c| !c.is_whitespace()).collect();
    out.insert(key, value);
}

/// Flatten `{"System": …, "EventData"|"UserData": …}` into the field names rules use.
fn flatten_windows(event: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for section in ["EventData", "UserData"] {
        let Some(data) = event.get(section) else {
            continue;
        };
        match data {
            Value::Object(o) => {
                // `<Data Name="X">v</Data>` lists become {"Data": [{"#attributes": {"Name": X}, "#text": v}]}.
                if let Some(Value::Array(items)) = o.get("Data") {
                    for item in items {
                        let name = item
                            .get("#attributes")
                            .and_then(|a| a.get("Name"))
                            .or_else(|| item.get("@Name"))
                            .and_then(Value::as_str);
                        if let Some(name) = name {
                            put(&mut out, name, text_of(item));
                        }
                    }
                }
                for (k, v) in o {
                    if k == "Data" && v.is_array() || k == "#attributes" {
                        continue;
                    }
                    // UserData wraps its fields in one element named after the event.
                    if section == "UserData"
                        && let Value::Object(inner) = v
                    {
                        for (ik, iv) in inner {
                            if ik != "#attributes" {
                                put(&mut out, ik, text_of(iv));
                            }
                        }
                        continue;
                    }
                    put(&mut out, k, text_of(v));
                }
            }
            Value::Null => {}
            other => {
                out.insert(section.to_owned(), other.clone());
            }
        }
    }
    if let Some(Value::Object(sys)) = event.get("System") {
        for (k, v) in sys {
            match k.as_str() {
                "Provider" => {
                    let attrs = v.get("#attributes").unwrap_or(v);
                    if let Some(name) = attrs.get("Name") {
                        out.entry("Provider_Name").or_insert_with(|| name.clone());
                    }
                    if let Some(guid) = attrs.get("Guid") {
                        out.entry("Provider_Guid").or_insert_with(|| guid.clone());
                    }
                }
                "TimeCreated" => {
                    let attrs = v.get("#attributes").unwrap_or(v);
                    if let Some(t) = attrs.get("SystemTime") {
                        out.entry("TimeCreated").or_insert_with(|| t.clone());
                    }
                }
                "Execution" | "Security" | "Correlation" => {
                    if let Some(Value::Object(attrs)) = v.get("#attributes") {
                        for (ak, av) in attrs {
                            out.entry(ak.clone()).or_insert_with(|| av.clone());
                        }
                    }
                }
                _ => {
                    let key: String = k.chars().filter(|c| !c.is_whitespace()).collect();
                    out.entry(key).or_insert_with(|| text_of(v));
                }
            }
        }
    }
    out
}

fn first_str<'a>(event: &'a Value, paths: &[&str]) -> Option<&'a str> {
    for p in paths {
        let mut cur = event;
        let mut ok = true;
        for part in p.split('.') {
            cur = match cur {
                Value::Object(o) => match o.get(part) {
                    Some(v) => v,
                    None => {
                        ok = false;
                        break;
                    }
                },
                Value::Array(a) => match a.first().and_then(|v| v.get(part)) {
                    Some(v) => v,
                    None => {
                        ok = false;
                        break;
                    }
                },
                _ => {
                    ok = false;
                    break;
                }
            };
        }
        if !ok {
            continue;
        }
        let v = match cur {
            Value::Array(a) => a.first().unwrap_or(&Value::Null),
            v => v,
        };
        if let Some(s) = v.as_str().filter(|s| !s.is_empty()) {
            return Some(s);
        }
    }
    None
}

/// Who and what an event is about, for alert grouping: `user`, `namespace`, `pod`,
/// `resource`, `source_ip`, `host` (where the source has them).
pub fn entities(kind: SourceKind, event: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut add = |name: &str, paths: &[&str]| {
        if let Some(v) = first_str(event, paths) {
            out.insert(name.to_owned(), v.to_owned());
        }
    };
    match kind {
        SourceKind::K8sAudit => {
            add("user", &["impersonatedUser.username", "user.username"]);
            add("namespace", &["objectRef.namespace"]);
            if first_str(event, &["objectRef.resource"]) == Some("pods") {
                add("pod", &["objectRef.name"]);
            }
            add("resource", &["objectRef.resource"]);
            add("source_ip", &["sourceIPs"]);
        }
        SourceKind::CloudTrail => {
            add(
                "user",
                &[
                    "userIdentity.arn",
                    "userIdentity.userName",
                    "userIdentity.principalId",
                ],
            );
            add("account", &["recipientAccountId", "userIdentity.accountId"]);
            add("source_ip", &["sourceIPAddress"]);
        }
        SourceKind::GcpAudit => {
            add("user", &["protoPayload.authenticationInfo.principalEmail"]);
            add("project", &["resource.labels.project_id"]);
            add("source_ip", &["protoPayload.requestMetadata.callerIp"]);
        }
        SourceKind::AzureActivity => {
            add("user", &["caller", "identity.claims.name"]);
            add("source_ip", &["callerIpAddress"]);
        }
        SourceKind::Okta => {
            add("user", &["actor.alternateId", "actor.displayName"]);
            add("source_ip", &["client.ipAddress"]);
        }
        SourceKind::GitHubAudit => {
            add("user", &["actor"]);
            add("org", &["org"]);
            add("repo", &["repo"]);
            add("source_ip", &["actor_ip"]);
        }
        SourceKind::Auditd => {
            add("user", &["auid", "uid"]);
            add("host", &["node", "hostname"]);
        }
        SourceKind::Process => {
            add("user", &["User", "user"]);
            add("host", &["hostname", "host", "Computer"]);
            add("pod", &["k8s.pod.name", "container.name"]);
            add("namespace", &["k8s.ns.name"]);
        }
        SourceKind::Windows => {
            add(
                "user",
                &["User", "SubjectUserName", "TargetUserName", "UserID"],
            );
            add("host", &["Computer"]);
            add("source_ip", &["IpAddress", "SourceIp"]);
        }
        SourceKind::Falco => {
            add("user", &["output_fields.user.name"]);
            add("host", &["hostname"]);
            add("namespace", &["output_fields.k8s.ns.name"]);
            add("pod", &["output_fields.k8s.pod.name"]);
        }
        SourceKind::Syslog => {
            add("host", &["hostname", "host"]);
        }
        SourceKind::Generic => {
            add("user", &["user", "user.name", "username"]);
            add("host", &["host", "hostname", "host.name"]);
            add("source_ip", &["source_ip", "src_ip", "source.ip"]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The detector caches a route per kind for the kinds said not to vary: their log sources
    /// must not depend on the event.
    #[test]
    fn constant_kinds_ignore_the_event() {
        let events = [
            json!({}),
            json!({"app_name": "sshd", "program": "sudo"}),
            json!({"Event": {"System": {"Channel": "Security", "EventID": 4688}}}),
            json!({"EventID": 13, "Channel": "Microsoft-Windows-Sysmon/Operational"}),
        ];
        let key = |ls: Vec<LogSource>| format!("{ls:?}");
        for kind in SourceKind::ALL {
            assert_eq!(SourceKind::ALL[kind.index()], kind);
            let first = key(kind.logsources(&events[0]));
            let varies = events[1..].iter().any(|e| key(kind.logsources(e)) != first);
            if varies {
                assert!(kind.logsource_varies(), "{kind:?}");
            }
        }
        assert!(SourceKind::Syslog.logsource_varies() && SourceKind::Windows.logsource_varies());
    }
}
