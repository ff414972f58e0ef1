// End-to-end test of the palisade serve console in a real browser.
//
// Starts `palisade serve` on a free port with a fresh data directory, signs in with the
// first-start login link, sets a password, creates an API token in the Tokens page, uploads
// reports through the API (one from `palisade scan config`, one with HTML in its fields),
// and checks what the dashboard, findings and asset pages show. Fails on any browser
// console error (a Content-Security-Policy violation shows as one) and on any dialog (an
// injected script that ran). Saves target/e2e/dashboard.png.
//
// Environment: PALISADE_BIN (default ../target/debug/palisade), CHROMIUM (default
// /usr/bin/chromium), E2E_OUT (default ../target/e2e).
// Run: npm ci && node console.test.mjs   (exit status 0 when everything passed)

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.PALISADE_BIN || resolve(here, "../target/debug/palisade");
const browserPath = process.env.CHROMIUM || "/usr/bin/chromium";
const out = process.env.E2E_OUT || resolve(here, "../target/e2e");

const PRIVILEGED_POD = `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  containers:
  - name: app
    image: nginx:1.27
    securityContext:
      privileged: true
`;

function fail(message) {
  throw new Error(message);
}

function check(condition, message) {
  if (!condition) {
    fail(message);
  }
}

/// Starts the server; resolves with its address, the login link and the process.
function startServer(dataDir) {
  return new Promise((resolveStart, rejectStart) => {
    const env = { ...process.env };
    for (const v of ["PALISADE_UPLOAD_URL", "PALISADE_TOKEN", "PALISADE_DATA_DIR"]) {
      delete env[v];
    }
    const child = spawn(bin, ["serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir], {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    const lines = [];
    let base = "";
    let link = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      rejectStart(new Error(`palisade serve did not start:\n${lines.join("\n")}`));
    }, 60_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      rejectStart(e);
    });
    child.on("exit", (code) => {
      if (!base || !link) {
        clearTimeout(timer);
        rejectStart(new Error(`palisade serve exited (${code}):\n${lines.join("\n")}`));
      }
    });
    createInterface({ input: child.stderr }).on("line", (line) => {
      lines.push(line);
      const m = line.match(/listening on (\S+)/);
      if (m) {
        base = m[1];
      }
      if (line.includes("/login/link/")) {
        link = line.trim();
      }
      if (base && link) {
        clearTimeout(timer);
        resolveStart({ child, base, link, lines });
      }
    });
  });
}

function stopServer(child) {
  return new Promise((done) => {
    if (child.exitCode !== null) {
      done(child.exitCode);
      return;
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      done(code);
    });
    child.kill("SIGINT");
  });
}

