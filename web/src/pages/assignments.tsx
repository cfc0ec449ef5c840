// Teacher: assign a published exercise to students (deadline, attempts, cooldown, score policy) and see
// the assignments.
import { useEffect, useState } from "preact/hooks";
import { all, Assignment, Exercise, post, User } from "../api";
import { Link } from "../router";
import { Banner, when } from "../ui";

export function Assignments() {
  const [list, setList] = useState<Assignment[]>([]);
  const [exercises, setExercises] = useState<Exercise[]>([]);
  const [students, setStudents] = useState<User[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [formError, setFormError] = useState<unknown>(null);
  const [exercise, setExercise] = useState("");
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [deadline, setDeadline] = useState("");
  const [attempts, setAttempts] = useState("0");
  const [cooldown, setCooldown] = useState("0");
  const [policy, setPolicy] = useState("best");
  const [done, setDone] = useState("");

  const load = async () => {
    const [a, e, u] = await Promise.all([
      all<Assignment>("/api/v1/assignments"),
      all<Exercise>("/api/v1/exercises"),
      all<User>("/api/v1/users?role=student"),
    ]);
    setList(a);
    setExercises(e.filter((x) => x.published_version));
    setStudents(u.filter((x) => x.role === "student"));
  };
  useEffect(() => {
    load().catch(setError);
  }, []);
  const title = (id: string) => exercises.find((e) => e.id === id)?.title ?? id;
  const name = (id: string) => students.find((s) => s.id === id)?.username ?? id;

  return (
    <section>
      <h1>Assignments</h1>
      <Banner error={error} />
      <form
        class="card"
        aria-label="Assign an exercise"
        onSubmit={async (e) => {
          e.preventDefault();
          setFormError(null);
          setDone("");
          try {
            const body: Record<string, unknown> = {
              exercise_id: exercise,
              student_ids: [...chosen],
              max_attempts: Number(attempts),
              cooldown_seconds: Number(cooldown),
              score_policy: policy,
            };
            if (deadline) body.deadline = new Date(deadline).toISOString().replace(/\.\d{3}Z$/, "Z");
            const r = await post<{ items: Assignment[] }>("/api/v1/assignments", body);
            setDone(`Assigned to ${r.items.length} student(s).`);
            setChosen(new Set());
            await load();
          } catch (err) {
            setFormError(err);
          }
        }}
      >
        <h2>Assign an exercise</h2>
        <Banner error={formError} />
        {done ? <p role="status" class="ok">{done}</p> : null}
        <label>
          Exercise (published)
          <select required value={exercise} onChange={(e) => setExercise((e.target as HTMLSelectElement).value)}>
            <option value="">Choose…</option>
            {exercises.map((x) => (
              <option key={x.id} value={x.id}>
                {x.title} (v{x.published_version})
              </option>
            ))}
          </select>
        </label>
        <fieldset>
          <legend>Students</legend>
          {students.map((s) => (
            <label key={s.id} class="check">
              <input
                type="checkbox"
                checked={chosen.has(s.id)}
                onChange={(e) => {
                  const next = new Set(chosen);
                  (e.target as HTMLInputElement).checked ? next.add(s.id) : next.delete(s.id);
                  setChosen(next);
                }}
              />
              {s.display_name || s.username}
            </label>
          ))}
        </fieldset>
        <div class="row">
          <label>
            Deadline
            <input type="datetime-local" value={deadline} onInput={(e) => setDeadline((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            Attempts (0: unlimited)
            <input type="number" min="0" value={attempts} onInput={(e) => setAttempts((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            Cooldown (s)
            <input type="number" min="0" value={cooldown} onInput={(e) => setCooldown((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            Score
            <select value={policy} onChange={(e) => setPolicy((e.target as HTMLSelectElement).value)}>
              <option value="best">best attempt</option>
              <option value="last">last attempt</option>
            </select>
          </label>
        </div>
        <button type="submit" class="primary">
          Assign
        </button>
      </form>
      <table>
        <thead>
          <tr>
            <th scope="col">Student</th>
            <th scope="col">Exercise</th>
            <th scope="col">Deadline</th>
            <th scope="col">Attempts</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {list.map((a) => (
            <tr key={a.id}>
              <td>
                <Link href={`/assignments/${a.id}`}>{name(a.student_id)}</Link>
              </td>
              <td>{title(a.exercise_id)}</td>
              <td>{when(a.deadline)}</td>
              <td>{a.max_attempts || "unlimited"}</td>
              <td>{when(a.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
