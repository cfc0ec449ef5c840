// Shared bits of the pages: the error banner, state badges, dates, a page's loading/error frame.
import { ApiError } from "./api";

export function Banner({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error as ApiError;
  return (
    <div class="banner" role="alert">
      <strong>{e.title ?? "Error"}</strong> {e.detail ?? String(error)}
      {e.fields?.length ? (
        <ul>
          {e.fields.map((f) => (
            <li key={f.path}>
              <code>{f.path}</code>: {f.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

export function StateBadge({ state }: { state: string }) {
  return <span class={"badge badge-" + state.replace(/[^a-z]/g, "")}>{state}</span>;
}

// One formatter for every date: Date.toLocaleString builds a new one on each call, which made a 200-row
// board cost a tenth of a second per render.
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "short" });
export function when(t: string | null | undefined): string {
  if (!t) return "—";
  const d = new Date(t);
  return isNaN(d.getTime()) ? t : dateFormat.format(d);
}

export function score(s: number, max: number): string {
  const f = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));
  return `${f(s)} / ${f(max)}`;
}

export function Progress({ done, total, label }: { done: number; total: number; label: string }) {
  return (
    <div class="progress">
      <progress max={Math.max(total, 1)} value={done} aria-label={label} />
      <span>{label}</span>
    </div>
  );
}
