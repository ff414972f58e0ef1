"""Summarises bench/config.sh runs: wall time, peak memory and findings per check family.

Families are assigned from each finding's title with the same keyword table for every tool,
so the comparison does not depend on any tool's own grouping."""
import json
import os
import sys

FAMILIES = [
    ("rbac", ["role", "rbac", "bind", "impersonat", "escalat", "verb", "cluster-admin", "clusteradmin",
              "wildcard", "exec", "attach", "nodes/proxy", "webhook", "certificate", "token creat",
              "create pods", "create workloads", "persistentvolumes", "anonymous", "unauthenticated"]),
    ("network", ["networkpolicy", "network policy", "ingress", "egress", "nodeport", "loadbalancer",
                 "externalip", "service of type", "tls"]),
    ("secrets", ["secret", "credential", "password", "configmap"]),
    ("resources", ["cpu", "memory", "resource"]),
    ("images", ["image", "tag", "digest", "pull"]),
    ("pod-security", ["privileg", "host", "capabilit", "root", "seccomp", "apparmor", "selinux", "sysctl",
                      "proc", "volume", "user", "group", "filesystem", "escalation", "security context",
                      "securitycontext", "namespace", "service account", "serviceaccount", "probe",
                      "process", "windows"]),
]


def family(title):
    t = title.lower()
    for name, words in FAMILIES:
        if any(w in t for w in words):
            return name
    return "other"


def palisade(doc):
    return [f["title"] for f in doc.get("findings", []) if not f.get("suppressed")]


def trivy(doc):
    out = []
    for r in doc.get("Results") or []:
        for m in r.get("Misconfigurations") or []:
            if m.get("Status") == "FAIL":
                out.append(m.get("Title", m.get("ID", "")))
    return out


def checkov(doc):
    docs = doc if isinstance(doc, list) else [doc]
    out = []
    for d in docs:
        for c in (d.get("results") or {}).get("failed_checks") or []:
            out.append(c.get("check_name", c.get("check_id", "")))
    return out


def main(out):
    tools = [("palisade", palisade), ("trivy", trivy), ("checkov", checkov)]
    rows = {}
    for name, extract in tools:
        tpath = os.path.join(out, name + ".time")
        if not os.path.exists(tpath):
            continue
        wall, rss = open(tpath).read().split()[-2:]
        try:
            titles = extract(json.load(open(os.path.join(out, name + ".json"))))
        except (ValueError, OSError) as e:
            titles = []
            print(f"{name}: could not read its JSON output ({e}); stderr: "
                  + open(os.path.join(out, name + ".err")).read()[-300:], file=sys.stderr)
        counts = {}
        for t in titles:
            counts[family(t)] = counts.get(family(t), 0) + 1
        rows[name] = (float(wall), int(rss) / 1024, len(titles), counts)
    fams = [f for f, _ in FAMILIES] + ["other"]
    print(f"{'tool':<10} {'wall s':>8} {'peak MB':>8} {'findings':>9}  " + " ".join(f"{f:>12}" for f in fams))
    for name, (wall, mb, total, counts) in rows.items():
        print(f"{name:<10} {wall:>8.2f} {mb:>8.1f} {total:>9}  " + " ".join(f"{counts.get(f, 0):>12}" for f in fams))
    if "palisade" in rows:
        pw, pm = rows["palisade"][0], rows["palisade"][1]
        for name in ("trivy", "checkov"):
            if name in rows:
                w, m = rows[name][0], rows[name][1]
                print(f"palisade vs {name}: {w / max(pw, 0.01):.1f}x faster, {m / max(pm, 0.1):.1f}x less peak memory")


if __name__ == "__main__":
    main(sys.argv[1])
