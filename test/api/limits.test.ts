import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authSetup, type AuthSetup } from "../harness/auth.js";
import { clientsFor, codeOf } from "../harness/clients.js";
import { rest, startTestNode, type StoreKind, type TestNode } from "../harness/node.js";

const job = (name: string, extra: Record<string, unknown> = {}) => ({ name, schedule: "0 0 1 1 *", target: { url: "http://127.0.0.1:9/x" }, ...extra });

describe.each<StoreKind>(["sqlite", "mongo"])("deployment limits on %s", (kind) => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode(kind, { env: { MIN_SCHEDULE_INTERVAL: "1m", MAX_JOBS_PER_PROJECT: "2" } });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("MIN_SCHEDULE_INTERVAL refuses schedules firing more often, on create and on update, naming schedule", async () => {
    const refused = await rest(t.baseUrl, "POST", "/api/v1/cron/jobs", job("often", { schedule: "*/10 * * * * *", project_id: "interval" }));
    expect(refused).toMatchObject({ status: 400, body: { code: "invalid_argument", field: "schedule" } });
    expect(refused.body.message).toMatch(/minimum interval is 60s/);
    const c = clientsFor(t.baseUrl);
    const { job: created } = await c.cron.createJob({ job: { ...job("hourly"), schedule: "0 * * * *", projectId: "interval" } });
    expect(await codeOf(c.cron.updateJob({ job: { jobId: created!.jobId, schedule: "* * * * * *" }, updateMask: { paths: ["schedule"] } }))).toBe(
      Code.InvalidArgument,
    );
    expect(await codeOf(c.cron.pauseJob({ jobId: created!.jobId }))).toBe("ok");
  });

  it("MAX_JOBS_PER_PROJECT refuses one job too many with FailedPrecondition, per project, and makes room on delete", async () => {
    const c = clientsFor(t.baseUrl);
    const first = await rest(t.baseUrl, "POST", "/api/v1/cron/jobs", job("a", { project_id: "capped" }));
    await rest(t.baseUrl, "POST", "/api/v1/cron/jobs", job("b", { project_id: "capped" }));
    const third = await rest(t.baseUrl, "POST", "/api/v1/cron/jobs", job("c", { project_id: "capped" }));
    expect(third).toMatchObject({ status: 400, body: { code: "failed_precondition" } });
    expect(third.body.message).toMatch(/project capped already has 2 jobs.*MAX_JOBS_PER_PROJECT=2/);
    expect(await codeOf(c.cron.createJob({ job: { ...job("c"), projectId: "capped" } }))).toBe(Code.FailedPrecondition);
    expect(await codeOf(c.cron.createJob({ job: { ...job("elsewhere"), projectId: "other" } }))).toBe("ok");
    await rest(t.baseUrl, "DELETE", `/api/v1/cron/jobs/${first.body.job_id as string}`);
    expect(await codeOf(c.cron.createJob({ job: { ...job("c"), projectId: "capped" } }))).toBe("ok");
  });
});

describe("RATE_LIMIT_RPS", () => {
  let auth: AuthSetup;
  let t: TestNode;
  beforeAll(async () => {
    auth = await authSetup("api_key");
    // 0.2 per second: a spent bucket stays empty for the whole test, however slow the machine.
    t = await startTestNode("sqlite", { env: { ...auth.env, RATE_LIMIT_RPS: "0.2", RATE_LIMIT_BURST: "2" } });
  });
  afterAll(async () => {
    await t?.stop();
    auth?.dispose();
  });

  it("gives each identity its own bucket; beyond it, 429 with Retry-After on REST and ResourceExhausted on Connect", async () => {
    const reader = auth.users.reader.headers;
    const calls = [];
    for (let i = 0; i < 3; i++) calls.push(await rest(t.baseUrl, "GET", "/api/v1/cron/whoami", undefined, reader));
    expect(calls.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(calls[2]!.body).toMatchObject({ code: "resource_exhausted" });
    const res = await fetch(`${t.baseUrl}/api/v1/cron/whoami`, { headers: reader });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers.get("retry-after"))).toBeLessThanOrEqual(5);
    expect(await codeOf(clientsFor(t.baseUrl).cron.getWhoAmI({}, { headers: reader }))).toBe(Code.ResourceExhausted);
    // Another identity is not held back by the first one's calls.
    expect((await rest(t.baseUrl, "GET", "/api/v1/cron/whoami", undefined, auth.users.editor.headers)).status).toBe(200);
    // Without credentials the answer is 401, not 429: authentication comes before the bucket.
    expect((await rest(t.baseUrl, "GET", "/api/v1/cron/whoami")).status).toBe(401);
  });
});
