import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rest, startTestNode, type StoreKind, type TestNode } from "../harness/node.js";

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Asserts that every key of the legacy shape is present with the right JSON type. */
function expectShape(body: Record<string, unknown>, shape: Record<string, "string" | "number" | "boolean" | "time" | "time|null">) {
  for (const [key, type] of Object.entries(shape)) {
    expect(body, `missing ${key}`).toHaveProperty(key);
    const v = body[key];
    if (type === "time") expect(v, key).toMatch(RFC3339);
    else if (type === "time|null") expect(v === null || RFC3339.test(String(v)), `${key}=${String(v)}`).toBe(true);
    else expect(typeof v, key).toBe(type);
  }
}

describe.each<StoreKind>(["sqlite", "mongo"])("legacy REST routes on %s", (kind) => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode(kind);
  });
  afterAll(async () => {
    await t?.stop();
  });

  const create = (name = "Daily Reminder Check") =>
    rest(t.baseUrl, "POST", "/api/v1/cron/jobs", { name, schedule: "0 8 * * *", handler: "reminder_scheduler", enabled: true });

  it("POST /jobs registers a job and answers {job_id,name,schedule,status,created_at}", async () => {
    const res = await create();
    expect(res.status).toBe(200);
    expectShape(res.body, { job_id: "string", name: "string", schedule: "string", status: "string", created_at: "time" });
    expect(res.body).toMatchObject({ name: "Daily Reminder Check", schedule: "0 8 * * *", status: "active" });
  });

  it("GET /jobs/{id} answers every detail field, lock_acquired false and numbers as numbers", async () => {
    const id = (await create("details")).body.job_id;
    const res = await rest(t.baseUrl, "GET", `/api/v1/cron/jobs/${id}`);
    expect(res.status).toBe(200);
    expectShape(res.body, {
      job_id: "string",
      name: "string",
      schedule: "string",
      status: "string",
      lock_acquired: "boolean",
      last_triggered_at: "time|null",
      last_run_duration_ms: "number",
      next_trigger_at: "time",
    });
    expect(res.body.lock_acquired).toBe(false);
    expect(res.body.next_trigger_at).toMatch(/T08:00:00Z$/);
  });

  it("GET /jobs pages with ?page=&limit= and answers {data:[...],pagination:{page,limit,total}}", async () => {
    for (const n of ["p1", "p2", "p3"]) await create(n);
    const all = await rest(t.baseUrl, "GET", "/api/v1/cron/jobs");
    const total = all.body.pagination.total as number;
    expect(all.body.pagination).toEqual({ page: 1, limit: 20, total });
    const res = await rest(t.baseUrl, "GET", "/api/v1/cron/jobs?page=2&limit=2");
    expect(res.status).toBe(200);
    expect(res.body.pagination).toEqual({ page: 2, limit: 2, total });
    expect(res.body.data).toHaveLength(2);
    for (const job of res.body.data) {
      expectShape(job, { job_id: "string", name: "string", schedule: "string", status: "string", last_triggered_at: "time|null", next_trigger_at: "time" });
    }
  });

  it("PUT /jobs/{id} changes schedule and enabled and answers {job_id,schedule,status,updated_at}", async () => {
    const id = (await create("put")).body.job_id;
    const res = await rest(t.baseUrl, "PUT", `/api/v1/cron/jobs/${id}`, { schedule: "0 7 * * *", enabled: false });
    expect(res.status).toBe(200);
    expectShape(res.body, { job_id: "string", schedule: "string", status: "string", updated_at: "time" });
    expect(res.body).toMatchObject({ job_id: id, schedule: "0 7 * * *", status: "paused" });
    const back = await rest(t.baseUrl, "PUT", `/api/v1/cron/jobs/${id}`, { enabled: true });
    expect(back.body).toMatchObject({ schedule: "0 7 * * *", status: "active", name: "put" });
  });

  it("POST /jobs/{id}/trigger answers {job_id,triggered_at,lock_acquired,run_id} and stamps last_triggered_at", async () => {
    const id = (await create("trigger")).body.job_id;
    const res = await rest(t.baseUrl, "POST", `/api/v1/cron/jobs/${id}/trigger`);
    expect(res.status).toBe(200);
    expectShape(res.body, { job_id: "string", triggered_at: "time", lock_acquired: "boolean", run_id: "string" });
    expect(res.body.lock_acquired).toBe(true);
    const job = await rest(t.baseUrl, "GET", `/api/v1/cron/jobs/${id}`);
    expect(job.body.last_triggered_at).toBe(res.body.triggered_at);
    const list = await rest(t.baseUrl, "GET", "/api/v1/cron/jobs?limit=1000");
    const listed = list.body.data.find((j: { job_id: string }) => j.job_id === id);
    expect(listed.last_triggered_at).toBe(res.body.triggered_at);
    const run = await rest(t.baseUrl, "GET", `/api/v1/cron/runs/${res.body.run_id}`);
    expect(run.body).toMatchObject({ run_id: res.body.run_id, job_id: id, trigger: "manual" });
    expect(run.body.scheduled_at).toBe(res.body.triggered_at);
  });

  it("DELETE /jobs/{id} answers {deleted:true,job_id} and the job is gone", async () => {
    const id = (await create("delete")).body.job_id;
    const res = await rest(t.baseUrl, "DELETE", `/api/v1/cron/jobs/${id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ deleted: true, job_id: id });
    expect((await rest(t.baseUrl, "GET", `/api/v1/cron/jobs/${id}`)).status).toBe(404);
    expect((await rest(t.baseUrl, "DELETE", `/api/v1/cron/jobs/${id}`)).status).toBe(404);
  });

  it("GET /health answers {status:healthy,timestamp}", async () => {
    const res = await rest(t.baseUrl, "GET", "/health");
    expect(res.body.status).toBe("healthy");
    expect(res.body.timestamp).toMatch(RFC3339);
  });
});
