// Pure formatting helpers of the pages (unit-tested in web/tests/unit).

// A fraction 0..1 as a whole percentage ("67 %"); "—" when there is nothing to rate.
export function percent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !isFinite(fraction)) return "—";
  return `${Math.round(fraction * 100)} %`;
}

// An audit entry's outcome in words.
export function outcomeLabel(outcome: string): string {
  return outcome === "ok" ? "succeeded" : outcome === "denied" ? "refused" : outcome === "failed" ? "failed" : outcome;
}

// The query string of GET /api/v1/audit: empty filters are left out, values are encoded.
export function auditQuery(f: Record<string, string | number | undefined>): string {
  return Object.entries(f)
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join("&");
}

// Which part of an exercise a file holds, by its name (the layout of examples/<exercise>/): the grading
// spec, the topology or the instructions; null for any other file.
export function exercisePart(name: string): "spec" | "topology" | "instructions" | null {
  const base = name.split("/").pop()!.toLowerCase();
  if (base === "exercise.yaml" || base === "exercise.yml" || base === "spec.yaml" || base === "spec.yml") return "spec";
  if (base === "topology.yaml" || base === "topology.yml") return "topology";
  if (base === "instructions.md" || base === "readme.md") return "instructions";
  return null;
}
// The largest file the editor loads (the API refuses bigger bodies anyway).
export const maxExerciseFile = 256 * 1024;
