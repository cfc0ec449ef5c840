// The student's pages: their assignments, and one assignment (instructions, the lab with its consoles,
// grading with live progress, attempt history). A teacher opening an assignment sees the same page and
// watches consoles read-only.
import { useEffect, useRef, useState } from "preact/hooks";
import { all, Assignment, Environment, Evaluation, EvaluationStatus, FINAL_JOB_STATES, get, JobState, Me, ObservedState, post } from "../api";
import { subscribe } from "../events";
import { renderMarkdown } from "../markdown";
import { Link } from "../router";
import { Banner, Progress, score, StateBadge, when } from "../ui";
import { Console } from "../console";

// GET /api/v1/assignments/{id}/view: the student's view (instructions rendered with their own variables).
interface ExerciseView {
  title: string;
  version: number;
  instructions: string;
}

interface Row {
  a: Assignment;
  title: string;
  evals: Evaluation[];
}

function attemptsLeft(a: Assignment, used: number): string {
  return a.max_attempts ? String(Math.max(a.max_attempts - used, 0)) : "unlimited";
}

function cooldownLeft(a: Assignment, evals: Evaluation[]): number {
  const last = evals.reduce<Evaluation | null>((m, e) => (!m || e.attempt > m.attempt ? e : m), null);
  if (!last || !a.cooldown_seconds || !last.created_at) return 0;
  return Math.max(0, Math.ceil((Date.parse(last.created_at) + a.cooldown_seconds * 1000 - Date.now()) / 1000));
}

function best(evals: Evaluation[]): Evaluation | undefined {
  return evals.filter((e) => e.status === "done").sort((x, y) => y.score - x.score)[0];
}
function latest(evals: Evaluation[]): Evaluation | undefined {
  return [...evals].sort((x, y) => y.attempt - x.attempt)[0];
}

