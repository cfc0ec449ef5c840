// Figures of the web app (printed, never asserted; scripts/bench-web.sh runs it against a real server):
//  - the initial JS+CSS that index.html loads, gzipped (xterm.js loads with the first console);
//  - the class board applying 1,000 SSE events for 200 students: main-thread time in Chromium;
//  - one console's round trip (keystroke -> echo) through the WebSocket, against the same device's telnet
//    console reached directly, when NP_ROUNDTRIP=1 (root: a real local lab with VPCS).
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";

const base = process.env.NP_URL;
const dist = process.env.NP_DIST;
const adminPassword = process.env.NP_ADMIN_PASSWORD;

async function call(method, path, token, body) {
  const r = await fetch(base + path, {
    method,
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

function bundle() {
  const html = readFileSync(`${dist}/index.html`, "utf8");
  const files = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
  let total = 0;
  for (const f of files) {
    const gz = gzipSync(readFileSync(`${dist}/${f}`), { level: 9 }).length;
    total += gz;
    console.log(`  ${f}: ${(gz / 1024).toFixed(1)} KiB gzipped`);
  }
  console.log(`initial JS+CSS: ${(total / 1024).toFixed(1)} KiB gzipped (budget 150 KiB)`);
}

const spec = "id: b\ntitle: B\nversion: 1\ndevices:\n  pc1: {platform: vpcs}\nchecks:\n  - id: a\n    on: pc1\n    run: show ip\n    expect: {contains: x}\n    points: 1\n";
const topology = "name: b\nnodes:\n  pc1: {kind: vpcs}\nlinks: []\n";

async function board(browser, admin) {
  const ids = [];
  for (let i = 0; i < 200; i++)
    ids.push((await call("POST", "/api/v1/users", admin, { username: `bench-${i}`, role: "student", password: "bench-pass-1" })).id);
  const ex = await call("POST", "/api/v1/exercises", admin, { slug: "bench", title: "Bench", spec, topology });
  await call("POST", `/api/v1/exercises/${ex.id}/versions/1/publish`, admin);
  await call("POST", "/api/v1/assignments", admin, { exercise_id: ex.id, student_ids: ids });
  const envs = (await call("GET", "/api/v1/environments?limit=500", admin)).items.map((e) => e.id);
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  await page.goto(base + "/login?next=%2Fboard");
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(adminPassword);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.locator('tr[data-student="bench-199"]').waitFor({ timeout: 60_000 });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable");
  const metrics = async () => Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]));
  const m0 = await metrics();
  const before = m0.TaskDuration;
  const wall = await page.evaluate(async (envs) => {
    const states = ["creating", "running", "stopped"];
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) {
      const id = envs[i % envs.length];
      window.__npBoardApply("environment.state", { id, observed: states[i % 3], desired: "running", error: "" });
    }
    const t1 = performance.now();
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    return { total: performance.now() - t0, apply: t1 - t0 };
  }, envs);
  const m1 = await metrics();
  const after = m1.TaskDuration;
  const part = (k) => ((m1[k] - m0[k]) * 1000).toFixed(0);
  console.log(`  script ${part("ScriptDuration")} ms, style ${part("RecalcStyleDuration")} ms, layout ${part("LayoutDuration")} ms`);
  console.log(`class board, 200 students, 1000 events: ${((after - before) * 1000).toFixed(0)} ms main-thread task time ` +
    `(${wall.total.toFixed(0)} ms wall to the next frame, of which ${wall.apply.toFixed(0)} ms applying the events; budget 200 ms)`);
  await page.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

async function main() {
  bundle();
  const admin = (await call("POST", "/api/v1/auth/login", null, { username: "admin", password: adminPassword })).token;
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
  try {
    await board(browser, admin);
    if (process.env.NP_ROUNDTRIP === "1") await roundtrip(browser, admin);
  } finally {
    await browser.close();
  }
}

