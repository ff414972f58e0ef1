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
        Scan::of(event).kind
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

/// What one pass over an event's top-level keys tells: its format (what
/// [`SourceKind::recognise`] returns) and whether a key holds a dot (so that a dotted rule
/// field may name a top-level key, see [`crate::event::FastEvent`]). One pass, one `match` per
/// key, instead of a map lookup per key each format is recognised by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    pub kind: SourceKind,
    pub dotted_keys: bool,
}

/// The keys (and, for a few, the values) recognition looks at, one bit each.
mod key {
    pub const WINDOWS_EVENT: u64 = 1 << 0; // "Event" holding "System"
    pub const EVENT_ID: u64 = 1 << 1;
    pub const CHANNEL: u64 = 1 << 2;
    pub const AUDIT_API_VERSION: u64 = 1 << 3; // "apiVersion" starting "audit.k8s.io/"
    pub const AUDIT_ID: u64 = 1 << 4;
    pub const VERB: u64 = 1 << 5;
    pub const REQUEST_URI: u64 = 1 << 6;
    pub const EVENT_SOURCE: u64 = 1 << 7;
    pub const EVENT_NAME: u64 = 1 << 8;
    pub const AWS_REGION: u64 = 1 << 9;
    pub const USER_IDENTITY: u64 = 1 << 10;
    pub const PROTO_PAYLOAD: u64 = 1 << 11; // an object
    pub const OPERATION_NAME: u64 = 1 << 12;
    pub const RESOURCE_ID: u64 = 1 << 13;
    pub const CORRELATION_ID: u64 = 1 << 14;
    pub const EVENT_TYPE: u64 = 1 << 15;
    pub const ACTOR: u64 = 1 << 16;
    pub const DISPLAY_MESSAGE: u64 = 1 << 17;
    pub const LEGACY_EVENT_TYPE: u64 = 1 << 18;
    pub const ACTION: u64 = 1 << 19;
    pub const ACTOR_ID: u64 = 1 << 20;
    pub const DOCUMENT_ID: u64 = 1 << 21;
    pub const ORG: u64 = 1 << 22;
    pub const BUSINESS: u64 = 1 << 23;
    pub const REPO: u64 = 1 << 24;
    pub const OUTPUT_FIELDS: u64 = 1 << 25;
    pub const RULE: u64 = 1 << 26;
    pub const PRIORITY: u64 = 1 << 27;
    pub const TYPE: u64 = 1 << 28;
    pub const SYSCALL: u64 = 1 << 29;
    pub const AUDIT_MSG: u64 = 1 << 30; // "msg" starting "audit("
    pub const IMAGE: u64 = 1 << 31;
    pub const COMMAND_LINE: u64 = 1 << 32;
    pub const PROCESS_ID: u64 = 1 << 33;
    pub const PARENT_IMAGE: u64 = 1 << 34;
}