async function main() {
  check(existsSync(bin), `no palisade binary at ${bin} (cargo build, or set PALISADE_BIN)`);
  check(existsSync(browserPath), `no Chromium at ${browserPath} (apt-get install chromium, or set CHROMIUM)`);
  mkdirSync(out, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), "palisade-e2e-"));
  const server = await startServer(join(work, "data"));
  const { base, link } = server;
  console.log(`server at ${base}`);

  const browser = await chromium.launch({
    executablePath: browserPath,
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  const problems = [];
  // Set while a step expects an error page (the browser logs every 4xx page as an error).
  let expectedStatus = null;
  try {
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    const page = await context.newPage();
    page.on("console", (msg) => {
      const expected = expectedStatus && msg.text().includes(`status of ${expectedStatus}`);
      if (msg.type() === "error" && !expected) {
        problems.push(`browser console error: ${msg.text()}`);
      }
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("dialog", async (d) => {
      problems.push(`a dialog opened (a script ran?): ${d.message()}`);
      await d.dismiss();
    });

    // Not signed in: the console sends the browser to the sign-in page.
    await page.goto(`${base}/findings`);
    check(new URL(page.url()).pathname === "/login", `expected /login, at ${page.url()}`);
    check((await page.locator("h1").textContent()) === "Sign in", "sign-in page title");

    // The first-start link, then a password.
    await page.goto(link);
    check(new URL(page.url()).pathname === "/account/password", `after the link: ${page.url()}`);
    const password = "e2e correct horse battery";
    await page.fill("input[name=new_password]", password);
    await page.fill("input[name=confirm_password]", password);
    await Promise.all([page.waitForURL(`${base}/`), page.click("button[type=submit].primary")]);
    check((await page.locator("h1").textContent()) === "Dashboard", "dashboard after setting a password");

    // Sign out and in again with the password.
    await Promise.all([page.waitForURL(/\/login$/), page.click("header button.link")]);
    await page.fill("input[name=username]", "admin");
    await page.fill("input[name=password]", "wrong password!!");
    expectedStatus = 401;
    await page.click("button[type=submit]");
    check((await page.locator(".notice.error").textContent()).includes("Wrong username or password"), "wrong password is refused");
    expectedStatus = null;
    await page.fill("input[name=password]", password);
    await Promise.all([page.waitForURL(`${base}/`), page.click("button[type=submit]")]);

    // An API token from the Tokens page.
    await page.goto(`${base}/tokens`);
    await page.fill("input[name=name]", "e2e-upload");
    await page.selectOption("select[name=scope]", "analyst");
    await page.click("form[action='/tokens'] button[type=submit]");
    const token = (await page.locator("#secret").textContent()).trim();
    check(token.startsWith("pal_"), `a token is shown: ${token}`);

    // Reports through the API: a real scan, and one with HTML where text belongs.
    const project = join(work, "shop");
    mkdirSync(project, { recursive: true });
    writeFileSync(join(project, "pod.yaml"), PRIVILEGED_POD);
    const scan = spawnSync(bin, ["scan", "config", project, "-f", "json", "-q"], { encoding: "utf8" });
    check(scan.status === 0, `palisade scan config: ${scan.stderr}`);
    const upload = async (body) => {
      const r = await fetch(`${base}/api/v1/reports`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body,
      });
      const answer = await r.json();
      check(r.status === 201, `upload: HTTP ${r.status} ${JSON.stringify(answer)}`);
      return answer;
    };
    const real = await upload(scan.stdout);
    check(real.findings > 0, `findings uploaded: ${JSON.stringify(real)}`);
    await upload(
      JSON.stringify({
        schema_version: 1,
        scan: "config",
        targets: ["<img src=x onerror=alert('asset')>"],
        files: [],
        findings: [
          {
            rule_id: "EVIL-1",
            severity: "HIGH",
            title: "<script>alert('title')</script>",
            message: "<img src=x onerror=alert('message')>",
            fingerprint: "evil-1",
          },
        ],
      }),
    );

    // The dashboard shows them.
    await page.goto(`${base}/`);
    const openText = await page.locator(".cards .card .big").first().textContent();
    check(Number(openText) === real.findings + 1, `open findings on the dashboard: ${openText}`);
    check(await page.locator("svg.chart.trend polyline").count() === 5, "the trend chart has its lines");
    check(await page.locator("svg.chart.bars rect").count() === 6, "the severity bars");
    const riskiest = await page.locator("section.panel table").last().textContent();
    check(riskiest.includes("shop"), `the scanned project is among the riskiest assets: ${riskiest}`);
    check(riskiest.includes("<img src=x onerror=alert('asset')>"), "the HTML asset name shows as text");
    const css = await page.evaluate(() => getComputedStyle(document.querySelector("header.top")).display);
    check(css === "flex", `the stylesheet applies (header display ${css})`);
    await page.screenshot({ path: join(out, "dashboard.png"), fullPage: true });

    // Findings: filter by severity.
    await page.goto(`${base}/findings`);
    await page.selectOption("select[name=severity]", "CRITICAL");
    await Promise.all([page.waitForURL(/severity=CRITICAL/), page.click("form.filters button[type=submit]")]);
    const rows = await page.locator("table.findings tbody tr").count();
    check(rows > 0, "critical findings listed");
    const sevs = await page.locator("table.findings tbody .sev").allTextContents();
    check(sevs.every((s) => s === "CRITICAL"), `only critical: ${sevs}`);
    await page.screenshot({ path: join(out, "findings.png"), fullPage: true });

    // The injected finding, on its own page: text, not markup.
    await page.goto(`${base}/findings?severity=HIGH&rule=EVIL-1`);
    await Promise.all([page.waitForURL(/\/findings\/\d+$/), page.locator("table.findings tbody a").first().click()]);
    check((await page.locator("h1").textContent()) === "<script>alert('title')</script>", "the title as text");
    check(await page.locator("main script, main img").count() === 0, "no element was injected");

    // The asset page and the audit log.
    await page.goto(`${base}/assets/${real.asset_id}`);
    check((await page.locator("h2").first().textContent()) === "Open findings", "the asset page");
    await page.goto(`${base}/audit`);
    check((await page.locator("table.audit").textContent()).includes("report.upload"), "uploads are in the audit log");
  } finally {
    await browser.close();
    const code = await stopServer(server.child);
    if (code !== 0) {
      problems.push(`palisade serve exited with ${code} on SIGINT`);
    }
    rmSync(work, { recursive: true, force: true });
  }
  if (problems.length > 0) {
    fail(problems.join("\n"));
  }
  console.log(`ok: console e2e passed; screenshots in ${out}`);
}

main().catch((e) => {
  console.error(`e2e failed: ${e.stack || e}`);
  process.exit(1);
});
