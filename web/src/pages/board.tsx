// Teacher: the class board. One row per assignment (a student and an exercise) with the lab's state,
// attempts and last score, updated live from the event stream (updates are applied to maps and drawn
// once per animation frame, so a burst of events costs one render); sortable, filterable; batch actions on
// the selected rows.
import { useEffect, useRef, useState } from "preact/hooks";
import { all, Assignment, Environment, Evaluation, Exercise, get, post, User } from "../api";
import { subscribe } from "../events";
import { Link } from "../router";
import { Banner, score, StateBadge, when } from "../ui";
import { addEvaluation, applyBoardEvent, BoardData, boardData, boardRows, SortKey } from "../board_model";

export function ClassBoard() {
  const data = useRef<BoardData | null>(null);
  const [, setTick] = useState(0);
  const frame = useRef(0);
  const [error, setError] = useState<unknown>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [note, setNote] = useState("");
  const [filter, setFilter] = useState("");
  const [exercise, setExercise] = useState("");
  const [sort, setSort] = useState<{ key: SortKey; dir: 1 | -1 }>({ key: "student", dir: 1 });
  const [selected, setSelected] = useState<Set<string>>(new Set());

  const redraw = () => {
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      setTick((t) => t + 1);
    });
  };
  useEffect(() => {
    (async () => {
      const [assignments, envs, evals, users, exercises] = await Promise.all([
        all<Assignment>("/api/v1/assignments"),
        all<Environment>("/api/v1/environments"),
        all<Evaluation>("/api/v1/evaluations"),
        all<User>("/api/v1/users"),
        all<Exercise>("/api/v1/exercises"),
      ]);
      const d = boardData(assignments, envs, evals, users, exercises);
      data.current = d;
      redraw();
    })().catch(setError);
  }, []);

  useEffect(
    () =>
      subscribe((e) => applyEvent(e.type, e.data)),
    [],
  );
  // Exposed for the board benchmark (bench/web): applies one event as the stream would.
  const applyEvent = (type: string, ev: any) => {
    const d = data.current;
    if (!d) return;
    const what = applyBoardEvent(d, type, ev);
    if (what === "changed") redraw();
    else if (what === "fetch")
      get<Evaluation>(`/api/v1/evaluations/${ev.id}`)
        .then((full) => {
          addEvaluation(d, full);
          redraw();
        })
        .catch(() => {});
  };
  (window as any).__npBoardApply = applyEvent;

  const d = data.current;
  const rows = d ? boardRows(d, exercise, filter, sort) : [];

  if (error) return <Banner error={error} />;
  if (!d) return <p aria-busy="true">Loading…</p>;

  const header = (key: SortKey, label: string) => (
    <th scope="col" aria-sort={sort.key === key ? (sort.dir === 1 ? "ascending" : "descending") : "none"}>
      <button type="button" class="sort" onClick={() => setSort({ key, dir: sort.key === key ? (-sort.dir as 1 | -1) : 1 })}>
        {label}
      </button>
    </th>
  );
  const targets = () => rows.filter((r) => selected.has(r.a.id));
  const batch = async (what: "start" | "stop" | "grade") => {
    setActionError(null);
    setNote("");
    const chosen = targets();
    const results = await Promise.allSettled(
      chosen.map((r) =>
        what === "grade"
          ? post(`/api/v1/assignments/${r.a.id}/evaluations`)
          : r.env
            ? post(`/api/v1/environments/${r.env.id}/actions`, { action: what })
            : Promise.reject(new Error("no environment")),
      ),
    );
    const failed = results.filter((x) => x.status === "rejected") as PromiseRejectedResult[];
    setNote(`${what}: ${chosen.length - failed.length} of ${chosen.length} requested.`);
    if (failed.length) setActionError(failed[0].reason);
  };
  const allSelected = rows.length > 0 && rows.every((r) => selected.has(r.a.id));

  return (
    <section>
      <h1>Class board</h1>
      <div class="toolbar">
        <label>
          Exercise
          <select value={exercise} onChange={(e) => setExercise((e.target as HTMLSelectElement).value)}>
            <option value="">all</option>
            {[...d.exercises.values()].map((x) => (
              <option key={x.id} value={x.id}>
                {x.title}
              </option>
            ))}
          </select>
        </label>
        <label>
          Filter
          <input type="search" value={filter} placeholder="student, state…" onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
        </label>
        <span class="buttons">
          <button type="button" disabled={!selected.size} onClick={() => batch("start")}>
            Start selected
          </button>
          <button type="button" disabled={!selected.size} onClick={() => batch("stop")}>
            Stop selected
          </button>
          <button type="button" disabled={!selected.size} onClick={() => batch("grade")}>
            Grade selected
          </button>
        </span>
      </div>
      <Banner error={actionError} />
      {note ? <p role="status" class="ok">{note}</p> : null}
      <table class="board">
        <thead>
          <tr>
            <th scope="col">
              <input
                type="checkbox"
                aria-label="Select all rows"
                checked={allSelected}
                onChange={() => setSelected(allSelected ? new Set() : new Set(rows.map((r) => r.a.id)))}
              />
            </th>
            {header("student", "Student")}
            {header("exercise", "Exercise")}
            {header("state", "Lab")}
            {header("attempts", "Attempts")}
            {header("score", "Last score")}
            {header("updated", "Updated")}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.a.id} data-student={r.student}>
              <td>
                <input
                  type="checkbox"
                  aria-label={`Select ${r.student}`}
                  checked={selected.has(r.a.id)}
                  onChange={() => {
                    const next = new Set(selected);
                    next.has(r.a.id) ? next.delete(r.a.id) : next.add(r.a.id);
                    setSelected(next);
                  }}
                />
              </td>
              <td>
                <Link href={`/students/${r.a.student_id}`}>{r.student}</Link>
              </td>
              <td>
                <Link href={`/assignments/${r.a.id}`}>{r.exercise}</Link>
              </td>
              <td class="state">
                <StateBadge state={r.env?.observed_state ?? "absent"} />
              </td>
              <td class="attempts">{r.attempts}</td>
              <td class="score">{r.last ? (r.last.status === "done" ? score(r.last.score, r.last.max_score) : r.last.status) : "—"}</td>
              <td>{when(r.env?.updated_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
