// The netpraxis web app: the shell (session, navigation) and the page for the current path.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, get, Me, setUnauthenticatedHandler } from "./api";
import { closeEvents } from "./events";
import { Link, match, navigate, usePath } from "./router";
import { Login } from "./pages/login";
import { MyAssignments, AssignmentPage } from "./pages/student";
import { ExerciseList, ExerciseEditor } from "./pages/exercises";
import { Assignments } from "./pages/assignments";
import { ClassBoard } from "./pages/board";
import { Jobs } from "./pages/jobs";
import { Users } from "./pages/users";
import { Courses, CoursePage, GradebookPage } from "./pages/courses";
import { StudentPage } from "./pages/drilldown";
import { Audit } from "./pages/audit";
import "./style.css";

function loginPath(): string {
  const here = location.pathname + location.search;
  return here.startsWith("/login") ? here : "/login?next=" + encodeURIComponent(here);
}

function App() {
  const path = usePath();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  useEffect(() => {
    setUnauthenticatedHandler(() => {
      setMe(null);
      closeEvents();
      navigate(loginPath(), true);
    });
    get<Me>("/api/v1/me")
      .then(setMe)
      .catch(() => setMe(null));
  }, []);
  useEffect(() => {
    if (me === null && !path.startsWith("/login")) navigate(loginPath(), true);
    if (me && path === "/") navigate(me.role === "teacher" ? "/board" : "/assignments", true);
  }, [me, path]);

  if (me === undefined) return <main class="page" aria-busy="true" />;
  if (path.startsWith("/login") || !me)
    return (
      <Login
        onLogin={(u) => {
          setMe(u);
          const next = new URLSearchParams(location.search).get("next");
          navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/", true);
        }}
      />
    );
  const teacher = me.role === "teacher";
  const nav = teacher
    ? [
        ["/board", "Class board"],
        ["/exercises", "Exercises"],
        ["/assignments", "Assignments"],
        ["/jobs", "Jobs"],
        ["/users", "Users"],
        ["/courses", "Courses"],
        ["/audit", "Audit log"],
      ]
    : [["/assignments", "My assignments"]];
  return (
    <>
      <header class="top">
        <span class="brand">netpraxis</span>
        <nav aria-label="Main">
          {nav.map(([href, label]) => (
            <Link key={href} href={href} aria-current={path.startsWith(href) ? "page" : undefined}>
              {label}
            </Link>
          ))}
        </nav>
        <span class="who">
          {me.display_name || me.username} ({me.role})
          <button
            type="button"
            class="link"
            onClick={async () => {
              await api("POST", "/api/v1/auth/logout").catch(() => {});
              closeEvents();
              setMe(null);
              navigate("/login", true);
            }}
          >
            Log out
          </button>
        </span>
      </header>
      <main class="page" id="main">
        <Route path={path} me={me} />
      </main>
    </>
  );
}

function Route({ path, me }: { path: string; me: Me }) {
  const teacher = me.role === "teacher";
  let m;
  if ((m = match("/assignments/:id", path))) return <AssignmentPage id={m.id} me={me} />;
  if (path === "/assignments") return teacher ? <Assignments /> : <MyAssignments />;
  if (teacher) {
    if (path === "/board") return <ClassBoard />;
    if (path === "/exercises") return <ExerciseList />;
    if (path === "/exercises/new") return <ExerciseEditor id={null} />;
    if ((m = match("/exercises/:id", path))) return <ExerciseEditor id={m.id} />;
    if (path === "/jobs") return <Jobs />;
    if (path === "/users") return <Users />;
    if (path === "/courses") return <Courses />;
    if ((m = match("/courses/:id/gradebook", path))) return <GradebookPage id={m.id} />;
    if ((m = match("/courses/:id", path))) return <CoursePage id={m.id} />;
    if ((m = match("/students/:id", path))) return <StudentPage id={m.id} />;
    if (path === "/audit") return <Audit />;
  }
  if (path === "/") return null;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        Nothing here. <Link href="/">Back to the start</Link>
      </p>
    </section>
  );
}

render(<App />, document.getElementById("app")!);
