// Log in. The server tries its realms in order (teacher realms first), so one form serves them all.
import { useState } from "preact/hooks";
import { ApiError, Me, post } from "../api";
import { Banner } from "../ui";

export function Login({ onLogin }: { onLogin: (me: Me) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
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
            const r = await post<{ user: Me }>("/api/v1/auth/login", { username, password });
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
        <button type="submit" disabled={busy}>
          {busy ? "Logging in…" : "Log in"}
        </button>
      </form>
    </main>
  );
}
