// Log in. The server tries its realms in order (teacher realms first), so one form serves them all; when
// several realms are configured, a picker lets the user name theirs (GET /api/v1/auth/realms).
import { useEffect, useState } from "preact/hooks";
import { ApiError, get, Me, post, Realm } from "../api";
import { Banner } from "../ui";

export function Login({ onLogin }: { onLogin: (me: Me) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [realms, setRealms] = useState<Realm[]>([]);
  const [realm, setRealm] = useState("");
  useEffect(() => {
    get<{ items: Realm[] }>("/api/v1/auth/realms")
      .then((r) => setRealms(r.items))
      .catch(() => setRealms([]));
  }, []);
  const expired = new URLSearchParams(location.search).has("next");
  return (
    <main class="page login" id="main">
      <h1>netpraxis</h1>
      <form
        aria-label="Log in"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            const r = await post<{ user: Me }>("/api/v1/auth/login", realm ? { username, password, realm } : { username, password });
            onLogin(r.user);
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        {expired && !error ? <p class="note">Log in to continue.</p> : null}
        <Banner error={error} />
        <label>
          Username
          <input
            name="username"
            autoComplete="username"
            required
            value={username}
            onInput={(e) => setUsername((e.target as HTMLInputElement).value)}
            aria-invalid={!!(error as ApiError)?.field?.("username")}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          />
        </label>
        {realms.length > 1 ? (
          <label>
            Log in with
            <select name="realm" value={realm} onChange={(e) => setRealm((e.target as HTMLSelectElement).value)} aria-invalid={!!(error as ApiError)?.field?.("realm")}>
              <option value="">Any account (tried in order)</option>
              {realms.map((r) => (
                <option key={r.name} value={r.name}>
                  {r.label}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        <button type="submit" disabled={busy}>
          {busy ? "Logging in…" : "Log in"}
        </button>
      </form>
    </main>
  );
}
