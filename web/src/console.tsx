// A device console in the browser: xterm.js (loaded when the first console opens, so the first page stays
// small) over the console WebSocket. Keystrokes go as binary messages, the terminal size as a
// {"type":"resize"} text message; watch mode is read-only. Closing the tab or the panel never stops the
// device: only this connection ends.
import { useEffect, useRef, useState } from "preact/hooks";

export function Console({ env, node, watch }: { env: string; node: string; watch: boolean }) {
  const host = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState("connecting…");
  useEffect(() => {
    let disposed = false;
    let cleanup = () => {};
    (async () => {
      const [{ Terminal }, { FitAddon }] = await Promise.all([import("@xterm/xterm"), import("@xterm/addon-fit")]);
      await import("@xterm/xterm/css/xterm.css");
      if (disposed || !host.current) return;
      const term = new Terminal({
        convertEol: false,
        cursorBlink: !watch,
        disableStdin: watch,
        fontSize: 14,
        scrollback: 5000,
        screenReaderMode: false,
      });
      const fit = new FitAddon();
      term.loadAddon(fit);
      term.open(host.current);
      fit.fit();
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      const url = `${scheme}//${location.host}/api/v1/environments/${encodeURIComponent(env)}/nodes/${encodeURIComponent(
        node,
      )}/console${watch ? "?mode=watch" : ""}`;
      const ws = new WebSocket(url);
      ws.binaryType = "arraybuffer";
      const encoder = new TextEncoder();
      const sendSize = () => {
        if (ws.readyState === WebSocket.OPEN)
          ws.send(JSON.stringify({ type: "resize", cols: term.cols, rows: term.rows }));
      };
      ws.onopen = () => {
        setStatus(watch ? "watching (read-only)" : "connected");
        sendSize();
        if (!watch) term.focus();
      };
      ws.onmessage = (m) => {
        if (m.data instanceof ArrayBuffer) term.write(new Uint8Array(m.data));
      };
      ws.onclose = (e) => {
        if (!disposed) setStatus(e.code === 1000 || e.code === 4000 ? `closed: ${e.reason || "the console closed"}` : "refused or disconnected");
      };
      const input = term.onData((d) => {
        if (!watch && ws.readyState === WebSocket.OPEN) ws.send(encoder.encode(d));
      });
      const resized = term.onResize(sendSize);
      const observer = new ResizeObserver(() => fit.fit());
      observer.observe(host.current);
      cleanup = () => {
        observer.disconnect();
        input.dispose();
        resized.dispose();
        ws.close(1000);
        term.dispose();
      };
    })().catch((e) => setStatus("cannot open the console: " + e));
    return () => {
      disposed = true;
      cleanup();
    };
  }, [env, node, watch]);
  return (
    <div class="console">
      <div class="console-status" role="status" aria-live="polite">
        {node}: {status}
      </div>
      <div class="terminal" ref={host} data-node={node} aria-label={`Console of ${node}`} role="region" />
    </div>
  );
}
