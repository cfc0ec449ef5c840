// A teacher's list page with its create form (users, courses): the list from a GET, a form whose fields
// post to the same path, each field's error beside it (aria-invalid) and any other problem in a banner.
import { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { all, ApiError, post } from "./api";
import { Banner } from "./ui";

export interface FormField {
  name: string; // the body field whose error is shown beside the input
  label: string;
  required?: boolean;
  password?: boolean; // an input of type password (a new one: autocomplete new-password)
  options?: string[]; // a select of these values (the first is the default)
}

interface Props<T> {
  title: string; // the page's heading
  path: string; // GET lists, POST creates
  noun: string; // "user": the form is "Create a user", its heading "New user"
  fields: FormField[];
  body: (values: Record<string, string>) => unknown; // the POST body from the form's values
  columns: string[];
  row: (item: T, reload: () => void, setError: (e: unknown) => void) => ComponentChildren;
}

const initial = (fields: FormField[]) => Object.fromEntries(fields.map((f) => [f.name, f.options?.[0] ?? ""]));

export function ListPage<T>({ title, path, noun, fields, body, columns, row }: Props<T>) {
  const [items, setItems] = useState<T[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [formError, setFormError] = useState<unknown>(null);
  const [values, setValues] = useState<Record<string, string>>(() => initial(fields));
  const load = () => {
    all<T>(path).then(setItems).catch(setError);
  };
  useEffect(load, [path]);
  const fe = (n: string) => (formError instanceof ApiError ? formError.field(n) : undefined);
  const set = (name: string) => (e: Event) => setValues((v) => ({ ...v, [name]: (e.target as HTMLInputElement).value }));
  const article = /^[aeiou]/i.test(noun) ? "an" : "a";
  return (
    <section>
      <h1>{title}</h1>
      <Banner error={error} />
      <form
        class="card"
        aria-label={`Create ${article} ${noun}`}
        onSubmit={async (e) => {
          e.preventDefault();
          setFormError(null);
          try {
            await post(path, body(values));
            setValues(initial(fields));
            load();
          } catch (err) {
            setFormError(err);
          }
        }}
      >
        <h2>New {noun}</h2>
        <Banner error={formError && !fields.some((f) => fe(f.name)) ? formError : null} />
        <div class="row">
          {fields.map((f) => (
            <label key={f.name}>
              {f.label}
              {f.options ? (
                <select value={values[f.name]} onChange={set(f.name)}>
                  {f.options.map((o) => (
                    <option key={o} value={o}>
                      {o}
                    </option>
                  ))}
                </select>
              ) : (
                <input
                  required={f.required}
                  type={f.password ? "password" : undefined}
                  autoComplete={f.password ? "new-password" : undefined}
                  value={values[f.name]}
                  onInput={set(f.name)}
                  aria-invalid={!!fe(f.name)}
                />
              )}
              {fe(f.name) ? <span class="field-error">{fe(f.name)}</span> : null}
            </label>
          ))}
        </div>
        <button type="submit" class="primary">
          Create
        </button>
      </form>
      <table>
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col" key={c}>
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{items.map((item) => row(item, load, setError))}</tbody>
      </table>
    </section>
  );
}