// Keystroke -> echo on pc1 of one running lab: through the console WebSocket (in the browser) and through a
// plain TCP connection to the same VPCS (after the WebSocket closed: VPCS serves one client at a time).
async function roundtrip(browser, admin) {
  const u = await call("POST", "/api/v1/users", admin, { username: "rt", role: "student", password: "bench-pass-1" });
  const ex = (await call("GET", "/api/v1/exercises/bench", admin)).id;
  const a = (await call("POST", "/api/v1/assignments", admin, { exercise_id: ex, student_ids: [u.id] })).items[0];
  const env = (await call("GET", `/api/v1/assignments/${a.id}`, admin)).environment.id;
  const job = (await call("POST", `/api/v1/environments/${env}/actions`, admin, { action: "start" })).job.id;
  for (let i = 0; i < 600; i++) {
    const j = await call("GET", `/api/v1/jobs/${job}`, admin);
    if (j.state === "succeeded") break;
    if (j.state === "failed") throw new Error("lab did not start: " + j.error);
    await new Promise((r) => setTimeout(r, 100));
  }
  const port = (await call("GET", `/api/v1/environments/${env}`, admin)).addresses.devices.find((d) => d.node === "pc1").port;
  const page = await browser.newPage();
  await page.goto(base + "/login");
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(adminPassword);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(/\/board/);
  const ws = await page.evaluate(async (env) => {
    const sock = new WebSocket(`ws://${location.host}/api/v1/environments/${env}/nodes/pc1/console`);
    sock.binaryType = "arraybuffer";
    let waiter = null;
    let text = "";
    sock.onmessage = (m) => {
      text += new TextDecoder().decode(m.data);
      if (waiter) waiter();
    };
    await new Promise((r) => (sock.onopen = r));
    const until = (re) => new Promise((r) => { const f = () => { if (re.test(text)) { waiter = null; r(); } }; waiter = f; f(); });
    await until(/pc1> $/);
    const times = [];
    for (let i = 0; i < 200; i++) {
      text = "";
      const key = i % 2 ? "\x7f" : "a";
      const t0 = performance.now();
      sock.send(new TextEncoder().encode(key));
      await until(i % 2 ? /\x08/ : /a/);
      times.push(performance.now() - t0);
    }
    sock.close();
    times.sort((x, y) => x - y);
    return { p50: times[100], p99: times[198] };
  }, env);
  await page.close();
  await new Promise((r) => setTimeout(r, 500)); // the server closes its VPCS connection after the WebSocket's
  const tcp = await new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    let text = "";
    let waiter = null;
    s.on("data", (d) => {
      text += d.toString("latin1");
      if (waiter) waiter();
    });
    s.on("error", reject);
    const until = (re) => new Promise((r) => { const f = () => { if (re.test(text)) { waiter = null; r(); } }; waiter = f; f(); });
    (async () => {
      s.write("\r\n");
      await until(/pc1> $/);
      const times = [];
      for (let i = 0; i < 200; i++) {
        text = "";
        const t0 = performance.now();
        s.write(i % 2 ? "\x7f" : "a");
        await until(i % 2 ? /\x08/ : /a/);
        times.push(performance.now() - t0);
      }
      s.destroy();
      times.sort((x, y) => x - y);
      resolve({ p50: times[100], p99: times[198] });
    })().catch(reject);
  });
  console.log(`console round trip (keystroke -> echo), 200 keys: WebSocket p50 ${ws.p50.toFixed(2)} ms p99 ${ws.p99.toFixed(2)} ms; ` +
    `direct telnet p50 ${tcp.p50.toFixed(2)} ms p99 ${tcp.p99.toFixed(2)} ms; added p50 ${(ws.p50 - tcp.p50).toFixed(2)} ms (budget 2 ms)`);
  // Remove the lab before the server stops (its VPCS processes would stay).
  const d = (await call("POST", `/api/v1/environments/${env}/actions`, admin, { action: "destroy" })).job.id;
  for (let i = 0; i < 1200; i++) {
    const j = await call("GET", `/api/v1/jobs/${d}`, admin);
    if (["succeeded", "failed", "cancelled"].includes(j.state)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
}
