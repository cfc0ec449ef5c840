// Teacher: one student's drill-down: their assignments (lab state, attempts, best score), each attempt's
// report with the grader's transcript (teachers only: the API sends it to teachers alone), and a link to
// the assignment's page, where a teacher watches the student's consoles read-only (?mode=watch).
import { useEffect, useState } from "preact/hooks";
import { all, Assignment, Evaluation, get, User } from "../api";
import { Link } from "../router";
import { Banner, score, StateBadge, when } from "../ui";
import { Report } from "./student";

interface TranscriptLine {
  device: string;
  command: string;
  output: string;
  error?: string;
  duration_ms?: number;
}

export function StudentPage({ id }: { id: string }) {
  const [user, setUser] = useState<User | null>(null);
  const [assignments, setAssignments] = useState<(Assignment & { title: string })[]>([]);
  const [evals, setEvals] = useState<Evaluation[]>([]);
  const [shown, setShown] = useState<(Evaluation & { transcript?: TranscriptLine[] }) | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    (async () => {
      setUser(await get<User>(`/api/v1/users/${encodeURIComponent(id)}`));
      const list = await all<Assignment>(`/api/v1/assignments?student_id=${encodeURIComponent(id)}`);
      const titled = await Promise.all(
        list.map(async (a) => ({ ...a, title: (await get<{ title: string }>(`/api/v1/assignments/${a.id}/view`)).title })),
      );
      setAssignments(titled);
      const ev = await all<Evaluation>(`/api/v1/evaluations?student_id=${encodeURIComponent(id)}`);
      ev.sort((x, y) => (y.created_at ?? "").localeCompare(x.created_at ?? ""));
      setEvals(ev);
    })().catch(setError);
  }, [id]);
  const title = (aid: string) => assignments.find((a) => a.id === aid)?.title ?? aid;
  if (!user) return <section aria-busy="true"><Banner error={error} /></section>;
  return (
    <section>
      <h1>Student {user.display_name || user.username}</h1>
      <p class="meta">
        {user.username} · realm {user.realm}
        {user.disabled ? " · disabled" : ""}
      </p>
      <Banner error={error} />
      <h2>Assignments</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Exercise</th>
            <th scope="col">Deadline</th>
            <th scope="col">Lab</th>
            <th scope="col">Attempts</th>
            <th scope="col">Best score</th>
          </tr>
        </thead>
        <tbody>
          {assignments.map((a) => {
            const mine = evals.filter((e) => e.assignment_id === a.id);
            const best = mine.filter((e) => e.status === "done").sort((x, y) => y.score - x.score)[0];
            return (
              <tr key={a.id} data-assignment={a.id}>
                <td>
                  <Link href={`/assignments/${a.id}`}>{a.title}</Link>
                </td>
                <td>{when(a.deadline)}</td>
                <td>
                  <StateBadge state={a.environment?.observed_state ?? "absent"} />
                  {a.environment?.observed_state === "running" ? (
                    <>
                      {" "}
                      <Link href={`/assignments/${a.id}`}>Watch consoles of {a.title}</Link>
                    </>
                  ) : null}
                </td>
                <td>{mine.length}</td>
                <td>{best ? score(best.score, best.max_score) : "—"}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <h2>Attempts</h2>
      {evals.length === 0 ? <p>No attempt yet.</p> : null}
      {evals.length ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Exercise</th>
              <th scope="col">Attempt</th>
              <th scope="col">When</th>
              <th scope="col">Status</th>
              <th scope="col">Score</th>
            </tr>
          </thead>
          <tbody>
            {evals.map((e) => (
              <tr key={e.id}>
                <td>{title(e.assignment_id)}</td>
                <td>
                  <button type="button" class="link" onClick={() => get<Evaluation>(`/api/v1/evaluations/${e.id}`).then(setShown).catch(setError)}>
                    Report #{e.attempt}
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
      ) : null}
      {shown ? (
        <>
          <Report ev={shown} />
          <Transcript lines={shown.transcript ?? []} />
        </>
      ) : null}
    </section>
  );
}

function Transcript({ lines }: { lines: TranscriptLine[] }) {
  return (
    <section aria-labelledby="transcript" class="transcript">
      <h3 id="transcript">Transcript</h3>
      {lines.length === 0 ? <p>No command was run.</p> : null}
      {lines.map((l, i) => (
        <div key={i}>
          <p class="meta">
            <strong>{l.device}</strong> <code>{l.command}</code>
            {l.duration_ms !== undefined ? ` · ${l.duration_ms} ms` : ""}
            {l.error ? <span class="error-text"> {l.error}</span> : null}
          </p>
          <pre>{l.output}</pre>
        </div>
      ))}
    </section>
  );
}
