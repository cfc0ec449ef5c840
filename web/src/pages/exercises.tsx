// Teacher: the exercises, and the editor of one (spec, topology and instructions as text; the spec is
// linted as it is typed and each error is shown at its line); save a draft, publish it.
import { useEffect, useRef, useState } from "preact/hooks";
import { all, api, ApiError, Assignment, Exercise, get, Imported, LintError, post, StoredFile, Version } from "../api";
import { Link, navigate } from "../router";
import { Banner, StateBadge, when } from "../ui";
import { exercisePart, maxExerciseFile } from "../format";

export function ExerciseList() {
  const [list, setList] = useState<Exercise[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    all<Exercise>("/api/v1/exercises").then(setList).catch(setError);
  }, []);
  return (
    <section>
      <h1>Exercises</h1>
      <p>
        <Link href="/exercises/new" class="button">
          New exercise
        </Link>
      </p>
      <Banner error={error} />
      {list ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Title</th>
              <th scope="col">Slug</th>
              <th scope="col">Latest version</th>
              <th scope="col">Published</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {list.map((e) => (
              <tr key={e.id}>
                <td>
                  <Link href={`/exercises/${e.id}`}>{e.title}</Link>
                </td>
                <td>
                  <code>{e.slug}</code>
                </td>
                <td>{e.latest_version}</td>
                <td>{e.published_version ? `v${e.published_version}` : "—"}</td>
                <td>{when(e.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

// A text area with line numbers; lines with an error are marked in the gutter and listed below it.
function CodeArea(props: {
  id: string;
  label: string;
  value: string;
  onInput: (v: string) => void;
  errors?: LintError[];
  fieldError?: string;
}) {
  const area = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const lines = Math.max(props.value.split("\n").length, 1);
  const bad = new Set((props.errors ?? []).map((e) => e.line).filter((l): l is number => !!l));
  const goto = (line: number) => {
    const ta = area.current;
    if (!ta) return;
    const starts = props.value.split("\n").slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    const end = starts + (props.value.split("\n")[line - 1]?.length ?? 0);
    ta.focus();
    ta.setSelectionRange(starts, end);
  };
  const errorId = `${props.id}-errors`;
  return (
    <div class="code-field">
      <label for={props.id}>{props.label}</label>
      <div class="code">
        <div class="gutter" ref={gutter} aria-hidden="true">
          {Array.from({ length: lines }, (_, i) => (
            <div key={i} class={bad.has(i + 1) ? "error" : undefined} data-line={i + 1}>
              {i + 1}
            </div>
          ))}
        </div>
        <textarea
          id={props.id}
          ref={area}
          spellcheck={false}
          rows={Math.min(Math.max(lines + 1, 8), 30)}
          value={props.value}
          aria-invalid={bad.size > 0 || !!props.fieldError}
          aria-describedby={props.errors?.length || props.fieldError ? errorId : undefined}
          onInput={(e) => props.onInput((e.target as HTMLTextAreaElement).value)}
          onScroll={(e) => {
            if (gutter.current) gutter.current.scrollTop = (e.target as HTMLTextAreaElement).scrollTop;
          }}
        />
      </div>
      {props.errors?.length || props.fieldError ? (
        <ul class="lint" id={errorId}>
          {props.fieldError ? <li class="field-error">{props.fieldError}</li> : null}
          {(props.errors ?? []).map((e, i) => (
            <li key={i} class="lint-error" data-line={e.line ?? ""}>
              {e.line ? (
                <button type="button" class="link" onClick={() => goto(e.line!)}>
                  line {e.line}
                </button>
              ) : (
                <code>{e.path}</code>
              )}
              : {e.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

interface Full extends Exercise {
  versions: Version[];
}

export function ExerciseEditor({ id }: { id: string | null }) {
  const [ex, setEx] = useState<Full | null>(null);
  const [version, setVersion] = useState<Version | null>(null);
  const [slug, setSlug] = useState("");
  const [title, setTitle] = useState("");
  const [spec, setSpec] = useState("");
  const [topology, setTopology] = useState("");
  const [instructions, setInstructions] = useState("");
  const [gns3Project, setGns3Project] = useState("");
  const [files, setFiles] = useState<StoredFile[]>([]);
  const [lint, setLint] = useState<LintError[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState("");
  const [busy, setBusy] = useState(false);

  const load = async (exId: string, which?: number) => {
    const full = await get<Full>(`/api/v1/exercises/${exId}`);
    setEx(full);
    setTitle(full.title);
    setSlug(full.slug);
    const v = await get<Version>(`/api/v1/exercises/${full.id}/versions/${which ?? full.latest_version}`);
    setVersion(v);
    setSpec(v.spec ?? "");
    setTopology(v.topology ?? "");
    setInstructions(v.instructions ?? "");
    setGns3Project(v.gns3_project ?? "");
    setFiles((await get<{ items: StoredFile[] }>(`/api/v1/exercises/${full.id}/versions/${v.version}/files`)).items);
  };
  useEffect(() => {
    if (id) load(id).catch(setError);
  }, [id]);
  // Lint as the teacher types (debounced): nothing is stored.
  useEffect(() => {
    if (!spec.trim()) {
      setLint([]);
      return;
    }
    const t = setTimeout(() => {
      post<{ errors: LintError[] }>("/api/v1/lint", { spec, instructions })
        .then((r) => setLint(r.errors))
        .catch(() => {});
    }, 300);
    return () => clearTimeout(t);
  }, [spec, instructions]);

  const fieldError = (name: string) => (error instanceof ApiError ? error.field(name) : undefined);
  const content = { spec, topology, instructions, gns3_project: gns3Project };
  const save = async () => {
    setBusy(true);
    setError(null);
    setSaved("");
    try {
      if (!ex) {
        const made = await post<Exercise>("/api/v1/exercises", { slug, title, ...content });
        navigate(`/exercises/${made.id}`, true);
        setSaved("Created version 1 (draft).");
        return;
      }
      if (title !== ex.title) await api("PATCH", `/api/v1/exercises/${ex.id}`, { title });
      if (version && version.state === "draft") {
        await api("PUT", `/api/v1/exercises/${ex.id}/versions/${version.version}`, content);
        setSaved(`Saved draft version ${version.version}.`);
      } else {
        const v = await post<Version>(`/api/v1/exercises/${ex.id}/versions`, content);
        setSaved(`Saved as new draft version ${v.version}.`);
      }
      await load(ex.id);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const publish = async () => {
    if (!ex || !version) return;
    setBusy(true);
    setError(null);
    try {
      await post(`/api/v1/exercises/${ex.id}/versions/${version.version}/publish`);
      setSaved(`Published version ${version.version}.`);
      await load(ex.id);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  // The teacher's own trial of this version: its assignment page (start the lab, configure, Grade now).
  const tryIt = async (exId: string, n: number) => {
    setError(null);
    try {
      const a = await post<Assignment>(`/api/v1/exercises/${exId}/trial`, { version: n });
      navigate(`/assignments/${a.id}`);
    } catch (err) {
      setError(err);
    }
  };

  // An exercise's folder (exercise.yaml, topology.yaml, instructions.md) loaded into the editor; nothing
  // is stored until Save.
  const loadFiles = async (files: FileList | null) => {
    setError(null);
    setSaved("");
    const picked = Array.from(files ?? []);
    const parts = picked.filter((f) => exercisePart(f.webkitRelativePath || f.name));
    const big = parts.find((f) => f.size > maxExerciseFile);
    if (!parts.length)
      return setError({ title: "No exercise file", detail: "choose exercise.yaml, topology.yaml and instructions.md (or their folder)" });
    if (big) return setError({ title: "File too large", detail: `${big.name} is over ${maxExerciseFile / 1024} KiB` });
    const loaded: string[] = [];
    for (const f of parts) {
      const text = await f.text();
      const part = exercisePart(f.webkitRelativePath || f.name);
      if (part === "spec") setSpec(text);
      else if (part === "topology") setTopology(text);
      else setInstructions(text);
      loaded.push(f.name);
    }
    setSaved(`Loaded ${loaded.join(", ")}: review, then Save.`);
  };

  // A whole exercise as one zip of its folder: a new exercise, or a new draft version of the one with the
  // same id (exercise.yaml's). The server checks every entry; its refusal is shown in the banner.
  const uploadZip = async (file: File | undefined) => {
    if (!file) return;
    setBusy(true);
    setError(null);
    setSaved("");
    try {
      const made = await post<Imported>("/api/v1/exercises/import", file);
      // The message comes once the new version is listed (after the reload), never before it.
      if (made.id !== ex?.id) navigate(`/exercises/${made.id}`, true);
      else await load(made.id);
      setSaved(`${made.created ? "Created" : "Added"} version ${made.version.version} of ${made.slug} from ${file.name}.`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  // The draft's GNS3 portable project (the proxmox provider builds the students' VMs from it).
  const uploadProject = async (file: File | undefined) => {
    if (!file || !ex || !version) return;
    setBusy(true);
    setError(null);
    setSaved("");
    try {
      const name = /\.gns3project$/i.test(file.name) ? file.name : "lab.gns3project";
      const path = `/api/v1/exercises/${ex.id}/versions/${version.version}/project?name=${encodeURIComponent(name)}`;
      const stored = await api<StoredFile>("PUT", path, file);
      setSaved(`Uploaded ${stored.name} (${Math.ceil(stored.size / 1024)} KiB) to draft version ${version.version}.`);
      await load(ex.id, version.version);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const project = files.find((f) => f.name === gns3Project);

  return (
    <section>
      <h1>{ex ? ex.title : "New exercise"}</h1>
      {version ? (
        <p class="meta">
          Version {version.version} <StateBadge state={version.state} />
          {version.state === "published" ? " — published versions are immutable: saving makes a new draft." : null}
        </p>
      ) : null}
      <Banner error={error} />
      {saved ? (
        <p class="ok" role="status">
          {saved}
        </p>
      ) : null}
      <form
        class="editor"
        onSubmit={(e) => {
          e.preventDefault();
          save();
        }}
      >
        <div class="row">
          <label>
            Slug
            <input value={slug} disabled={!!ex} required onInput={(e) => setSlug((e.target as HTMLInputElement).value)} aria-invalid={!!fieldError("slug")} />
            {fieldError("slug") ? <span class="field-error">{fieldError("slug")}</span> : null}
          </label>
          <label>
            Title
            <input value={title} required onInput={(e) => setTitle((e.target as HTMLInputElement).value)} aria-invalid={!!fieldError("title")} />
            {fieldError("title") ? <span class="field-error">{fieldError("title")}</span> : null}
          </label>
        </div>
        <label>
          Load from files (exercise.yaml, topology.yaml, instructions.md)
          <input type="file" multiple accept=".yaml,.yml,.md" onChange={(e) => loadFiles((e.target as HTMLInputElement).files)} />
        </label>
        <label>
          Upload zip (an exercise's folder: exercise.yaml, instructions, topology, .gns3project)
          <input type="file" accept=".zip,application/zip" disabled={busy} onChange={(e) => uploadZip((e.target as HTMLInputElement).files?.[0])} />
        </label>
        {ex && version ? (
          <div class="project" data-project={gns3Project}>
            <p>
              GNS3 project:{" "}
              {project ? (
                <>
                  <a href={`/api/v1/exercises/${ex.id}/versions/${version.version}/files/${encodeURIComponent(project.name)}`}>{project.name}</a> (
                  {Math.ceil(project.size / 1024)} KiB, stored with this version)
                </>
              ) : gns3Project ? (
                <code>{gns3Project}</code>
              ) : (
                "none"
              )}
            </p>
            {fieldError("gns3_project") ? <span class="field-error">{fieldError("gns3_project")}</span> : null}
            {version.state === "draft" ? (
              <label>
                Upload GNS3 project (.gns3project)
                <input type="file" accept=".gns3project,.zip" disabled={busy} onChange={(e) => uploadProject((e.target as HTMLInputElement).files?.[0])} />
              </label>
            ) : null}
          </div>
        ) : null}
        <CodeArea id="spec" label="Grading spec (exercise.yaml)" value={spec} onInput={setSpec} errors={lint} fieldError={fieldError("spec")} />
        <CodeArea id="topology" label="Topology (topology.yaml, local labs)" value={topology} onInput={setTopology} fieldError={fieldError("topology")} />
        <CodeArea id="instructions" label="Instructions (Markdown)" value={instructions} onInput={setInstructions} fieldError={fieldError("instructions")} />
        <div class="buttons">
          <button type="submit" disabled={busy}>
            Save
          </button>
          {ex && version ? (
            <button type="button" disabled={busy} onClick={() => tryIt(ex.id, version.version)}>
              Try version {version.version} on my own lab
            </button>
          ) : null}
          {version && version.state === "draft" ? (
            <button type="button" class="primary" disabled={busy || lint.length > 0} onClick={publish}>
              Publish version {version.version}
            </button>
          ) : null}
        </div>
      </form>
      {ex && ex.versions?.length ? (
        <>
          <h2>Versions</h2>
          <table class="versions">
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">State</th>
                <th scope="col">Open</th>
              </tr>
            </thead>
            <tbody>
              {ex.versions.map((v) => (
                <tr key={v.id} data-version={v.version} aria-current={version?.version === v.version ? "true" : undefined}>
                  <td>{v.version}</td>
                  <td>
                    <StateBadge state={v.state} />
                  </td>
                  <td>
                    <button type="button" disabled={version?.version === v.version} onClick={() => load(ex.id, v.version).catch(setError)}>
                      Open version {v.version}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}
