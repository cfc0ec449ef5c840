// Browser steps of issue 11's teacher pages, run by browser.mjs once alice's attempt is graded: the realm
// picker on the login page, a student's drill-down (report and transcript), courses (create, a field error
// beside its field, the roster by group), the gradebook (per-check pass rate, CSV export) and the audit log
// (filtered by outcome), the exercise editor's versions, files loaded into it and the teacher's own trial
// lab, started and graded on the trial page. Each page gets an axe-core check and a screenshot.

// The exercise assigned to alice and bob through a course (so the course's gradebook has them): the
// course, its roster from CSV, then the course.assign job (waited for, bounded). Returns {student id:
// assignment id}.
export async function assignThroughCourse(admin, exerciseId, call) {
  const course = await call("POST", "/api/v1/courses", admin, { slug: "web-course", title: "Networks 1", groups: ["A", "B"] });
  const csv = "username,display_name,email,group\nalice,,alice@example.edu,A\nbob,,bob@example.edu,B\n";
  await call("POST", `/api/v1/courses/${course.id}/roster`, admin, { csv });
  const job = (await call("POST", `/api/v1/courses/${course.id}/assignments`, admin, { exercise_id: exerciseId })).job.id;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const j = await call("GET", `/api/v1/jobs/${job}`, admin);
    if (j.state === "succeeded") break;
    if (["failed", "cancelled"].includes(j.state)) throw new Error(`course.assign ${j.state}: ${j.error}`);
    if (Date.now() > deadline) throw new Error("course.assign did not end in time");
    await new Promise((r) => setTimeout(r, 100));
  }
  const list = await call("GET", `/api/v1/assignments?exercise_id=${exerciseId}&limit=500`, admin);
  return Object.fromEntries(list.items.map((a) => [a.student_id, a.id]));
}

