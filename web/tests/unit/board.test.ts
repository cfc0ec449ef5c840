// The class board's reducer: events applied to its maps, rows filtered and sorted.
import { describe, expect, it } from "vitest";
import type { Assignment, DesiredState, Environment, Evaluation, EvaluationStatus, Exercise, User } from "../../src/api";
import { applyBoardEvent, boardData, boardRows } from "../../src/board_model";

const user = (id: string, username: string): User => ({ id, username, role: "student", realm: "local", display_name: "", disabled: false });
const assignment = (id: string, student: string, exercise = "ex1"): Assignment => ({
  id, exercise_id: exercise, exercise_version_id: "v1", student_id: student, deadline: null, max_attempts: 0, cooldown_seconds: 0, score_policy: "best", created_at: null,
});
const env = (id: string, aid: string, state: DesiredState): Environment => ({
  id, assignment_id: aid, student_id: "", provider: "local", desired_state: state, observed_state: state, addresses: null, last_error: "", updated_at: null,
});
const evaluation = (id: string, aid: string, attempt: number, status: EvaluationStatus, score: number): Evaluation => ({
  id, assignment_id: aid, student_id: "", attempt, status, score, max_score: 2, results: [], error: "", job_id: "", created_at: null, finished_at: null,
});
const exercise: Exercise = { id: "ex1", slug: "ex1", title: "Address PC1", latest_version: 1, published_version: 1, created_at: null };

function sample() {
  return boardData(
    [assignment("a1", "u1"), assignment("a2", "u2"), assignment("a3", "u3", "ex2")],
    [env("e1", "a1", "stopped"), env("e2", "a2", "running")],
    [evaluation("v1", "a1", 1, "done", 1)],
    [user("u1", "alice"), user("u2", "bob"), user("u3", "carol")],
    [exercise],
  );
}

describe("applyBoardEvent", () => {
  it("moves a lab's state by its environment id", () => {
    const d = sample();
    expect(applyBoardEvent(d, "environment.state", { id: "e1", observed: "running", desired: "running" })).toBe("changed");
    expect(d.envs.get("a1")!.observed_state).toBe("running");
    expect(d.envs.get("a1")!.last_error).toBe("");
  });
  it("ignores another class's lab and unknown event types", () => {
    const d = sample();
    expect(applyBoardEvent(d, "environment.state", { id: "elsewhere", observed: "running" })).toBe("ignored");
    expect(applyBoardEvent(d, "job.progress", { id: "j" })).toBe("ignored");
  });
  it("updates a known evaluation's status and score, and asks to fetch an unknown one", () => {
    const d = sample();
    expect(applyBoardEvent(d, "evaluation.state", { id: "v1", status: "done", score: 2 })).toBe("changed");
    expect(d.evals.get("a1")!.get("v1")!.score).toBe(2);
    expect(d.evals.get("a1")!.get("v1")!.max_score).toBe(2);
    expect(applyBoardEvent(d, "evaluation.state", { id: "v9", status: "queued" })).toBe("fetch");
  });
});

describe("boardRows", () => {
  it("builds one row per assignment with attempts and last score", () => {
    const rows = boardRows(sample(), "", "", { key: "student", dir: 1 });
    expect(rows.map((r) => r.student)).toEqual(["alice", "bob", "carol"]);
    expect(rows[0].attempts).toBe(1);
    expect(rows[0].last?.score).toBe(1);
    expect(rows[2].exercise).toBe("ex2"); // an exercise the board does not know: its id
  });
  it("filters by exercise and by text over student, exercise and state", () => {
    expect(boardRows(sample(), "ex2", "", { key: "student", dir: 1 }).map((r) => r.student)).toEqual(["carol"]);
    expect(boardRows(sample(), "", " RUNNING ", { key: "student", dir: 1 }).map((r) => r.student)).toEqual(["bob"]);
  });
  it("sorts by score descending with ungraded rows last", () => {
    const d = sample();
    applyBoardEvent(d, "evaluation.state", { id: "v1", status: "done", score: 2 });
    const rows = boardRows(d, "", "", { key: "score", dir: -1 });
    expect(rows[0].student).toBe("alice");
  });
  it("leaves a teacher's trial assignment out", () => {
    const d = sample();
    d.assignments.push(assignment("a9", "t1"));
    d.users.set("t1", { ...user("t1", "teach"), role: "teacher" });
    expect(boardRows(d, "", "", { key: "student", dir: 1 }).map((r) => r.student)).toEqual(["alice", "bob", "carol"]);
  });
});
