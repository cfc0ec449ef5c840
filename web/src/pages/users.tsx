// Teacher: the users; create one (local realm), disable or enable, change a role.
import { api, User } from "../api";
import { ListPage } from "../list_page";

export function Users() {
  return (
    <ListPage<User>
      title="Users"
      path="/api/v1/users"
      noun="user"
      fields={[
        { name: "username", label: "Username", required: true },
        { name: "password", label: "Password", password: true },
        { name: "role", label: "Role", options: ["student", "teacher"] },
      ]}
      body={(v) => v}
      columns={["Username", "Name", "Realm", "Role", "Status"]}
      row={(u, reload, setError) => (
        <tr key={u.id}>
          <td>{u.username}</td>
          <td>{u.display_name}</td>
          <td>{u.realm}</td>
          <td>{u.role}</td>
          <td>
            <button type="button" onClick={() => api("PATCH", `/api/v1/users/${u.id}`, { disabled: !u.disabled }).then(reload).catch(setError)}>
              {u.disabled ? "Enable" : "Disable"} {u.username}
            </button>
          </td>
        </tr>
      )}
    />
  );
}