export async function pageSteps({ browser, teacher, base, T, check, axe, shot, adminPassword, aliceId, files, trackAssignment }) {
  // The realm picker: two realms are configured, the page lists their labels; a teacher picks theirs.
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const fresh = await ctx.newPage();
  await fresh.goto(base + "/login");
  const picker = fresh.getByLabel("Log in with");
  await picker.waitFor({ timeout: T });
  const labels = await picker.locator("option").allTextContents();
  check(labels.includes("School account") && labels.includes("Guest account"), `the login page offers the realms (${labels.join(", ")})`);
  await fresh.getByLabel("Username").fill("admin");
  await fresh.getByLabel("Password").fill(adminPassword);
  await picker.selectOption("guests");
  await fresh.getByRole("button", { name: "Log in" }).click();
  await fresh.getByRole("alert").waitFor({ timeout: T });
  check(true, "the admin is refused in the guests realm (only that realm was tried)");
  await picker.selectOption("local");
  await fresh.getByRole("button", { name: "Log in" }).click();
  await fresh.waitForURL((u) => !u.pathname.startsWith("/login"), { timeout: T });
  check(true, "the admin logs in through the realm they picked");
  await ctx.close();

  // A student's drill-down from the class board: the report, then the grader's transcript.
  await teacher.getByRole("link", { name: "Class board" }).click();
  await teacher.locator('tr[data-student="alice"]').getByRole("link", { name: "alice" }).click();
  await teacher.getByRole("heading", { name: "Student alice" }).waitFor({ timeout: T });
  check(teacher.url().endsWith(`/students/${aliceId}`), "the board's student link opens the drill-down");
  await teacher.getByRole("button", { name: "Report #1" }).click();
  await teacher.locator(".report .total", { hasText: "2 / 2" }).waitFor({ timeout: T });
  const transcript = teacher.locator(".transcript");
  await transcript.getByText("show ip").first().waitFor({ timeout: T });
  check(/10\.0\.0\.1\/24/.test(await transcript.textContent()), "the drill-down shows the report and the transcript with the device's answer");
  await axe(teacher, "student drill-down");
  await shot(teacher, "teacher-drilldown");

  // Courses: the list, a new course (a bad slug is shown beside its field), the course and its roster.
  await teacher.getByRole("link", { name: "Courses", exact: true }).click();
  await teacher.getByRole("heading", { name: "Courses", exact: true }).waitFor({ timeout: T });
  await teacher.locator('tr[data-course="web-course"]').waitFor({ timeout: T });
  const form = teacher.getByRole("form", { name: "Create a course" });
  await form.getByLabel("Slug").fill("bad slug!");
  await form.getByRole("button", { name: "Create" }).click();
  await form.locator(".field-error").waitFor({ timeout: T });
  check((await form.getByLabel("Slug").getAttribute("aria-invalid")) === "true", "a bad slug is marked at its field");
  await form.getByLabel("Slug").fill("net-2");
  await form.getByLabel("Groups (comma-separated)").fill("red, blue");
  await form.getByRole("button", { name: "Create" }).click();
  await teacher.locator('tr[data-course="net-2"]').waitFor({ timeout: T });
  check((await teacher.locator('tr[data-course="net-2"]').textContent()).includes("red, blue"), "the new course is listed with its groups");
  await axe(teacher, "courses");
  await shot(teacher, "teacher-courses");
  await teacher.getByRole("link", { name: "web-course", exact: true }).click();
  await teacher.locator('tr[data-member="bob"]').waitFor({ timeout: T });
  await teacher.getByLabel("Roster group").selectOption("A");
  await teacher.locator('tr[data-member="bob"]').waitFor({ state: "detached", timeout: T });
  check((await teacher.locator("tr[data-member]").count()) === 1, "the roster filtered by group A shows alice alone");
  await axe(teacher, "course");
  await shot(teacher, "teacher-course");

  // The gradebook: alice's final score, the check's pass rate, the CSV export.
  await teacher.getByRole("link", { name: "Gradebook", exact: true }).click();
  await teacher.getByRole("heading", { name: "Gradebook web-course" }).waitFor({ timeout: T });
  const aliceRow = teacher.locator('table.gradebook tr[data-student="alice"]');
  await aliceRow.waitFor({ timeout: T });
  check((await aliceRow.textContent()).includes("2 / 2"), "the gradebook shows alice's 2 / 2");
  check((await teacher.locator('tr[data-check="pc1-address"]').textContent()).includes("100 %"), "the per-check breakdown shows the pass rate");
  const csvHref = await teacher.getByRole("link", { name: /Export CSV/ }).getAttribute("href");
  const csv = await teacher.evaluate(async (href) => (await fetch(href)).text(), csvHref);
  check(/^username,email,display_name,group,web-vpcs\r\n/.test(csv) && /\r\nalice,alice@example\.edu,[^,]*,A,2\r\n/.test(csv), "the CSV export has alice's score");
  await axe(teacher, "gradebook");
  await shot(teacher, "teacher-gradebook");

  // The audit log: logins, the grading request; filtered to refused actions (the wrong password).
  await teacher.getByRole("link", { name: "Audit log" }).click();
  await teacher.getByRole("heading", { name: "Audit log" }).waitFor({ timeout: T });
  await teacher.locator('tr[data-action="evaluation.request"]').first().waitFor({ timeout: T });
  check((await teacher.locator('tr[data-action="course.create"]').count()) >= 2, "the audit log lists the courses created");
  await teacher.getByRole("form", { name: "Filter the audit log" }).getByLabel("Outcome").selectOption("denied");
  await teacher.getByRole("button", { name: "Filter" }).click();
  await teacher.locator('tr[data-action="course.create"]').first().waitFor({ state: "detached", timeout: T });
  const outcomes = await teacher.locator("table.audit tbody tr td:nth-child(5)").allTextContents();
  check(outcomes.length >= 2 && outcomes.every((o) => o === "refused"), `the outcome filter shows refused entries only (${outcomes.join(", ")})`);
  await axe(teacher, "audit log");
  await shot(teacher, "teacher-audit");

  // An exercise folder's files loaded into the editor (nothing stored until Save).
  await teacher.getByRole("link", { name: "Exercises", exact: true }).click();
  await teacher.getByRole("link", { name: "New exercise" }).click();
  await teacher.getByLabel(/Load from files/).setInputFiles([
    { name: "exercise.yaml", mimeType: "text/yaml", buffer: Buffer.from(files.spec) },
    { name: "topology.yaml", mimeType: "text/yaml", buffer: Buffer.from(files.topology) },
    { name: "instructions.md", mimeType: "text/markdown", buffer: Buffer.from(files.instructions) },
    { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("ignored") },
  ]);
  await teacher.getByRole("status").filter({ hasText: "Loaded" }).waitFor({ timeout: T });
  check((await teacher.getByLabel("Grading spec (exercise.yaml)").inputValue()) === files.spec && (await teacher.getByLabel("Instructions (Markdown)").inputValue()) === files.instructions, "an exercise's files load into the editor");

  // The exercise's versions, then the teacher's own trial of version 1 (their assignment page, lab controls).
  await teacher.getByRole("link", { name: "Exercises", exact: true }).click();
  await teacher.getByRole("link", { name: "Address PC1" }).click();
  const v1 = teacher.locator('table.versions tr[data-version="1"]');
  await v1.waitFor({ timeout: T });
  check((await v1.textContent()).includes("published"), "the editor lists version 1, published");
  await axe(teacher, "exercise editor with versions");
  await teacher.getByRole("button", { name: "Try version 1 on my own lab" }).click();
  await teacher.waitForURL(/\/assignments\//, { timeout: T });
  await teacher.getByRole("heading", { name: "Instructions" }).waitFor({ timeout: T });
  check(await teacher.getByRole("button", { name: "Start" }).isEnabled(), "the trial opens the teacher's own assignment with its lab controls");
  await axe(teacher, "teacher trial");
  // The trial graded: the teacher starts their lab, grades it untouched and reads the report (0 / 2, the
  // check's failure feedback).
  await trackAssignment(new URL(teacher.url()).pathname.split("/").pop());
  await teacher.getByRole("button", { name: "Start" }).click();
  await teacher.locator(".badge", { hasText: "running" }).first().waitFor({ timeout: 120_000 });
  await teacher.getByRole("button", { name: "Grade now" }).click();
  const report = teacher.locator(".report");
  await report.locator(".total", { hasText: "0 / 2" }).waitFor({ timeout: 120_000 });
  check((await report.textContent()).includes("PC1 needs ip 10.0.0.1/24"), "the trial page grades the teacher's lab and shows the report (0 / 2 and the feedback)");
  await axe(teacher, "teacher trial graded");
  await shot(teacher, "teacher-trial");
}
