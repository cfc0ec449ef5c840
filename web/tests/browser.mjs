// Browser tests of the web app: Playwright (playwright-core) driving Debian's Chromium, headless, against a
// real `netpraxis serve` and a real local lab with VPCS (scripts/test-web-browser.sh starts the server).
// A student logs in, starts the lab, types into a VPCS console and reads the answer, grades and sees the
// score and feedback; the teacher's class board follows that student live; the exercise editor marks a
// lint error at its line; another student's console WebSocket is refused. Every page gets an axe-core
// check (0 serious or critical violations) and a screenshot under NP_SHOTS.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";
import { assignThroughCourse, pageSteps } from "./pages.mjs";
import { uploadSteps } from "./uploads.mjs";

const require = createRequire(import.meta.url);
const base = process.env.NP_URL;
const adminPassword = process.env.NP_ADMIN_PASSWORD;
const shots = process.env.NP_SHOTS;
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const T = 60_000; // a condition's bound (the machine may be busy); nothing waits a fixed time

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures++;
}

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

const topology = `name: web
nodes:
  pc1: {kind: vpcs}
  pc2: {kind: vpcs}
links:
  - endpoints: ["pc1:eth0", "pc2:eth0"]
`;
const spec = `id: web-vpcs
title: Address PC1
version: 1
devices:
  pc1: {platform: vpcs}
checks:
  - id: pc1-address
    title: PC1 has 10.0.0.1/24
    on: pc1
    run: show ip
    expect: {contains: "10.0.0.1/24"}
    points: 2
    feedback:
      pass: "PC1 is addressed."
      fail: "PC1 needs ip 10.0.0.1/24"
`;
const instructions = "# Address PC1\n\nOn **pc1** type `ip 10.0.0.1/24`, then check with `show ip`.\n";

async function setup() {
  const admin = (await call("POST", "/api/v1/auth/login", null, { username: "admin", password: adminPassword })).token;
  const ids = {};
  for (const name of ["alice", "bob"])
    ids[name] = (await call("POST", "/api/v1/users", admin, { username: name, role: "student", password: "student-pw-1" })).id;
  const ex = await call("POST", "/api/v1/exercises", admin, { slug: "web-vpcs", title: "Address PC1", spec, topology, instructions });
  await call("POST", `/api/v1/exercises/${ex.id}/versions/1/publish`, admin);
  // Assigned through a course (its gradebook is one of the pages: web/tests/pages.mjs).
  const byStudent = await assignThroughCourse(admin, ex.id, call);
  const bobEnv = (await call("GET", `/api/v1/assignments/${byStudent[ids.bob]}`, admin)).environment.id;
  const aliceEnv = (await call("GET", `/api/v1/assignments/${byStudent[ids.alice]}`, admin)).environment.id;
  return { admin, alice: byStudent[ids.alice], bob: byStudent[ids.bob], aliceEnv, bobEnv, aliceId: ids.alice };
}

async function axe(page, name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help, first: v.nodes[0]?.target?.join(" ") }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of bad) console.log(`     axe ${name}: ${v.impact} ${v.id} (${v.nodes}, e.g. ${v.first}): ${v.help}`);
  check(bad.length === 0, `axe on ${name}: ${bad.length} serious/critical violations (${result.length} in all)`);
}

async function shot(page, name) {
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

async function login(page, username, password) {
  await page.goto(base + "/");
  await page.waitForURL(/\/login/, { timeout: T });
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL((u) => !u.pathname.startsWith("/login"), { timeout: T });
}

function watchPage(page, name) {
  page.on("pageerror", (e) => {
    console.log(`FAIL ${name}: page error: ${e.message}`);
    failures++;
  });
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy/i.test(m.text())) console.log(`     ${name} CSP: ${m.text().slice(0, 200)}`);
  });
}

let lab = null; // the lab this run starts: removed however the run ends
const trialEnvs = []; // the teacher's trial labs (pages.mjs): removed too

