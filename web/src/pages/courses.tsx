// Teacher: courses (list, create), one course (its groups, roster by group, CSV import, assigning an
// exercise to the course or one group) and its gradebook (final scores, per-check pass rates, CSV export).
import { useEffect, useState } from "preact/hooks";
import { all, api, ApiError, Course, Exercise, get, Gradebook, Member, post } from "../api";
import { Link } from "../router";
import { Banner, score } from "../ui";
import { ListPage } from "../list_page";
import { percent } from "../format";

function fieldError(err: unknown, name: string): string | undefined {
  return err instanceof ApiError ? err.field(name) : undefined;
}

export function Courses() {
  return (
    <ListPage<Course>
      title="Courses"
      path="/api/v1/courses"
      noun="course"
      fields={[
        { name: "slug", label: "Slug", required: true },
        { name: "title", label: "Title" },
        { name: "groups", label: "Groups (comma-separated)" },
      ]}
      body={(v) => ({ slug: v.slug, title: v.title || v.slug, groups: v.groups.split(",").map((g) => g.trim()).filter(Boolean) })}
      columns={["Course", "Title", "Groups", "Members", "Gradebook"]}
      row={(c) => (
        <tr key={c.id} data-course={c.slug}>
          <td>
            <Link href={`/courses/${c.id}`}>{c.slug}</Link>
          </td>
          <td>{c.title}</td>
          <td>{c.groups.join(", ") || "—"}</td>
          <td>{c.members}</td>
          <td>
            <Link href={`/courses/${c.id}/gradebook`}>Gradebook of {c.slug}</Link>
          </td>
        </tr>
      )}
    />
  );
}

