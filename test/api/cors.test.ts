import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CORS_ALLOWED_HEADERS, CORS_EXPOSED_HEADERS, decideCors } from "../../src/api/cors.js";
import { startTestNode, type StoreKind, type TestNode } from "../harness/node.js";

const ALLOWED = "https://ops.example.com";

describe("CORS decisions", () => {
  const cases: [string, string, string | undefined, string | undefined, string[], string][] = [
    ["a request without Origin", "POST", undefined, undefined, [ALLOWED], "none"],
    ["a preflight from an allowed origin", "OPTIONS", ALLOWED, "POST", [ALLOWED], "preflight 204"],
    ["a preflight from another origin", "OPTIONS", "https://evil.example", "POST", [ALLOWED], "preflight 403"],
    ["a preflight when no origin is configured", "OPTIONS", ALLOWED, "POST", [], "preflight 403"],
    ["a preflight with the wildcard", "OPTIONS", "https://any.example", "POST", ["*"], "preflight 204"],
    ["an OPTIONS that is not a preflight", "OPTIONS", ALLOWED, undefined, [ALLOWED], "actual"],
    ["an actual call from an allowed origin", "POST", ALLOWED, undefined, [ALLOWED], "actual"],
    ["an actual call from another origin", "POST", "https://evil.example", undefined, [ALLOWED], "none"],
  ];
  it.each(cases)("%s", (_name, method, origin, requestMethod, allowed, expected) => {
    const d = decideCors(method, origin, requestMethod, allowed);
    expect(d.kind === "preflight" ? `preflight ${d.status}` : d.kind).toBe(expected);
  });

  it("allows Connect's headers plus Authorization, and exposes the invalid field's header", () => {
    expect(CORS_ALLOWED_HEADERS).toEqual(
      expect.arrayContaining(["Content-Type", "Connect-Protocol-Version", "Connect-Timeout-Ms", "X-Grpc-Web", "Authorization"]),
    );
    expect(CORS_EXPOSED_HEADERS).toEqual(expect.arrayContaining(["Grpc-Status", "Grpc-Message", "cronmesh-field"]));
  });
});

describe.each<StoreKind>(["sqlite", "mongo"])("CORS on a node on %s", (kind) => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode(kind, { env: { CORS_ORIGINS: `${ALLOWED}, http://127.0.0.1:3000` } });
  });
  afterAll(async () => {
    await t?.stop();
  });
  const preflight = (origin: string, path: string) =>
    fetch(`${t.baseUrl}${path}`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type, connect-protocol-version" },
    });

  it("answers a preflight from an allowed origin with Connect's methods and headers", async () => {
    const res = await preflight(ALLOWED, "/cronmesh.v1.CronService/ListJobs");
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(res.headers.get("access-control-allow-methods")).toBe("POST, GET, PUT, PATCH, DELETE");
    expect(res.headers.get("access-control-allow-headers")!.toLowerCase().split(", ")).toEqual(
      expect.arrayContaining(["authorization", "content-type", "connect-protocol-version"]),
    );
    expect(Number(res.headers.get("access-control-max-age"))).toBeGreaterThan(0);
  });

  it("refuses a preflight from an origin not listed", async () => {
    const res = await preflight("https://evil.example", "/cronmesh.v1.CronService/ListJobs");
    expect(res.status).toBe(403);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("marks Connect and REST answers for an allowed origin, errors included, and exposes the field header", async () => {
    const connect = await fetch(`${t.baseUrl}/cronmesh.v1.CronService/PreviewSchedule`, {
      method: "POST",
      headers: { origin: ALLOWED, "content-type": "application/json" },
      body: JSON.stringify({ schedule: "nope" }),
    });
    expect(connect.status).toBe(400);
    expect(connect.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(connect.headers.get("access-control-expose-headers")).toContain("cronmesh-field");
    expect(connect.headers.get("cronmesh-field")).toBe("schedule");
    const restCall = await fetch(`${t.baseUrl}/api/v1/cron/jobs`, { headers: { origin: "http://127.0.0.1:3000" } });
    expect(restCall.status).toBe(200);
    expect(restCall.headers.get("access-control-allow-origin")).toBe("http://127.0.0.1:3000");
  });

  it("adds nothing for other origins or without an Origin", async () => {
    for (const headers of [{ origin: "https://evil.example" }, {}] as Record<string, string>[]) {
      const res = await fetch(`${t.baseUrl}/api/v1/cron/jobs`, { headers });
      expect(res.status).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
    }
  });
});
