import http from "node:http";
import type { AddressInfo } from "node:net";
import type { LookupFunction } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NEVER_CANCELLED } from "../../src/domain/cancellation.js";
import { createOutboundPolicy, parseOutboundList } from "../../src/domain/outbound-policy.js";
import { createHttpClient, type HttpClient } from "../../src/executor/http-client.js";
import type { OutgoingRequest } from "../../src/executor/outgoing-request.js";
import { createSystemClock } from "../../src/runtime/system-clock.js";

interface Seen {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * A loopback server that records what it receives. `/to/<status>?l=<location>` answers that
 * status with that Location (and `&big=1`, a 1 MiB body); `/loop/<n>` redirects to `/loop/<n+1>`
 * for ever; anything else answers 200 with the path.
 */
async function startServer() {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({ method: req.method!, path: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() });
      const url = new URL(req.url!, "http://x");
      const to = /^\/to\/(\d+)$/.exec(url.pathname);
      const loop = /^\/loop\/(\d+)$/.exec(url.pathname);
      if (to) res.writeHead(Number(to[1]), { location: url.searchParams.get("l")! }).end(url.searchParams.has("big") ? "r".repeat(1 << 20) : "moved");
      else if (loop) res.writeHead(302, { location: `/loop/${Number(loop[1]) + 1}` }).end();
      else res.writeHead(200).end(`at ${url.pathname}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
type Server = Awaited<ReturnType<typeof startServer>>;

/** A resolver stub: names of the table resolve to its addresses, nothing else resolves. */
function stubLookup(table: Record<string, string[]>): LookupFunction {
  return (hostname, options, callback) => {
    const addresses = table[hostname];
    if (!addresses) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" }), "", 4);
    const all = addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
    if (options.all) return callback(null, all);
    callback(null, all[0]!.address, all[0]!.family);
  };
}

describe("HTTP client: redirects and the outbound policy", () => {
  let a: Server;
  let b: Server;
  let client: HttpClient;
  const req = (url: string, o: Partial<OutgoingRequest> = {}): OutgoingRequest => ({
    url,
    method: "POST",
    headers: { "content-type": "text/plain", authorization: "Bearer t0k", "x-token": "s3cret" },
    body: "payload",
    timeoutMs: 3000,
    followRedirects: true,
    credentialHeaders: ["authorization", "x-token"],
    ...o,
  });
  const redirect = (server: Server, status: number, location: string, extra = "") => `${server.url}/to/${status}?l=${encodeURIComponent(location)}${extra}`;

  beforeAll(async () => {
    [a, b] = await Promise.all([startServer(), startServer()]);
    client = createHttpClient({
      clock: createSystemClock(),
      connectionsPerOrigin: 2,
      outbound: createOutboundPolicy({ deny: parseOutboundList("127.0.0.2"), allow: [] }),
      lookup: stubLookup({
        "svc.test": ["127.0.0.1"],
        "rebind.test": ["169.254.169.254"],
        "both.test": ["169.254.169.254", "127.0.0.1"],
        "denied-loopback.test": ["127.0.0.2"],
      }),
    });
  });
  afterAll(async () => {
    await client.close();
    await Promise.all([a.close(), b.close()]);
  });
  const seenAt = (server: Server, path: string) => server.seen.filter((s) => s.path === path);

  it("does not follow a redirect unless asked: the 3xx is the answer", async () => {
    const res = await client.send(req(redirect(a, 302, "/plain-1"), { followRedirects: undefined }), NEVER_CANCELLED);
    expect(res).toMatchObject({ statusCode: 302, responseExcerpt: "moved", redirects: 0, refused: false });
    expect(seenAt(a, "/plain-1")).toEqual([]);
  });

  it("follows a 302 after a POST as a GET without a body, keeping credentials on the same origin", async () => {
    const res = await client.send(req(redirect(a, 302, "/same-1")), NEVER_CANCELLED);
    expect(res).toMatchObject({ statusCode: 200, responseExcerpt: "at /same-1", redirects: 1 });
    const [hop] = seenAt(a, "/same-1");
    expect(hop).toMatchObject({ method: "GET", body: "" });
    expect(hop!.headers).toMatchObject({ authorization: "Bearer t0k", "x-token": "s3cret" });
    expect(hop!.headers["content-type"]).toBeUndefined();
  });

  it("follows a 307 with the same method and body", async () => {
    const res = await client.send(req(redirect(a, 307, "/same-2")), NEVER_CANCELLED);
    expect(res).toMatchObject({ statusCode: 200, redirects: 1 });
    expect(seenAt(a, "/same-2")[0]).toMatchObject({ method: "POST", body: "payload" });
  });

  it("follows a 303 after a PUT as a GET", async () => {
    await client.send(req(redirect(a, 303, "/same-3"), { method: "PUT" }), NEVER_CANCELLED);
    expect(seenAt(a, "/same-3")[0]).toMatchObject({ method: "GET", body: "" });
  });

  it("does not send credentials to another origin", async () => {
    const res = await client.send(req(redirect(a, 308, `${b.url}/other-1`)), NEVER_CANCELLED);
    expect(res).toMatchObject({ statusCode: 200, responseExcerpt: "at /other-1", redirects: 1 });
    const [hop] = seenAt(b, "/other-1");
    expect(hop).toMatchObject({ method: "POST", body: "payload" });
    expect(hop!.headers.authorization).toBeUndefined();
    expect(hop!.headers["x-token"]).toBeUndefined();
    expect(hop!.headers.host).toBe(`127.0.0.1:${b.port}`);
  });

  it("stops after 5 redirects: the sixth 3xx is the answer", async () => {
    const res = await client.send(req(`${a.url}/loop/0`, { method: "GET", body: undefined }), NEVER_CANCELLED);
    expect(res).toMatchObject({ statusCode: 302, redirects: 5 });
    expect(a.seen.filter((s) => s.path.startsWith("/loop/")).map((s) => s.path)).toEqual([0, 1, 2, 3, 4, 5].map((n) => `/loop/${n}`));
  });

  it("follows a redirect whose body is too long to read, closing its connection", async () => {
    const res = await client.send(req(redirect(a, 302, "/after-big", "&big=1")), NEVER_CANCELLED);
    expect(res).toMatchObject({ statusCode: 200, responseExcerpt: "at /after-big", redirects: 1, error: "" });
  });

  it("refuses a redirect into a denied range before connecting, naming the address", async () => {
    const res = await client.send(req(redirect(a, 302, "http://169.254.169.254/latest/meta-data/")), NEVER_CANCELLED);
    expect(res).toMatchObject({ statusCode: 0, refused: true, redirects: 1, error: "outbound policy: 169.254.169.254 denied" });
  });

  it("refuses a redirect to a name that resolves into a denied range", async () => {
    const res = await client.send(req(redirect(a, 302, `http://rebind.test:${b.port}/x`)), NEVER_CANCELLED);
    expect(res).toMatchObject({ statusCode: 0, refused: true, redirects: 1, error: "outbound policy: 169.254.169.254 denied (resolved from rebind.test)" });
  });

