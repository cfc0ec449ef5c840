// Teacher: the users; create one (local realm), disable or enable, change a role.
import { useEffect, useState } from "preact/hooks";
import { all, api, ApiError, post, User } from "../api";
import { Banner } from "../ui";

export function Users() {
  const [users, setUsers] = useState<User[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [formError, setFormError] = useState<unknown>(null);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState("student");
  const load = () => all<User>("/api/v1/users").then(setUsers).catch(setError);
  useEffect(() => {
    load();
  }, []);
  const fe = (n: string) => (formError instanceof ApiError ? formError.field(n) : undefined);
  return (
    <section>
      <h1>Users</h1>
      <Banner error={error} />
      <form
        class="card"
        aria-label="Create a user"
        onSubmit={async (e) => {
          e.preventDefault();
          setFormError(null);
          try {
            await post("/api/v1/users", { username, password, role });
            setUsername("");
            setPassword("");
            load();
          } catch (err) {
            setFormError(err);
          }
        }}
      >
        <h2>New user</h2>
        <Banner error={formError && !fe("username") && !fe("password") ? formError : null} />
        <div class="row">
          <label>
            Username
            <input required value={username} onInput={(e) => setUsername((e.target as HTMLInputElement).value)} aria-invalid={!!fe("username")} />
            {fe("username") ? <span class="field-error">{fe("username")}</span> : null}
          </label>
          <label>
            Password
            <input type="password" autoComplete="new-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} aria-invalid={!!fe("password")} />
            {fe("password") ? <span class="field-error">{fe("password")}</span> : null}
          </label>
          <label>
            Role
            <select value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value)}>
              <option value="student">student</option>
              <option value="teacher">teacher</option>
            </select>
          </label>
        </div>
        <button type="submit" class="primary">
          Create
        </button>
      </form>
      <table>
        <thead>
          <tr>
            <th scope="col">Username</th>
            <th scope="col">Name</th>
            <th scope="col">Realm</th>
            <th scope="col">Role</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id}>
              <td>{u.username}</td>
              <td>{u.display_name}</td>
              <td>{u.realm}</td>
              <td>{u.role}</td>
              <td>
                <button
                  type="button"
                  onClick={() => api("PATCH", `/api/v1/users/${u.id}`, { disabled: !u.disabled }).then(load).catch(setError)}
                >
                  {u.disabled ? "Enable" : "Disable"} {u.username}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
