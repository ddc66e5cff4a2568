import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { Cancellation, NEVER_CANCELLED, type CancelSignal } from "../../src/domain/cancellation.js";
import { createSystemClock } from "../../src/runtime/system-clock.js";
import { createHttpClient, EXCERPT_BYTES, MAX_EXCERPT_BYTES, SEND_STALL_MS, type HttpClient } from "../../src/executor/http-client.js";
import { createFakeClock, type FakeClock } from "../support/fake-clock.js";
import type { OutgoingRequest } from "../../src/executor/outgoing-request.js";

/** A loopback server whose answer depends on the path. */
function startServer(): Promise<{ url: string; connections(): number; received(): number; close(): Promise<void> }> {
  let opened = 0;
  let received = 0;
  const server = http.createServer((req, res) => {
    received++;
    req.resume();
    if (req.url === "/big") {
      // 1 MiB of "é" (two bytes each): the excerpt must cut on a character boundary.
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
      res.end("é".repeat(512 * 1024));
    } else if (req.url === "/medium") {
      res.writeHead(200).end("x".repeat(64 * 1024));
    } else if (req.url === "/slow") {
      setTimeout(() => res.writeHead(200).end("late"), 1000);
    } else if (req.url === "/echo") {
      req.on("end", () => res.writeHead(201).end(String(req.headers["x-test"] ?? "")));
    } else {
      res.writeHead(404).end("no such path");
    }
  });
  server.on("connection", () => opened++);
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        connections: () => opened,
        received: () => received,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    }),
  );
}

describe("HTTP client", () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let client: HttpClient;
  const req = (path: string, overrides: Partial<OutgoingRequest> = {}): OutgoingRequest => ({
    url: `${server.url}${path}`,
    method: "POST",
    headers: {},
    body: "x",
    timeoutMs: 5000,
    ...overrides,
  });

  beforeAll(async () => {
    server = await startServer();
    client = createHttpClient({ clock: createSystemClock(), connectionsPerOrigin: 2 });
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });

  it("sends method, headers and body, and reports the status and the body", async () => {
    const res = await client.send(req("/echo", { headers: { "x-test": "hello" } }), NEVER_CANCELLED);
    expect(res).toMatchObject({ statusCode: 201, responseExcerpt: "hello", error: "", timedOut: false, cancelled: false });
    expect(res.finishedAt).toBeGreaterThanOrEqual(res.startedAt);
  });

  it("keeps the first 1 KiB of a long body, cut on a character boundary, without reading the rest", async () => {
    const res = await client.send(req("/big"), NEVER_CANCELLED);
    expect(res.statusCode).toBe(200);
    expect(Buffer.byteLength(res.responseExcerpt)).toBe(EXCERPT_BYTES);
    expect(res.responseExcerpt).toBe("é".repeat(EXCERPT_BYTES / 2));
    // The pool is still usable afterwards.
    expect((await client.send(req("/missing"), NEVER_CANCELLED)).statusCode).toBe(404);
  });

  it("keeps as much of a body as the request asks, up to 64 KiB, and as the client's default says otherwise", async () => {
    const asked = await client.send(req("/big", { excerptBytes: 10_000 }), NEVER_CANCELLED);
    expect(asked.responseExcerpt).toBe("é".repeat(5000));
    const capped = await client.send(req("/big", { excerptBytes: 1_000_000 }), NEVER_CANCELLED);
    expect(Buffer.byteLength(capped.responseExcerpt)).toBe(MAX_EXCERPT_BYTES);
    const other = createHttpClient({ clock: createSystemClock(), connectionsPerOrigin: 1, excerptBytes: 7 });
    try {
      expect((await other.send(req("/medium"), NEVER_CANCELLED)).responseExcerpt).toBe("x".repeat(7));
      expect((await other.send(req("/medium", { excerptBytes: 9 }), NEVER_CANCELLED)).responseExcerpt).toBe("x".repeat(9));
    } finally {
      await other.close();
    }
  });

  it("reads a body of moderate size to its end, keeping its connection for the next request", async () => {
    const before = server.connections();
    for (let i = 0; i < 4; i++) {
      const medium = await client.send(req("/medium"), NEVER_CANCELLED);
      expect(medium.responseExcerpt).toBe("x".repeat(EXCERPT_BYTES));
      expect((await client.send(req("/echo", { headers: { "x-test": String(i) } }), NEVER_CANCELLED)).responseExcerpt).toBe(String(i));
    }
    // A connection closed after every 64 KiB body would need at least three new ones here.
    expect(server.connections() - before).toBeLessThanOrEqual(1);
  });

  it("gives up at the timeout and says so", async () => {
    const res = await client.send(req("/slow", { timeoutMs: 100 }), NEVER_CANCELLED);
    expect(res).toMatchObject({ statusCode: 0, error: "timed out", timedOut: true, cancelled: false });
    expect(res.finishedAt - res.startedAt).toBeLessThan(900);
  });

  it("aborts when the run is cancelled, even before the request started", async () => {
    const running = new Cancellation();
    const pending = client.send(req("/slow"), running);
    setTimeout(() => running.cancel(), 50);
    expect(await pending).toMatchObject({ statusCode: 0, error: "cancelled", cancelled: true, timedOut: false });
    const already = new Cancellation();
    already.cancel();
    expect(await client.send(req("/echo"), already)).toMatchObject({ error: "cancelled", cancelled: true });
  });

  it("reports a refused connection with its code", async () => {
    const closed = await startServer();
    await closed.close();
    const res = await client.send({ ...req(""), url: `${closed.url}/x` }, NEVER_CANCELLED);
    expect(res.statusCode).toBe(0);
    expect(res.error).toMatch(/^ECONNREFUSED/);
  });
});

