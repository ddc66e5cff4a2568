import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobFilter, Store } from "../../src/store/store.js";
import { rest, startTestNode, type StoreKind, type TestNode } from "../harness/node.js";
import { openStoreForTest } from "../harness/stores.js";
import { makeJob, makeRun, makeSpec, T0 } from "../support/fixtures.js";

/** Strings that a query builder would turn into operators or paths if it let data become a key. */
const HOSTILE = makeSpec({
  projectId: "$ne",
  name: "$where: function () { return true }",
  description: '{"$gt": ""} .* ^',
  tags: { $gt: "1", "a.b": "$ne", $where: "sleep(100)" },
  target: { ...makeSpec().target!, headers: { $set: "x", "a.b": "y" } },
});

describe.each<StoreKind>(["mongo", "sqlite"])("Mongo operator keys are plain data on %s", (kind) => {
  let store: Store;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ store, dispose } = await openStoreForTest(kind));
    await store.createJob(makeJob("job_hostile", {}, HOSTILE));
    await store.createJob(makeJob("job_plain", {}, makeSpec({ projectId: "p", name: "plain", description: "", tags: { team: "x" } })));
    await store.insertRuns([makeRun("run_hostile", "job_hostile", T0, { projectId: "$ne" }), makeRun("run_plain", "job_plain", T0, { projectId: "p" })]);
  });
  afterAll(async () => dispose());

  it("stores and returns operator-like names, tags and header names exactly", async () => {
    expect((await store.getJob("job_hostile"))?.spec).toEqual(HOSTILE);
    expect(await store.getJob("$where")).toBeUndefined();
    expect(await store.getRun("$gt")).toBeUndefined();
  });

  const filters: [string, JobFilter, string[]][] = [
    ["a project named $ne matches itself only", { projectId: "$ne" }, ["job_hostile"]],
    ["a tag key $gt is a key", { tag: "$gt" }, ["job_hostile"]],
    ["a tag $gt=1 is a key and a value", { tag: "$gt=1" }, ["job_hostile"]],
    ["a tag $where=sleep(100) is data", { tag: "$where=sleep(100)" }, ["job_hostile"]],
    ["a dotted tag key is one key", { tag: "a.b=$ne" }, ["job_hostile"]],
    ["a dotted key's first part is not a path", { tag: "a" }, []],
    ["text $where is a substring", { text: "$where" }, ["job_hostile"]],
    ["text .* is literal, not a pattern", { text: ".*" }, ["job_hostile"]],
    ["text ^plain$ is literal", { text: "^plain$" }, []],
    ['text {"$gt" is a substring of the description', { text: '{"$gt"' }, ["job_hostile"]],
    ["status $ne matches nothing", { status: "$ne" as never }, []],
  ];
  it.each(filters)("%s", async (_name, filter, ids) => {
    expect((await store.listJobs(filter, { pageSize: 10 })).items.map((j) => j.jobId)).toEqual(ids);
    expect((await store.listJobsByPage(filter, { page: 1, limit: 10 })).total).toBe(ids.length);
  });

  it("run filters take operator-like values as data", async () => {
    expect((await store.listRuns({ projectId: "$ne", pageSize: 10 })).items.map((r) => r.runId)).toEqual(["run_hostile"]);
    expect((await store.listRuns({ jobId: "$gt", pageSize: 10 })).items).toEqual([]);
  });
});

describe("operator-like filters over REST on the Mongo store", () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode("mongo");
    await rest(t.baseUrl, "POST", "/api/v1/cron/jobs", { name: "$where", schedule: "0 0 1 1 *", tags: { $gt: "1" }, target: { url: "http://127.0.0.1:9/x" } });
    await rest(t.baseUrl, "POST", "/api/v1/cron/jobs", { name: "plain", schedule: "0 0 1 1 *", target: { url: "http://127.0.0.1:9/x" } });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("match literally, and a bracketed operator in a query parameter is a 400, never a 5xx", async () => {
    expect((await rest(t.baseUrl, "GET", "/api/v1/cron/jobs?tag=%24gt")).body.data.map((j: { name: string }) => j.name)).toEqual(["$where"]);
    expect((await rest(t.baseUrl, "GET", "/api/v1/cron/jobs?text=%24where")).body.data).toHaveLength(1);
    expect((await rest(t.baseUrl, "GET", "/api/v1/cron/jobs?project_id=%24ne")).body.data).toEqual([]);
    const bracketed = await rest(t.baseUrl, "GET", "/api/v1/cron/jobs?project_id[%24ne]=x");
    expect(bracketed.status).toBeGreaterThanOrEqual(400);
    expect(bracketed.status).toBeLessThan(500);
  });
});