async function main() {
  const s = await setup();
  lab = s;
  const browser = await chromium.launch({
    executablePath: process.env.NP_CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  try {
    const teacherCtx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const studentCtx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const bobCtx = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const teacher = await teacherCtx.newPage();
    const student = await studentCtx.newPage();
    const bob = await bobCtx.newPage();
    watchPage(teacher, "teacher");
    watchPage(student, "student");
    watchPage(bob, "bob");
    pages = [["teacher", teacher], ["student", student], ["bob", bob]];

    // The login page, and the teacher's class board before anything runs.
    await teacher.goto(base + "/board");
    await teacher.waitForURL(/\/login\?next=/, { timeout: T });
    await axe(teacher, "login");
    await shot(teacher, "login");
    await teacher.getByLabel("Username").fill("admin");
    await teacher.getByLabel("Password").fill("wrong password");
    await teacher.getByRole("button", { name: "Log in" }).click();
    await teacher.getByRole("alert").waitFor({ timeout: T });
    check(true, "a wrong password shows the problem in a banner");
    await teacher.getByLabel("Password").fill(adminPassword);
    await teacher.getByRole("button", { name: "Log in" }).click();
    await teacher.waitForURL(/\/board$/, { timeout: T });
    check(true, "the login brings the teacher back to the page they asked for (/board)");
    const aliceRow = teacher.locator('tr[data-student="alice"]');
    await aliceRow.waitFor({ timeout: T });
    await axe(teacher, "class board");

    // The student: assignments, one assignment, start the lab.
    await login(student, "alice", "student-pw-1");
    await student.getByRole("heading", { name: "My assignments" }).waitFor({ timeout: T });
    await student.getByRole("link", { name: "Address PC1" }).waitFor({ timeout: T });
    await axe(student, "my assignments");
    await shot(student, "student-assignments");
    await student.getByRole("link", { name: "Address PC1" }).click();
    await student.getByRole("heading", { name: "Instructions" }).waitFor({ timeout: T });
    check((await student.locator(".markdown code").first().textContent()) === "ip 10.0.0.1/24", "instructions rendered from Markdown");
    await axe(student, "assignment");
    await student.getByRole("button", { name: "Start" }).click();
    await student.locator(".badge", { hasText: "running" }).first().waitFor({ timeout: 120_000 });
    check(true, "the lab runs (live state from the event stream)");
    // The teacher's board follows without a reload.
    await aliceRow.locator(".state .badge", { hasText: "running" }).waitFor({ timeout: T });
    check(true, "the class board shows alice's lab running, live");

    // The console: type into VPCS, read its answer.
    await student.getByRole("tab", { name: "pc1" }).click();
    await student.locator(".console-status", { hasText: "connected" }).waitFor({ timeout: T });
    const rows = student.locator('.terminal[data-node="pc1"] .xterm-rows');
    await student.waitForFunction(() => /pc1>/.test(document.querySelector(".xterm-rows")?.textContent ?? ""), null, { timeout: T });
    await student.locator(".terminal .xterm-helper-textarea").focus();
    await student.keyboard.type("ip 10.0.0.1/24");
    await student.keyboard.press("Enter");
    // VPCS drops what is typed while it checks for a duplicate address: wait for its next prompt.
    await student.waitForFunction(() => /PC1 : 10\.0\.0\.1 255\.255\.255\.0\s*pc1>/.test(document.querySelector(".xterm-rows")?.textContent ?? ""), null, { timeout: T });
    await student.keyboard.type("show ip");
    await student.keyboard.press("Enter");
    await student.waitForFunction(() => /IP\/MASK\s*:\s*10\.0\.0\.1\/24/.test(document.querySelector(".xterm-rows")?.textContent ?? ""), null, { timeout: T });
    check(/IP\/MASK\s*:\s*10\.0\.0\.1\/24/.test(await rows.textContent()), "the VPCS console answers `show ip` with 10.0.0.1/24");
    await axe(student, "assignment with console");
    await shot(student, "student-console");

    // Grade now: live progress, then each check's result, points and feedback.
    await student.getByRole("button", { name: "Grade now" }).click();
    const report = student.locator(".report");
    await report.locator(".total", { hasText: "2 / 2" }).waitFor({ timeout: 120_000 });
    check((await report.textContent()).includes("PC1 is addressed."), "the report shows the score 2 / 2 and the check's feedback");
    await shot(student, "student-graded");
    await aliceRow.locator(".score", { hasText: "2 / 2" }).waitFor({ timeout: T });
    check((await aliceRow.locator(".attempts").textContent()) === "1", "the class board shows alice's score and attempt, live");
    await shot(teacher, "teacher-board");

    // Another student cannot open alice's console: the WebSocket is refused (never opens).
    await login(bob, "bob", "student-pw-1");
    await bob.getByRole("heading", { name: "My assignments" }).waitFor({ timeout: T });
    const outcome = await bob.evaluate(
      (env) =>
        new Promise((resolve) => {
          const ws = new WebSocket(`ws://${location.host}/api/v1/environments/${env}/nodes/pc1/console`);
          ws.onopen = () => resolve("opened");
          ws.onclose = (e) => resolve(`closed ${e.code}`);
        }),
      s.aliceEnv,
    );
    check(outcome.startsWith("closed"), `bob's WebSocket to alice's console is refused (${outcome})`);
    // Their own assignment page at phone width (the lab is not running: no console).
    await bob.goto(`${base}/assignments/${s.bob}`);
    await bob.getByRole("heading", { name: "Instructions" }).waitFor({ timeout: T });
    await axe(bob, "assignment (phone width)");
    await shot(bob, "student-phone");

    // The exercise editor: a bad regex on line 10 is marked at line 10.
    await teacher.getByRole("link", { name: "Exercises" }).click();
    await teacher.getByRole("link", { name: "New exercise" }).waitFor({ timeout: T });
    await axe(teacher, "exercises");
    await teacher.getByRole("link", { name: "New exercise" }).click();
    const bad = spec.replace('expect: {contains: "10.0.0.1/24"}', "expect: {match: '('}");
    await teacher.getByLabel("Grading spec (exercise.yaml)").fill(bad);
    const marked = teacher.locator(".code-field").first().locator(".gutter .error");
    await marked.first().waitFor({ timeout: T });
    const lines = await marked.evaluateAll((els) => els.map((e) => e.getAttribute("data-line")));
    const expectLine = String(bad.split("\n").findIndex((l) => l.includes("match: '('")) + 1);
    check(lines.length === 1 && lines[0] === expectLine, `the lint error is marked at line ${expectLine} (got ${lines.join(",")})`);
    check((await teacher.locator(".lint-error").first().textContent()).includes("bad regex"), "the lint message is shown below the spec");
    await axe(teacher, "exercise editor");
    await shot(teacher, "teacher-editor");

    // The other teacher pages.
    for (const [link, name] of [["Assignments", "assignments"], ["Jobs", "jobs"], ["Users", "users"]]) {
      await teacher.getByRole("link", { name: link, exact: true }).click();
      await teacher.getByRole("heading", { name: link, exact: true }).waitFor({ timeout: T });
      await teacher.locator("tbody tr").first().waitFor({ timeout: T });
      await axe(teacher, name);
      await shot(teacher, `teacher-${name}`);
    }

    // Issue 11's other pages: drill-down, courses, gradebook, audit log, the realm picker.
    // The teacher's trial lab is removed at the end as alice's is.
    const trackAssignment = async (id) => trialEnvs.push((await call("GET", `/api/v1/assignments/${id}`, s.admin)).environment.id);
    await pageSteps({ browser, teacher, base, T, check, axe, shot, adminPassword, aliceId: s.aliceId, files: { spec, topology, instructions }, trackAssignment });
    await uploadSteps({ teacher, T, check, axe, shot, files: { spec, topology, instructions } });

    // An expired session: back to the login page, then to where the user was.
    await studentCtx.clearCookies();
    await student.reload();
    await student.waitForURL(/\/login\?next=%2Fassignments%2F/, { timeout: T });
    await student.getByLabel("Username").fill("alice");
    await student.getByLabel("Password").fill("student-pw-1");
    await student.getByRole("button", { name: "Log in" }).click();
    await student.getByRole("heading", { name: "Instructions" }).waitFor({ timeout: T });
    check(true, "an expired session goes to the login page and back to the assignment");
  } catch (e) {
    for (const [name, page] of pages) await shot(page, `failed-${name}`).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
}

// Removes a lab and waits (bounded) for its destroy job: the server stops when this script ends, and a lab
// left behind would keep its VPCS processes.
async function destroy(admin, env) {
  const job = (await call("POST", `/api/v1/environments/${env}/actions`, admin, { action: "destroy" })).job.id;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const j = await call("GET", `/api/v1/jobs/${job}`, admin);
    if (["succeeded", "failed", "cancelled"].includes(j.state)) return check(j.state === "succeeded", `the lab is destroyed (${j.state})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  check(false, "the lab's destroy job did not end in time");
}

let pages = [];
main()
  .catch((e) => {
    console.log("FAIL " + (e.stack || e));
    failures++;
  })
  .finally(async () => {
    if (lab) await destroy(lab.admin, lab.aliceEnv).catch((e) => check(false, "destroy: " + e));
    for (const env of trialEnvs) if (lab) await destroy(lab.admin, env).catch((e) => check(false, "destroy: " + e));
    console.log(failures ? `${failures} failure(s)` : "all browser checks passed");
    process.exit(failures ? 1 : 0);
  });
