// The class board's data and its pure operations (unit-tested in web/tests/unit): applying one event of the
// stream to the maps, and the rows for a filter and a sort order. No DOM, no network.
import type { Assignment, Environment, Evaluation, Exercise, User } from "./api";

export interface BoardData {
  assignments: Assignment[];
  envs: Map<string, Environment>; // by assignment id
  envById: Map<string, string>; // environment id -> assignment id
  evals: Map<string, Map<string, Evaluation>>; // assignment id -> evaluations by id
  users: Map<string, User>;
  exercises: Map<string, Exercise>;
}

export type SortKey = "student" | "exercise" | "state" | "attempts" | "score" | "updated";

export interface BoardRow {
  a: Assignment;
  student: string;
  exercise: string;
  env?: Environment;
  attempts: number;
  last?: Evaluation;
}

export function boardData(assignments: Assignment[], envs: Environment[], evals: Evaluation[], users: User[], exercises: Exercise[]): BoardData {
  const d: BoardData = {
    assignments,
    envs: new Map(envs.map((e) => [e.assignment_id, e])),
    envById: new Map(envs.map((e) => [e.id, e.assignment_id])),
    evals: new Map(),
    users: new Map(users.map((u) => [u.id, u])),
    exercises: new Map(exercises.map((x) => [x.id, x])),
  };
  for (const e of evals) addEvaluation(d, e);
  return d;
}

export function addEvaluation(d: BoardData, e: Evaluation) {
  if (!d.evals.has(e.assignment_id)) d.evals.set(e.assignment_id, new Map());
  d.evals.get(e.assignment_id)!.set(e.id, e);
}

// Applies one event (environment.state, evaluation.state) to `d` in place. "changed": redraw; "fetch": an
// evaluation the board does not know yet (the caller reads it and adds it); "ignored": nothing of ours.
export function applyBoardEvent(d: BoardData, type: string, ev: any): "changed" | "fetch" | "ignored" {
  if (type === "environment.state") {
    const aid = d.envById.get(ev.id);
    const env = aid ? d.envs.get(aid) : undefined;
    if (!env || !aid) return "ignored";
    d.envs.set(aid, { ...env, observed_state: ev.observed, desired_state: ev.desired, last_error: ev.error ?? "" });
    return "changed";
  }
  if (type === "evaluation.state") {
    let known: Evaluation | undefined;
    for (const m of d.evals.values()) if ((known = m.get(ev.id))) break;
    if (!known) return "fetch";
    d.evals.get(known.assignment_id)!.set(ev.id, { ...known, status: ev.status, score: ev.score ?? known.score, max_score: ev.max_score ?? known.max_score });
    return "changed";
  }
  return "ignored";
}

function lastOf(m?: Map<string, Evaluation>): Evaluation | undefined {
  let best: Evaluation | undefined;
  m?.forEach((e) => {
    if (!best || e.attempt > best.attempt) best = e;
  });
  return best;
}

// The rows for an exercise ("" all), a filter text (student, exercise or state) and a sort order; students
// only (a teacher's trial assignment is not a row).
export function boardRows(d: BoardData, exercise: string, filter: string, sort: { key: SortKey; dir: 1 | -1 }): BoardRow[] {
  const out: BoardRow[] = [];
  const f = filter.trim().toLowerCase();
  for (const a of d.assignments) {
    if (exercise && a.exercise_id !== exercise) continue;
    const u = d.users.get(a.student_id);
    if (u && u.role !== "student") continue; // a teacher's own trial lab
    const m = d.evals.get(a.id);
    const row: BoardRow = {
      a,
      student: u ? u.display_name || u.username : a.student_id,
      exercise: d.exercises.get(a.exercise_id)?.title ?? a.exercise_id,
      env: d.envs.get(a.id),
      attempts: m?.size ?? 0,
      last: lastOf(m),
    };
    if (f && !`${row.student} ${row.exercise} ${row.env?.observed_state ?? ""}`.toLowerCase().includes(f)) continue;
    out.push(row);
  }
  const k = sort.key;
  const val = (r: BoardRow): string | number =>
    k === "student" ? r.student : k === "exercise" ? r.exercise : k === "state" ? r.env?.observed_state ?? "" : k === "attempts" ? r.attempts : k === "score" ? (r.last?.status === "done" ? r.last.score : -1) : r.env?.updated_at ?? "";
  out.sort((x, y) => (val(x) < val(y) ? -sort.dir : val(x) > val(y) ? sort.dir : 0));
  return out;
}
