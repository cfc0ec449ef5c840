// Teacher: the audit log (who did what to which object, when, with what outcome), newest first, filtered
// by actor, action (or its prefix), object and outcome, one page at a time.
import { useEffect, useState } from "preact/hooks";
import { AuditEntry, get, Page } from "../api";
import { Banner, when } from "../ui";
import { auditQuery, outcomeLabel } from "../format";

export function Audit() {
  const [actor, setActor] = useState("");
  const [action, setAction] = useState("");
  const [objectId, setObjectId] = useState("");
  const [outcome, setOutcome] = useState("");
  const [applied, setApplied] = useState({ actor: "", action: "", object_id: "", outcome: "" });
  const [cursors, setCursors] = useState<string[]>([""]); // the cursor of each page seen so far
  const [page, setPage] = useState<Page<AuditEntry> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const after = cursors[cursors.length - 1];
  useEffect(() => {
    setError(null);
    get<Page<AuditEntry>>("/api/v1/audit?" + auditQuery({ ...applied, after, limit: 50 }))
      .then(setPage)
      .catch(setError);
  }, [applied, after]);
  return (
    <section>
      <h1>Audit log</h1>
      <form
        class="toolbar"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          setCursors([""]);
          setApplied({ actor, action, object_id: objectId, outcome });
        }}
      >
        <label>
          Actor
          <input name="actor" value={actor} placeholder="username" onInput={(e) => setActor((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Action
          <input name="action" value={action} placeholder="exercise. or auth.login" onInput={(e) => setAction((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Object id
          <input name="object_id" value={objectId} onInput={(e) => setObjectId((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Outcome
          <select value={outcome} onChange={(e) => setOutcome((e.target as HTMLSelectElement).value)}>
            <option value="">any</option>
            <option value="ok">succeeded</option>
            <option value="denied">refused</option>
            <option value="failed">failed</option>
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      <Banner error={error} />
      <table class="audit">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Object</th>
            <th scope="col">Outcome</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          {(page?.items ?? []).map((a) => (
            <tr key={a.id} data-action={a.action}>
              <td>{when(a.at)}</td>
              <td>{a.actor || a.actor_id || "—"}</td>
              <td>
                <code>{a.action}</code>
              </td>
              <td>
                {a.object_type} <code class="small">{a.object_id}</code>
              </td>
              <td class={a.outcome === "ok" ? "ok" : "error-text"}>{outcomeLabel(a.outcome)}</td>
              <td>
                <code class="small">{a.detail && Object.keys(a.detail as object).length ? JSON.stringify(a.detail) : ""}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {page && page.items.length === 0 ? <p>No entry matches.</p> : null}
      <div class="buttons">
        <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <button type="button" disabled={!page?.next} onClick={() => page?.next && setCursors([...cursors, page.next])}>
          Older
        </button>
      </div>
    </section>
  );
}
