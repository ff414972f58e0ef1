"""Generates a source tree for secret-scanning benchmarks: code-like text files with fake
secrets of several providers planted at known places (listed in planted.tsv).

usage: python3 bench/gen_secrets_tree.py OUT_DIR SIZE_MB [SEED]"""
import os
import random
import string
import sys

out, size_mb = sys.argv[1], int(sys.argv[2])
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 7)
os.makedirs(out, exist_ok=True)

WORDS = ("config value user request response handler server client token_count retries "
         "timeout buffer cache index render parse session logger metrics queue worker "
         "payload header status result error message").split()


def alnum(n, alphabet=string.ascii_letters + string.digits):
    return "".join(rng.choice(alphabet) for _ in range(n))


def fake():
    kind = rng.randrange(5)
    if kind == 0:
        return "AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID=AKIA" + alnum(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    if kind == 1:
        return "slack-webhook", "SLACK_WEBHOOK=https://hooks.slack.com/services/T%s/B%s/%s" % (
            alnum(8, string.ascii_uppercase + string.digits), alnum(8, string.ascii_uppercase + string.digits), alnum(24))
    if kind == 2:
        return "stripe", 'stripe.api_key = "sk_live_%s"' % alnum(24)
    if kind == 3:
        return "sendgrid", 'SENDGRID_API_KEY="SG.%s.%s"' % (alnum(22, string.ascii_letters + string.digits + "-_"),
                                                           alnum(43, string.ascii_letters + string.digits + "-_"))
    return "npm", "//registry.npmjs.org/:_authToken=npm_%s" % alnum(36)


def line():
    n = rng.randrange(3, 12)
    ind = "    " * rng.randrange(0, 3)
    return ind + " ".join(rng.choice(WORDS) for _ in range(n)) + ";\n"


planted = []
total = 0
target = size_mb * 1024 * 1024
i = 0
while total < target:
    d = os.path.join(out, "pkg%03d" % (i // 200))
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "file%05d.%s" % (i, rng.choice(["js", "py", "go", "env", "yaml"])))
    lines = [line() for _ in range(rng.randrange(200, 2000))]
    if rng.random() < 0.02:
        kind, secret = fake()
        at = rng.randrange(len(lines))
        lines[at] = secret + "\n"
        planted.append((os.path.relpath(path, out), at + 1, kind))
    data = "".join(lines)
    with open(path, "w") as f:
        f.write(data)
    total += len(data)
    i += 1
with open(os.path.join(out, "planted.tsv"), "w") as f:
    for p, l, k in planted:
        f.write("%s\t%d\t%s\n" % (p, l, k))
print("%d files, %.0f MB, %d planted secrets" % (i, total / 1048576, len(planted)))