export function MyAssignments() {
  const [rows, setRows] = useState<Row[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    (async () => {
      const list = await all<Assignment>("/api/v1/assignments");
      const evals = await all<Evaluation>("/api/v1/evaluations");
      const out = await Promise.all(
        list.map(async (a) => ({
          a,
          title: (await get<ExerciseView>(`/api/v1/assignments/${a.id}/view`)).title,
          evals: evals.filter((e) => e.assignment_id === a.id),
        })),
      );
      setRows(out);
    })().catch(setError);
  }, []);
  return (
    <section>
      <h1>My assignments</h1>
      <Banner error={error} />
      {rows && rows.length === 0 ? <p>No assignment yet.</p> : null}
      {rows && rows.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Exercise</th>
              <th scope="col">Deadline</th>
              <th scope="col">Attempts left</th>
              <th scope="col">Cooldown</th>
              <th scope="col">Last score</th>
              <th scope="col">Best score</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ a, title, evals }) => {
              const l = latest(evals);
              const b = best(evals);
              const cd = cooldownLeft(a, evals);
              return (
                <tr key={a.id}>
                  <td>
                    <Link href={`/assignments/${a.id}`}>{title}</Link>
                  </td>
                  <td>{when(a.deadline)}</td>
                  <td>{attemptsLeft(a, evals.length)}</td>
                  <td>{cd ? `${cd} s` : "—"}</td>
                  <td>{l && l.status === "done" ? score(l.score, l.max_score) : l ? l.status : "—"}</td>
                  <td>{b ? score(b.score, b.max_score) : "—"}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

interface JobWatch {
  id: string;
  label: string;
  done: number;
  total: number;
  message: string;
}

export function AssignmentPage({ id, me }: { id: string; me: Me }) {
  const [a, setA] = useState<Assignment | null>(null);
  const [ex, setEx] = useState<ExerciseView | null>(null);
  const [env, setEnv] = useState<Environment | null>(null);
  const [evals, setEvals] = useState<Evaluation[]>([]);
  const [shown, setShown] = useState<Evaluation | null>(null);
  const [job, setJob] = useState<JobWatch | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [labError, setLabError] = useState<unknown>(null);
  const [gradeError, setGradeError] = useState<unknown>(null);
  const [tab, setTab] = useState<string | null>(null);
  const teacher = me.role === "teacher";

  const loadEvals = async () => {
    const list = await all<Evaluation>(`/api/v1/evaluations?assignment_id=${encodeURIComponent(id)}`);
    list.sort((x, y) => y.attempt - x.attempt);
    setEvals(list);
    return list;
  };
  useEffect(() => {
    (async () => {
      const got = await get<Assignment>(`/api/v1/assignments/${id}`);
      setA(got);
      setEnv(got.environment ?? null);
      setEx(await get<ExerciseView>(`/api/v1/assignments/${id}/view`));
      const list = await loadEvals();
      if (list[0]) setShown(list[0]);
    })().catch(setError);
  }, [id]);

  const finished = useRef(new Map<string, any>());
  const endJob = (watch: JobWatch, data: any) => {
    if ((data.state as JobState) !== "succeeded")
      (watch.label.startsWith("Grading") ? setGradeError : setLabError)({ title: "Failed", detail: data.error || data.message });
    jobRef.current = null;
    setJob(null);
  };
  const watchJob = (watch: JobWatch) => {
    const done = finished.current.get(watch.id);
    if (done) return endJob(watch, done);
    jobRef.current = watch;
    setJob(watch);
  };
  // One subscription for the page's life; the handler reads the current lab and job through refs.
  const envRef = useRef<Environment | null>(null);
  const jobRef = useRef<JobWatch | null>(null);
  envRef.current = env;
  jobRef.current = job;
  useEffect(
    () =>
      subscribe(async (e) => {
        const env = envRef.current;
        const job = jobRef.current;
        if (e.type === "environment.state" && env && e.data.id === env.id) {
          setEnv((cur) => (cur ? { ...cur, observed_state: e.data.observed, desired_state: e.data.desired, last_error: e.data.error } : cur));
          if ((e.data.observed as ObservedState) === "running") get<Environment>(`/api/v1/environments/${env.id}`).then(setEnv).catch(() => {});
        }
        const final = e.type === "job.state" && FINAL_JOB_STATES.includes(e.data.state as JobState);
        // A short job may end before the request that made it has answered: remember how it ended.
        if (final) finished.current.set(e.data.id, e.data);
        if ((e.type === "job.progress" || e.type === "job.state") && job && e.data.id === job.id) {
          setJob((j) => (j ? { ...j, done: e.data.done ?? j.done, total: e.data.total ?? j.total, message: e.data.message ?? j.message } : j));
          if (final) endJob(job, e.data);
        }
        if (e.type === "evaluation.state" && ((e.data.status as EvaluationStatus) === "done" || (e.data.status as EvaluationStatus) === "error")) {
          const list = await loadEvals();
          const ev = list.find((x) => x.id === e.data.id);
          if (ev) setShown(await get<Evaluation>(`/api/v1/evaluations/${ev.id}`));
        }
      }),
    [id],
  );

  if (error) return <Banner error={error} />;
  if (!a || !ex) return <p aria-busy="true">Loading…</p>;

  const act = async (action: string) => {
    if (!env) return;
    setLabError(null);
    try {
      const r = await post<{ environment: Environment; job: { id: string } }>(`/api/v1/environments/${env.id}/actions`, { action });
      setEnv(r.environment);
      watchJob({ id: r.job.id, label: `Lab: ${action}`, done: 0, total: 0, message: "queued" });
    } catch (err) {
      setLabError(err);
    }
  };
  const grade = async () => {
    setGradeError(null);
    setShown(null); // before the request: the result may come back before the request's answer
    // The open console stays open: the server pauses it while the grader uses the device (a notice in it).
    try {
      const r = await post<{ evaluation: Evaluation; job: { id: string } }>(`/api/v1/assignments/${id}/evaluations`);
      watchJob({ id: r.job.id, label: "Grading", done: 0, total: 0, message: "queued" });
      await loadEvals();
    } catch (err) {
      setGradeError(err);
    }
  };
  const devices = env?.observed_state === "running" ? env.addresses?.devices ?? [] : [];
  const state = env?.observed_state ?? "absent";

  return (
    <article>
      <h1>{ex.title}</h1>
      <p class="meta">
        Version {ex.version} · deadline {when(a.deadline)} · attempts left {attemptsLeft(a, evals.length)}
      </p>
      <section aria-labelledby="instr">
        <h2 id="instr">Instructions</h2>
        <div class="markdown" dangerouslySetInnerHTML={{ __html: renderMarkdown(ex.instructions) }} />
      </section>

      <section aria-labelledby="lab">
        <h2 id="lab">Lab</h2>
        <p>
          State: <StateBadge state={state} />
          {env?.last_error ? <span class="error-text"> {env.last_error}</span> : null}
        </p>
        <Banner error={labError} />
        <div class="buttons">
          <button type="button" onClick={() => act("start")} disabled={!env || !!job}>
            Start
          </button>
          <button type="button" onClick={() => act("stop")} disabled={!env || !!job}>
            Stop
          </button>
          <button type="button" onClick={() => act("reset")} disabled={!env || !!job}>
            Reset
          </button>
        </div>
        {job ? <Progress done={job.done} total={job.total} label={`${job.label}: ${job.message}`} /> : null}
        {devices.length ? (
          <div class="devices">
            <div role="tablist" aria-label="Device consoles">
              {devices.map((d) => (
                <button
                  type="button"
                  role="tab"
                  key={d.node}
                  aria-selected={tab === d.node}
                  onClick={() => setTab(tab === d.node ? null : d.node)}
                >
                  {d.node}
                </button>
              ))}
            </div>
            {tab && env ? (
              <div role="tabpanel" aria-label={`${tab} console`}>
                <Console key={tab} env={env.id} node={tab} watch={teacher && a.student_id !== me.id} />
              </div>
            ) : (
              <p class="note">Open a device's console with its tab. Grading pauses it; what you type meanwhile is sent when grading ends.</p>
            )}
          </div>
        ) : null}
      </section>

      <section aria-labelledby="grading">
        <h2 id="grading">Grading</h2>
        <Banner error={gradeError} />
        <button type="button" class="primary" onClick={grade} disabled={!!job}>
          Grade now
        </button>
        {shown ? <Report ev={shown} /> : null}
        {evals.length ? (
          <>
            <h3>Attempts</h3>
            <table>
              <thead>
                <tr>
                  <th scope="col">Attempt</th>
                  <th scope="col">When</th>
                  <th scope="col">Status</th>
                  <th scope="col">Score</th>
                </tr>
              </thead>
              <tbody>
                {evals.map((e) => (
                  <tr key={e.id}>
                    <td>
                      <button type="button" class="link" onClick={async () => setShown(await get<Evaluation>(`/api/v1/evaluations/${e.id}`))}>
                        #{e.attempt}
                      </button>
                    </td>
                    <td>{when(e.created_at)}</td>
                    <td>
                      <StateBadge state={e.status} />
                    </td>
                    <td>{e.status === "done" ? score(e.score, e.max_score) : "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        ) : null}
      </section>
    </article>
  );
}

export function Report({ ev }: { ev: Evaluation }) {
  return (
    <div class="report" aria-label={`Attempt ${ev.attempt} report`}>
      <p class="score">
        Attempt #{ev.attempt}: <StateBadge state={ev.status} />{" "}
        {ev.status === "done" ? <strong class="total">{score(ev.score, ev.max_score)}</strong> : null}
        {ev.error ? <span class="error-text"> {ev.error}</span> : null}
      </p>
      {ev.results?.length ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Check</th>
              <th scope="col">Result</th>
              <th scope="col">Points</th>
              <th scope="col">Feedback</th>
            </tr>
          </thead>
          <tbody>
            {ev.results.map((c, i) => (
              <tr key={c.id ?? i}>
                <td>{c.hidden ? <em>hidden check</em> : c.title || c.id}</td>
                <td>
                  <StateBadge state={c.status ?? "—"} />
                </td>
                <td>
                  {c.points ?? 0} / {c.max_points ?? 0}
                </td>
                <td class="feedback">
                  {c.feedback ?? ""}
                  {c.evidence ? (
                    <details>
                      <summary>evidence</summary>
                      <pre>{typeof c.evidence === "string" ? c.evidence : JSON.stringify(c.evidence, null, 2)}</pre>
                    </details>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