describe("HTTP client: requests leaving (fake clock)", () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let clock: FakeClock;
  let client: HttpClient;
  const slow = (cancel: CancelSignal = NEVER_CANCELLED) =>
    client.send({ url: `${server.url}/slow`, method: "POST", headers: {}, body: "x", timeoutMs: 5000 }, cancel);
  /** Waits until the server has received `n` requests in all. */
  const receivedAll = (n: number) => vi.waitFor(() => expect(server.received()).toBeGreaterThanOrEqual(n), { timeout: 3000, interval: 5 });

  beforeAll(async () => {
    server = await startServer();
  });
  beforeEach(() => {
    clock = createFakeClock(0);
    client = createHttpClient({ clock, connectionsPerOrigin: 2 });
  });
  afterEach(() => client.close());
  afterAll(() => server.close());

  it("says requests are leaving until each one handed over is written, or until none left for a while", async () => {
    const base = server.received();
    expect(client.sending()).toBe(false);
    const sends = Array.from({ length: 4 }, () => slow());
    expect(client.sending()).toBe(true);
    // Two written on the two connections; the other two wait for one (the clock stands still).
    await receivedAll(base + 2);
    expect(client.sending()).toBe(true);
    clock.advance(SEND_STALL_MS);
    expect(client.sending()).toBe(false);
    await Promise.all(sends);
    expect(server.received()).toBe(base + 4);
    expect(client.sending()).toBe(false);
  });

  it("stops counting a request that ended before it was written: cancelled in the queue, refused by the policy, its connection refused", async () => {
    const base = server.received();
    const busy = [slow(), slow()];
    await receivedAll(base + 2);
    const cancel = new Cancellation();
    const queued = [slow(cancel), slow(cancel)];
    expect(client.sending()).toBe(true);
    cancel.cancel();
    expect(await Promise.all(queued)).toMatchObject([{ cancelled: true }, { cancelled: true }]);
    // Still waiting for a connection when cancelled: no longer leaving, though undici still holds them.
    expect(client.sending()).toBe(false);
    const refused = await client.send({ url: "http://169.254.169.254/x", method: "GET", headers: {}, timeoutMs: 1000 }, NEVER_CANCELLED);
    expect(refused.refused).toBe(true);
    const closed = await startServer();
    await closed.close();
    const unreachable = await client.send({ url: `${closed.url}/x`, method: "GET", headers: {}, timeoutMs: 1000 }, NEVER_CANCELLED);
    expect(unreachable.error).toMatch(/^ECONNREFUSED/);
    expect(client.sending()).toBe(false);
    await Promise.all(busy);
    // One more, written at once on a free connection: nothing is left unwritten, whatever the clock says.
    const last = slow();
    await receivedAll(base + 3);
    expect(client.sending()).toBe(false);
    await last;
  });
});
