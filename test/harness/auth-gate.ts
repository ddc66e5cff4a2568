import http from "node:http";
import type { AddressInfo } from "node:net";

/** A loopback reverse proxy that lets API calls through only with one Bearer token. */
export interface AuthGate {
  url: string;
  /** The Authorization header of every API call that reached the gate, in order ("" when absent). */
  calls: { path: string; authorization: string }[];
  close(): Promise<void>;
}

/**
 * Starts a gate in front of `target`: Connect calls (paths under `/cronmesh.v1.`) without
 * `Authorization: Bearer <token>` get the Connect protocol's Unauthenticated answer (HTTP 401 and
 * a JSON error); everything else, and authorised calls, are forwarded unchanged, streams included.
 * It stands in for server-side authentication where a test needs the browser's side of it.
 */
export async function startAuthGate(target: string, token: string): Promise<AuthGate> {
  const upstream = new URL(target);
  const calls: AuthGate["calls"] = [];
  const server = http.createServer((req, res) => {
    const path = req.url ?? "/";
    if (path.startsWith("/cronmesh.v1.")) {
      const authorization = req.headers.authorization ?? "";
      calls.push({ path, authorization });
      if (authorization !== `Bearer ${token}`) {
        req.resume();
        res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ code: "unauthenticated", message: "a valid token is required" }));
        return;
      }
    }
    const forward = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on("error", () => res.destroy());
    res.on("close", () => forward.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