  it("refuses a literal address denied by configuration without sending anything", async () => {
    const res = await client.send(req(`http://127.0.0.2:${a.port}/never`), NEVER_CANCELLED);
    expect(res).toMatchObject({ statusCode: 0, refused: true, redirects: 0, error: "outbound policy: 127.0.0.2 denied" });
    expect(seenAt(a, "/never")).toEqual([]);
  });

  it("refuses a name that resolves into a denied range, at connect time", async () => {
    const res = await client.send(req(`http://rebind.test:${a.port}/never`), NEVER_CANCELLED);
    expect(res).toMatchObject({ statusCode: 0, refused: true, error: "outbound policy: 169.254.169.254 denied (resolved from rebind.test)" });
    const loopback = await client.send(req(`http://denied-loopback.test:${a.port}/never`), NEVER_CANCELLED);
    expect(loopback).toMatchObject({ refused: true, error: "outbound policy: 127.0.0.2 denied (resolved from denied-loopback.test)" });
    expect(seenAt(a, "/never")).toEqual([]);
  });

  it("calls a name that resolves to an allowed address, and only the allowed one of several", async () => {
    expect(await client.send(req(`http://svc.test:${a.port}/named`), NEVER_CANCELLED)).toMatchObject({ statusCode: 200, refused: false });
    expect(await client.send(req(`http://both.test:${a.port}/named`), NEVER_CANCELLED)).toMatchObject({ statusCode: 200, refused: false });
    expect(seenAt(a, "/named").map((s) => s.headers.host)).toEqual([`svc.test:${a.port}`, `both.test:${a.port}`]);
  });

  it("refuses a denied name as written before resolving it", async () => {
    const res = await client.send(req(`http://metadata.google.internal:${a.port}/x`), NEVER_CANCELLED);
    expect(res).toMatchObject({ refused: true, error: "outbound policy: metadata.google.internal denied" });
  });

  it("reports a name that does not resolve as an ordinary failure, not a refusal", async () => {
    const res = await client.send(req(`http://missing.test:${a.port}/x`), NEVER_CANCELLED);
    expect(res).toMatchObject({ statusCode: 0, refused: false });
    expect(res.error).toMatch(/ENOTFOUND/);
  });
});
