// A small client-side router: the path is the state; links push history entries. The server answers every
// client-side path with index.html (http::StaticFiles' SPA fallback).
import { useEffect, useState } from "preact/hooks";

const subscribers = new Set<() => void>();
window.addEventListener("popstate", () => subscribers.forEach((f) => f()));

export function navigate(to: string, replace = false) {
  if (to === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  subscribers.forEach((f) => f());
  window.scrollTo(0, 0);
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const f = () => setPath(location.pathname);
    subscribers.add(f);
    return () => subscribers.delete(f);
  }, []);
  return path;
}

// `pattern` like "/assignments/:id"; the parameters when `path` matches.
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split("/");
  const s = path.replace(/\/+$/, "").split("/");
  if (p.length !== s.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(":")) out[p[i].slice(1)] = decodeURIComponent(s[i]);
    else if (p[i] !== s[i]) return null;
  }
  return out;
}

export function Link(props: { href: string; class?: string; children: any; "aria-current"?: "page" }) {
  return (
    <a
      href={props.href}
      class={props.class}
      aria-current={props["aria-current"]}
      onClick={(e: MouseEvent) => {
        if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}