export function CoursePage({ id }: { id: string }) {
  const [course, setCourse] = useState<Course | null>(null);
  const [members, setMembers] = useState<Member[]>([]);
  const [group, setGroup] = useState("");
  const [error, setError] = useState<unknown>(null);
  const load = async () => {
    const c = await get<Course>(`/api/v1/courses/${encodeURIComponent(id)}`);
    setCourse(c);
    const r = await get<{ items: Member[] }>(`/api/v1/courses/${c.id}/roster${group ? "?group=" + encodeURIComponent(group) : ""}`);
    setMembers(r.items);
  };
  useEffect(() => {
    load().catch(setError);
  }, [id, group]);
  if (!course) return <section aria-busy="true"><Banner error={error} /></section>;
  return (
    <section>
      <h1>Course {course.title}</h1>
      <p>
        <Link href="/courses">All courses</Link> · <Link href={`/courses/${course.id}/gradebook`}>Gradebook</Link>
      </p>
      <Banner error={error} />
      <GroupsForm course={course} onSaved={setCourse} />
      <RosterImport course={course} onDone={() => load().catch(setError)} />
      <CourseAssign course={course} />
      <h2>Roster</h2>
      <label>
        Group
        <select aria-label="Roster group" value={group} onChange={(e) => setGroup((e.target as HTMLSelectElement).value)}>
          <option value="">every group</option>
          {course.groups.map((g) => (
            <option key={g} value={g}>
              {g}
            </option>
          ))}
        </select>
      </label>
      <table>
        <thead>
          <tr>
            <th scope="col">Username</th>
            <th scope="col">Name</th>
            <th scope="col">Group</th>
            <th scope="col">Email</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {members.map((m) => (
            <tr key={m.id} data-member={m.username}>
              <td>
                <Link href={`/students/${m.id}`}>{m.username}</Link>
              </td>
              <td>{m.display_name}</td>
              <td>{m.group || "—"}</td>
              <td>{m.email}</td>
              <td>
                <button
                  type="button"
                  onClick={() =>
                    api("DELETE", `/api/v1/courses/${course.id}/roster/${m.id}`)
                      .then(() => load())
                      .catch(setError)
                  }
                >
                  Remove {m.username}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function GroupsForm({ course, onSaved }: { course: Course; onSaved: (c: Course) => void }) {
  const [groups, setGroups] = useState(course.groups.join(", "));
  const [err, setErr] = useState<unknown>(null);
  return (
    <form
      class="card"
      aria-label="Groups"
      onSubmit={async (e) => {
        e.preventDefault();
        setErr(null);
        try {
          const list = groups.split(",").map((g) => g.trim()).filter(Boolean);
          onSaved(await api<Course>("PATCH", `/api/v1/courses/${course.id}`, { groups: list }));
        } catch (x) {
          setErr(x);
        }
      }}
    >
      <h2>Groups</h2>
      <Banner error={err && !fieldError(err, "groups") ? err : null} />
      <label>
        Group names (comma-separated; empty: a roster may name any group)
        <input value={groups} onInput={(e) => setGroups((e.target as HTMLInputElement).value)} aria-invalid={!!fieldError(err, "groups")} />
        {fieldError(err, "groups") ? <span class="field-error">{fieldError(err, "groups")}</span> : null}
      </label>
      <button type="submit">Save groups</button>
    </form>
  );
}

function RosterImport({ course, onDone }: { course: Course; onDone: () => void }) {
  const [csv, setCsv] = useState("username,display_name,email,group\n");
  const [err, setErr] = useState<unknown>(null);
  const [done, setDone] = useState("");
  return (
    <form
      class="card"
      aria-label="Import students"
      onSubmit={async (e) => {
        e.preventDefault();
        setErr(null);
        setDone("");
        try {
          await post(`/api/v1/courses/${course.id}/roster`, { csv });
          setDone("Imported.");
          onDone();
        } catch (x) {
          setErr(x);
        }
      }}
    >
      <h2>Add students</h2>
      <Banner error={err} />
      {done ? <p role="status">{done}</p> : null}
      <label>
        Roster CSV (username, display_name, email, group)
        <textarea rows={4} value={csv} onInput={(e) => setCsv((e.target as HTMLTextAreaElement).value)} />
      </label>
      <button type="submit">Import</button>
    </form>
  );
}

function CourseAssign({ course }: { course: Course }) {
  const [exercises, setExercises] = useState<Exercise[]>([]);
  const [exercise, setExercise] = useState("");
  const [group, setGroup] = useState("");
  const [err, setErr] = useState<unknown>(null);
  const [done, setDone] = useState("");
  useEffect(() => {
    all<Exercise>("/api/v1/exercises")
      .then((e) => setExercises(e.filter((x) => x.published_version)))
      .catch(setErr);
  }, []);
  return (
    <form
      class="card"
      aria-label="Assign to the course"
      onSubmit={async (e) => {
        e.preventDefault();
        setErr(null);
        setDone("");
        try {
          const r = await post<{ job: { id: string } }>(`/api/v1/courses/${course.id}/assignments`, group ? { exercise_id: exercise, group } : { exercise_id: exercise });
          setDone(`Assigning (job ${r.job.id}); see Jobs for its progress.`);
        } catch (x) {
          setErr(x);
        }
      }}
    >
      <h2>Assign an exercise</h2>
      <Banner error={err} />
      {done ? <p role="status">{done}</p> : null}
      <div class="row">
        <label>
          Exercise
          <select required value={exercise} onChange={(e) => setExercise((e.target as HTMLSelectElement).value)}>
            <option value="">choose…</option>
            {exercises.map((x) => (
              <option key={x.id} value={x.id}>
                {x.title}
              </option>
            ))}
          </select>
        </label>
        <label>
          To
          <select value={group} onChange={(e) => setGroup((e.target as HTMLSelectElement).value)}>
            <option value="">the whole course</option>
            {course.groups.map((g) => (
              <option key={g} value={g}>
                group {g}
              </option>
            ))}
          </select>
        </label>
      </div>
      <button type="submit">Assign</button>
    </form>
  );
}

export function GradebookPage({ id }: { id: string }) {
  const [g, setG] = useState<Gradebook | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    get<Gradebook>(`/api/v1/courses/${encodeURIComponent(id)}/gradebook`).then(setG).catch(setError);
  }, [id]);
  if (!g) return <section aria-busy="true"><Banner error={error} /></section>;
  return (
    <section>
      <h1>Gradebook {g.slug}</h1>
      <p>
        <Link href={`/courses/${g.course_id}`}>Back to the course</Link> ·{" "}
        <a href={`/api/v1/courses/${g.course_id}/gradebook?format=csv`} download={`${g.slug}-gradebook.csv`}>
          Export CSV (Moodle import)
        </a>
      </p>
      <Banner error={error} />
      <div class="scroll">
        <table class="gradebook">
          <thead>
            <tr>
              <th scope="col">Student</th>
              <th scope="col">Group</th>
              {g.columns.map((c) => (
                <th scope="col" key={c.exercise_id}>
                  {c.title}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {g.rows.map((r) => (
              <tr key={r.student_id} data-student={r.username}>
                <th scope="row">
                  <Link href={`/students/${r.student_id}`}>{r.display_name || r.username}</Link>
                </th>
                <td>{r.group || "—"}</td>
                {r.cells.map((cell, i) => (
                  <td key={i} class="num">
                    {!cell ? "—" : cell.graded && cell.score !== null ? score(cell.score, cell.max_score) + (cell.late ? " (late)" : "") : "not graded"}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>Checks</h2>
      {g.columns.map((c) => (
        <table key={c.exercise_id} class="checks">
          <caption>{c.title}: pass rate per check</caption>
          <thead>
            <tr>
              <th scope="col">Check</th>
              <th scope="col">Passed</th>
              <th scope="col">Failed</th>
              <th scope="col">Pass rate</th>
            </tr>
          </thead>
          <tbody>
            {c.checks.map((k) => (
              <tr key={k.id} data-check={k.id}>
                <td>
                  {k.title || k.id}
                  {k.hidden ? " (hidden)" : ""}
                </td>
                <td class="num">{k.passed}</td>
                <td class="num">{k.failed}</td>
                <td class="num">{percent(k.pass_rate)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
    </section>
  );
}