impl Scan {
    pub fn of(event: &Value) -> Scan {
        let Some(o) = event.as_object() else {
            return Scan {
                kind: SourceKind::Generic,
                dotted_keys: false,
            };
        };
        let text = |v: &Value, prefix: &str| v.as_str().is_some_and(|s| s.starts_with(prefix));
        let mut bits = 0u64;
        let mut dotted_keys = false;
        for (k, v) in o {
            bits |= match k.as_str() {
                "Event" if v.get("System").is_some() => key::WINDOWS_EVENT,
                "EventID" => key::EVENT_ID,
                "Channel" => key::CHANNEL,
                "apiVersion" if text(v, "audit.k8s.io/") => key::AUDIT_API_VERSION,
                "auditID" => key::AUDIT_ID,
                "verb" => key::VERB,
                "requestURI" => key::REQUEST_URI,
                "eventSource" => key::EVENT_SOURCE,
                "eventName" => key::EVENT_NAME,
                "awsRegion" => key::AWS_REGION,
                "userIdentity" => key::USER_IDENTITY,
                "protoPayload" if v.is_object() => key::PROTO_PAYLOAD,
                "operationName" => key::OPERATION_NAME,
                "resourceId" => key::RESOURCE_ID,
                "correlationId" => key::CORRELATION_ID,
                "eventType" => key::EVENT_TYPE,
                "actor" => key::ACTOR,
                "displayMessage" => key::DISPLAY_MESSAGE,
                "legacyEventType" => key::LEGACY_EVENT_TYPE,
                "action" => key::ACTION,
                "actor_id" => key::ACTOR_ID,
                "_document_id" => key::DOCUMENT_ID,
                "org" => key::ORG,
                "business" => key::BUSINESS,
                "repo" => key::REPO,
                "output_fields" => key::OUTPUT_FIELDS,
                "rule" => key::RULE,
                "priority" => key::PRIORITY,
                "type" => key::TYPE,
                "syscall" => key::SYSCALL,
                "msg" if text(v, "audit(") => key::AUDIT_MSG,
                "Image" => key::IMAGE,
                "CommandLine" => key::COMMAND_LINE,
                "ProcessId" => key::PROCESS_ID,
                "ParentImage" => key::PARENT_IMAGE,
                // The names above hold no dot.
                _ => {
                    dotted_keys |= k.bytes().any(|b| b == b'.');
                    0
                }
            };
        }
        let all = |b: u64| bits & b == b;
        let any = |b: u64| bits & b != 0;
        let kind = if any(key::WINDOWS_EVENT) || all(key::EVENT_ID | key::CHANNEL) {
            SourceKind::Windows
        } else if any(key::AUDIT_API_VERSION) || all(key::AUDIT_ID | key::VERB | key::REQUEST_URI) {
            SourceKind::K8sAudit
        } else if all(key::EVENT_SOURCE | key::EVENT_NAME)
            && any(key::AWS_REGION | key::USER_IDENTITY)
        {
            SourceKind::CloudTrail
        } else if any(key::PROTO_PAYLOAD) {
            SourceKind::GcpAudit
        } else if any(key::OPERATION_NAME) && any(key::RESOURCE_ID | key::CORRELATION_ID) {
            SourceKind::AzureActivity
        } else if all(key::EVENT_TYPE | key::ACTOR)
            && any(key::DISPLAY_MESSAGE | key::LEGACY_EVENT_TYPE)
        {
            SourceKind::Okta
        } else if any(key::ACTION)
            && any(key::ACTOR | key::ACTOR_ID)
            && any(key::DOCUMENT_ID | key::ORG | key::BUSINESS | key::REPO)
        {
            SourceKind::GitHubAudit
        } else if all(key::OUTPUT_FIELDS | key::RULE | key::PRIORITY) {
            SourceKind::Falco
        } else if any(key::TYPE) && any(key::SYSCALL | key::AUDIT_MSG) {
            SourceKind::Auditd
        } else if all(key::IMAGE | key::COMMAND_LINE) && any(key::PROCESS_ID | key::PARENT_IMAGE) {
            SourceKind::Process
        } else {
            SourceKind::Generic
        };
        Scan { kind, dotted_keys }
    }
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

    /// Recognition as it was written before [`Scan`]: one map lookup per key and value it
    /// tests. The scan must agree with it on every event.
    fn recognise_by_lookups(event: &Value) -> SourceKind {
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

    #[test]
    fn one_pass_scan_agrees_with_lookups() {
        const KEYS: [&str; 38] = [
            "Event",
            "EventID",
            "Channel",
            "apiVersion",
            "auditID",
            "verb",
            "requestURI",
            "eventSource",
            "eventName",
            "awsRegion",
            "userIdentity",
            "protoPayload",
            "operationName",
            "resourceId",
            "correlationId",
            "eventType",
            "actor",
            "displayMessage",
            "legacyEventType",
            "action",
            "actor_id",
            "_document_id",
            "org",
            "business",
            "repo",
            "output_fields",
            "rule",
            "priority",
            "type",
            "syscall",
            "msg",
            "Image",
            "CommandLine",
            "ProcessId",
            "ParentImage",
            "a.b",
            "other",
            "Verb",
        ];
        let values = [
            json!("audit.k8s.io/v1"),
            json!("audit(1700000000.1:2): x"),
            json!("Audit.k8s.io/v1"),
            json!({"System": {}}),
            json!({"system": 1}),
            json!([{"System": 1}]),
            json!(1),
            json!(null),
            json!({}),
        ];
        let mut rng = palisade_core::rng::XorShift::new(0x9E37_79B9_7F4A_7C15);
        let mut next = || rng.next_u64();
        let mut kinds = std::collections::HashSet::new();
        for _ in 0..20_000 {
            let mut o = Map::new();
            for _ in 0..next() % 6 {
                let k = KEYS[(next() % KEYS.len() as u64) as usize];
                o.insert(
                    k.to_owned(),
                    values[(next() % values.len() as u64) as usize].clone(),
                );
            }
            let event = Value::Object(o);
            let scan = Scan::of(&event);
            assert_eq!(scan.kind, recognise_by_lookups(&event), "{event}");
            let dotted = event.as_object().unwrap().keys().any(|k| k.contains('.'));
            assert_eq!(scan.dotted_keys, dotted, "{event}");
            kinds.insert(scan.kind);
        }
        // Every kind recognition can return came up.
        assert_eq!(kinds.len(), 11, "{kinds:?}");
        assert_eq!(Scan::of(&json!([1])).kind, SourceKind::Generic);
    }

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
