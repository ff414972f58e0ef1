"""Recall of each tool on the planted secrets of a generated tree (bench/secrets.sh)."""
import json
import os
import sys

work, tree = sys.argv[1], sys.argv[2]
planted = set()
for line in open(os.path.join(tree, "planted.tsv")):
    p, l, _ = line.rstrip("\n").split("\t")
    planted.add((p, int(l)))


def rel(p):
    p = p.replace(tree.rstrip("/") + "/", "")
    return p.lstrip("./")


def palisade(path):
    r = json.load(open(path))
    return {(rel(f["location"]["path"]), f["location"].get("start_line")) for f in r.get("findings", [])}


def gitleaks(path):
    return {(rel(f["File"]), f["StartLine"]) for f in json.load(open(path))}


def trivy(path):
    r = json.load(open(path))
    out = set()
    for res in r.get("Results") or []:
        for s in res.get("Secrets") or []:
            out.add((rel(res["Target"]), s["StartLine"]))
    return out


for name, fn, f in [("palisade", palisade, "palisade-tree.out"), ("gitleaks", gitleaks, "gitleaks-tree.json"),
                    ("trivy", trivy, "trivy-tree.out")]:
    path = os.path.join(work, f)
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        continue
    try:
        found = fn(path)
    except Exception as e:  # a tool that wrote no report
        print(f"{name}: cannot read its report ({e})")
        continue
    hit = len(planted & found)
    print(f"{name:<10} recall {hit}/{len(planted)} = {100 * hit / max(len(planted), 1):.1f}%, {len(found)} findings")
