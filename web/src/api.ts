// The API client: same-origin fetch with the HttpOnly session cookie, the CSRF header on writes (from the
// np_csrf cookie the login sets), problem+json errors turned into ApiError. A 401 sends the user to the
// login page, which brings them back here afterwards.

export interface FieldError {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    public status: number,
    public title: string,
    public detail: string,
    public fields: FieldError[] = [],
  ) {
    super(detail || title);
  }
  // The error of one field (`spec`, `username`...), if the API named it.
  field(name: string): string | undefined {
    return this.fields.find((f) => f.path === name || f.path.startsWith(name + "."))?.message;
  }
}

export interface Me {
  id: string;
  username: string;
  role: "teacher" | "student";
  realm: string;
  display_name: string;
}

export interface Page<T> {
  items: T[];
  next: string | null;
}

let onUnauthenticated: () => void = () => {};
export function setUnauthenticatedHandler(f: () => void) {
  onUnauthenticated = f;
}

function csrf(): string {
  const m = document.cookie.match(/(?:^|;\s*)np_csrf=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  // A file (Blob) goes as the raw body: the upload routes (a GNS3 project, an exercise's zip).
  const raw = body instanceof Blob;
  if (body !== undefined) headers["Content-Type"] = raw ? "application/zip" : "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = csrf();
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : raw ? (body as Blob) : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, "Network error", "the server cannot be reached");
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  if (!res.ok) {
    const err = toApiError(res.status, res.statusText, text);
    if (res.status === 401 && !path.endsWith("/auth/login")) onUnauthenticated();
    throw err;
  }
  return parseJson(text) as T;
}

function parseJson(text: string): any {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

// A refused request as an ApiError: the problem+json document's title, detail and field errors (`errors`:
// [{path, message}]); a body that is not one gives the status text and the start of the body.
export function toApiError(status: number, statusText: string, text: string): ApiError {
  const data = parseJson(text);
  const fields = Array.isArray(data?.errors)
    ? data.errors.filter((f: any) => f && typeof f.path === "string").map((f: any) => ({ path: f.path, message: String(f.message ?? "") }))
    : [];
  return new ApiError(
    status,
    typeof data?.title === "string" ? data.title : statusText,
    typeof data?.detail === "string" ? data.detail : data ? "" : text.slice(0, 200),
    fields,
  );
}

export const get = <T>(path: string) => api<T>("GET", path);
// A route without body fields refuses any body: POST without one unless given.
export const post = <T>(path: string, body?: unknown) => api<T>("POST", path, body);

// Every item of a paginated list (the API caps a page at 500).
export async function all<T>(path: string): Promise<T[]> {
  const out: T[] = [];
  let after = "";
  for (let i = 0; i < 50; i++) {
    const sep = path.includes("?") ? "&" : "?";
    const page = await get<Page<T>>(`${path}${sep}limit=500${after ? "&after=" + encodeURIComponent(after) : ""}`);
    out.push(...page.items);
    if (!page.next) break;
    after = page.next;
  }
  return out;
}

// --- The names of states and roles: the one list on the web side, the same as the server's
// (src/store/states.hpp; the CTest test web_state_names compares them). Compare with these types' values:
// TypeScript rejects a name that is not one of them. ---
export const OBSERVED_STATES = ["absent", "creating", "stopped", "running", "degraded", "deleting", "error", "unavailable"] as const;
export type ObservedState = (typeof OBSERVED_STATES)[number];
export const DESIRED_STATES = ["absent", "stopped", "running"] as const;
export type DesiredState = (typeof DESIRED_STATES)[number];
export const JOB_STATES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
export type JobState = (typeof JOB_STATES)[number];
// A job in one of these states is over.
export const FINAL_JOB_STATES: readonly JobState[] = ["succeeded", "failed", "cancelled"];
export const EVALUATION_STATUSES = ["queued", "running", "done", "error"] as const;
export type EvaluationStatus = (typeof EVALUATION_STATUSES)[number];
export const ROLES = ["teacher", "student"] as const;
export type Role = (typeof ROLES)[number];
export const VERSION_STATES = ["draft", "published"] as const;
export type VersionState = (typeof VERSION_STATES)[number];

// --- The objects of the API (what the pages use of them) ---
export interface Environment {
  id: string;
  assignment_id: string;
  student_id: string;
  provider: string;
  desired_state: DesiredState;
  observed_state: ObservedState;
  addresses: { devices?: { node: string; kind?: string; platform?: string }[] } | null;
  last_error: string;
  updated_at: string | null;
}
export interface Assignment {
  id: string;
  exercise_id: string;
  exercise_version_id: string;
  student_id: string;
  deadline: string | null;
  max_attempts: number;
  cooldown_seconds: number;
  score_policy: string;
  created_at: string | null;
  environment?: Environment | null;
}
export interface CheckResult {
  id: string;
  title?: string;
  status: string;
  points?: number;
  max_points?: number;
  feedback?: string;
  hidden?: boolean;
  evidence?: string;
}
export interface Evaluation {
  id: string;
  assignment_id: string;
  student_id: string;
  attempt: number;
  status: EvaluationStatus;
  score: number;
  max_score: number;
  results: CheckResult[];
  error: string;
  job_id: string;
  created_at: string | null;
  finished_at: string | null;
}
export interface Job {
  id: string;
  kind: string;
  state: JobState;
  progress: { done: number; total: number; message: string };
  owner_id: string;
  subject: { type: string; id: string };
  error: string;
  created_at: string | null;
  finished_at: string | null;
}
export interface Exercise {
  id: string;
  slug: string;
  title: string;
  latest_version: number;
  published_version: number;
  created_at: string | null;
}
export interface Version {
  id: string;
  version: number;
  state: VersionState;
  spec?: string;
  topology?: string;
  instructions?: string;
  gns3_project?: string;
}
// A file stored with an exercise version (its uploaded GNS3 project).
export interface StoredFile {
  name: string;
  media_type: string;
  sha256: string;
  size: number;
}
// What POST /api/v1/exercises/import answers.
export interface Imported extends Exercise {
  created: boolean;
  version: Version;
}
export interface User {
  id: string;
  username: string;
  role: Role;
  realm: string;
  display_name: string;
  disabled: boolean;
}
export interface LintError {
  path: string;
  message: string;
  line: number | null;
}
export interface Realm {
  name: string;
  kind: string;
  label: string;
}
export interface Course {
  id: string;
  slug: string;
  title: string;
  groups: string[];
  members: number;
  created_at: string | null;
}
export interface Member extends User {
  group: string;
  email: string;
}
export interface CheckStats {
  id: string;
  title: string;
  hidden: boolean;
  passed: number;
  failed: number;
  pass_rate: number;
}
export interface GradeCell {
  assignment_id: string;
  graded: boolean;
  score: number | null;
  max_score: number;
  late: boolean;
  attempts_used: number;
}
export interface Gradebook {
  course_id: string;
  slug: string;
  columns: { exercise_id: string; slug: string; title: string; max_score: number; checks: CheckStats[] }[];
  rows: { student_id: string; username: string; display_name: string; group: string; cells: (GradeCell | null)[] }[];
}
export interface AuditEntry {
  id: number;
  at: string | null;
  actor_id: string;
  actor: string;
  action: string;
  object_type: string;
  object_id: string;
  outcome: string;
  detail: unknown;
}
