// Live updates: one EventSource on /api/v1/events (same origin, the session cookie), shared by the pages.
// The browser reconnects by itself and resumes with Last-Event-ID.

export interface ServerEvent {
  type: string;
  data: any;
}
type Listener = (e: ServerEvent) => void;

const listeners = new Set<Listener>();
let source: EventSource | null = null;
const TYPES = ["job.state", "job.progress", "environment.state", "evaluation.state"];

export function subscribe(f: Listener): () => void {
  listeners.add(f);
  if (!source) {
    source = new EventSource("/api/v1/events");
    for (const type of TYPES)
      source.addEventListener(type, (m) => {
        let data: any = null;
        try {
          data = JSON.parse((m as MessageEvent).data);
        } catch {
          return;
        }
        for (const l of listeners) l({ type, data });
      });
  }
  // The stream stays open when the last page unsubscribes: the next page subscribes at once, and a
  // reconnection in between would miss what happened meanwhile. It ends at logout (closeEvents).
  return () => {
    listeners.delete(f);
  };
}

// Ends the stream (logout).
export function closeEvents() {
  source?.close();
  source = null;
}
