// Teacher: the jobs (lab changes, grading) with live progress.
import { useEffect, useState } from "preact/hooks";
import { get, Job, JOB_STATES, Page, post } from "../api";
import { subscribe } from "../events";
import { Banner, Progress, StateBadge, when } from "../ui";

export function Jobs() {
  const [jobs, setJobs] = useState<Job[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [filter, setFilter] = useState("");
  const load = () =>
    get<Page<Job>>(`/api/v1/jobs?limit=200${filter ? "&state=" + filter : ""}`)
      .then((p) => setJobs(p.items))
      .catch(setError);
  useEffect(() => {
    load();
  }, [filter]);
  useEffect(
    () =>
      subscribe((e) => {
        if (e.type !== "job.state" && e.type !== "job.progress") return;
        setJobs((list) => {
          const i = list.findIndex((j) => j.id === e.data.id);
          if (i < 0) {
            if (e.type === "job.state") load();
            return list;
          }
          const j = { ...list[i] };
          if (e.data.state) j.state = e.data.state;
          j.progress = { done: e.data.done ?? j.progress.done, total: e.data.total ?? j.progress.total, message: e.data.message ?? j.progress.message };
          if (e.data.error) j.error = e.data.error;
          const out = list.slice();
          out[i] = j;
          return out;
        });
      }),
    [filter],
  );
  return (
    <section>
      <h1>Jobs</h1>
      <label>
        State
        <select value={filter} onChange={(e) => setFilter((e.target as HTMLSelectElement).value)}>
          <option value="">all</option>
          {JOB_STATES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <Banner error={error} />
      <table>
        <thead>
          <tr>
            <th scope="col">Kind</th>
            <th scope="col">State</th>
            <th scope="col">Progress</th>
            <th scope="col">Created</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((j) => (
            <tr key={j.id}>
              <td>
                {j.kind}
                <br />
                <code class="small">{j.id}</code>
              </td>
              <td>
                <StateBadge state={j.state} />
                {j.error ? <div class="error-text">{j.error}</div> : null}
              </td>
              <td>
                <Progress done={j.progress.done} total={j.progress.total} label={j.progress.message || "—"} />
              </td>
              <td>{when(j.created_at)}</td>
              <td>
                {j.state === "queued" || j.state === "running" ? (
                  <button type="button" onClick={() => post(`/api/v1/jobs/${j.id}/cancel`).then(load).catch(setError)}>
                    Cancel
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
