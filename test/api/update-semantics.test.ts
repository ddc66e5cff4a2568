import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobStatus } from "../../gen/cronmesh/v1/job_pb.js";
import { clientsFor, type Clients } from "../harness/clients.js";
import { rest, startTestNode, type StoreKind, type TestNode } from "../harness/node.js";
import { startSink, type Sink } from "../harness/sink.js";

const JOBS = "/api/v1/cron/jobs";

/** A job with a non-default value in every target and retry field. */
function fullJob(name: string, url = "http://127.0.0.1:9/hook") {
  return {
    name,
    schedule: "0 8 * * *",
    target: {
      url,
      method: "GET",
      headers: { "X-A": "1" },
      timeout: "30s",
      success_codes: [200, 204],
      auth: { basic: { username: "u", password: "secret://pw" } },
    },
    retry: { max_attempts: 3, initial_backoff: "2s", max_backoff: "90s", multiplier: 3 },
  };
}

/** The target and retry of a job as REST shows them. */
const restParts = async (t: TestNode, id: string) => {
  const { body } = await rest(t.baseUrl, "GET", `${JOBS}/${id}`);
  return { target: body.target, retry: body.retry, status: body.status, enabled: body.enabled };
};

/** The Connect error of a failed call. */
async function connectErrorOf(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("the call succeeded");
}

describe.each<StoreKind>(["sqlite", "mongo"])("updates change what they name and nothing else, on %s", (kind) => {
  let t: TestNode;
  let c: Clients;
  let sink: Sink;
  beforeAll(async () => {
    [t, sink] = await Promise.all([startTestNode(kind), startSink()]);
    c = clientsFor(t.baseUrl);
  });
  afterAll(async () => {
    await Promise.all([t?.stop(), sink?.close()]);
  });

  const createJob = async (body: object) => (await rest(t.baseUrl, "POST", JOBS, body)).body.job_id as string;

  describe("a partial nested object updates its leaves (AIP-134)", () => {
    const expectKept = async (id: string) => {
      const after = await restParts(t, id);
      expect(after.target).toMatchObject({
        url: "http://127.0.0.1:9/moved",
        timeout: "60s",
        method: "GET",
        headers: { "X-A": "1" },
        success_codes: [200, 204],
        auth: { basic: { username: "u", password: "secret://pw" } },
      });
      expect(after.retry).toEqual({ max_attempts: 6, initial_backoff: "2s", max_backoff: "90s", multiplier: 3, retry_on: "on_failure" });
    };

    it("over REST PATCH", async () => {
      const id = await createJob(fullJob("rest-partial"));
      expect((await rest(t.baseUrl, "PATCH", `${JOBS}/${id}`, { target: { url: "http://127.0.0.1:9/moved", timeout: "60s" } })).status).toBe(200);
      expect((await rest(t.baseUrl, "PATCH", `${JOBS}/${id}`, { retry: { max_attempts: 6 } })).status).toBe(200);
      await expectKept(id);
    });

    it("over Connect UpdateJob without a mask", async () => {
      const id = await createJob(fullJob("connect-partial"));
      await c.cron.updateJob({ job: { jobId: id, target: { url: "http://127.0.0.1:9/moved", timeout: { seconds: 60n } } } });
      await c.cron.updateJob({ job: { jobId: id, retry: { maxAttempts: 6 } } });
      await expectKept(id);
    });

    it("while an explicit mask naming a message still replaces it whole, over REST and Connect", async () => {
      const viaRest = await createJob(fullJob("rest-mask"));
      await rest(t.baseUrl, "PATCH", `${JOBS}/${viaRest}?update_mask=target,retry.max_attempts`, {
        target: { url: "http://127.0.0.1:9/whole" },
        retry: { max_attempts: 5 },
      });
      const viaConnect = await createJob(fullJob("connect-mask"));
      await c.cron.updateJob({ job: { jobId: viaConnect, target: { url: "http://127.0.0.1:9/whole" } }, updateMask: { paths: ["target"] } });
      for (const id of [viaRest, viaConnect]) {
        const { target } = await restParts(t, id);
        expect(target).toMatchObject({ url: "http://127.0.0.1:9/whole", method: "POST", headers: {}, success_codes: [], auth: null });
      }
      expect((await restParts(t, viaRest)).retry).toMatchObject({ max_attempts: 5, initial_backoff: "2s", max_backoff: "90s" });
    });

    it("descends into the stored auth kind and replaces auth of another kind, over REST and Connect", async () => {
      const viaRest = await createJob(fullJob("rest-auth"));
      await rest(t.baseUrl, "PATCH", `${JOBS}/${viaRest}`, { target: { auth: { basic: { username: "v" } } } });
      const viaConnect = await createJob(fullJob("connect-auth"));
      await c.cron.updateJob({ job: { jobId: viaConnect, target: { auth: { kind: { case: "basic", value: { username: "v" } } } } } });
      for (const id of [viaRest, viaConnect]) {
        expect((await restParts(t, id)).target.auth).toEqual({ basic: { username: "v", password: "secret://pw" } });
      }
      await rest(t.baseUrl, "PATCH", `${JOBS}/${viaRest}`, { target: { auth: { bearer: { token: "secret://tok" } } } });
      await c.cron.updateJob({ job: { jobId: viaConnect, target: { auth: { kind: { case: "bearer", value: { token: "secret://tok" } } } } } });
      for (const id of [viaRest, viaConnect]) {
        expect((await restParts(t, id)).target).toMatchObject({ method: "GET", auth: { bearer: { token: "secret://tok" } } });
      }
    });

    it("restores a redacted secret sent back inside a partial auth, over REST and Connect", async () => {
      const inline = (name: string) => ({
        ...fullJob(name, `${sink.url}/${name}`),
        target: { ...fullJob(name).target, url: `${sink.url}/${name}`, auth: { basic: { username: "u", password: "inline-pw" } } },
      });
      const viaRest = await createJob(inline("rest-redacted"));
      expect((await restParts(t, viaRest)).target.auth.basic.password).toBe("[redacted]");
      await rest(t.baseUrl, "PATCH", `${JOBS}/${viaRest}`, { target: { auth: { basic: { username: "v", password: "[redacted]" } } } });
      const viaConnect = await createJob(inline("connect-redacted"));
      await c.cron.updateJob({ job: { jobId: viaConnect, target: { auth: { kind: { case: "basic", value: { username: "v", password: "[redacted]" } } } } } });
      for (const [id, path] of [
        [viaRest, "/rest-redacted"],
        [viaConnect, "/connect-redacted"],
      ] as const) {
        await rest(t.baseUrl, "POST", `${JOBS}/${id}/trigger`, {});
        const [delivery] = await sink.waitFor((d) => d.path === path, 1, 10_000);
        expect(delivery!.headers.authorization).toBe(`Basic ${Buffer.from("v:inline-pw").toString("base64")}`);
        expect(delivery!.headers["x-a"]).toBe("1");
      }
    });
  });

  describe("enabled and status never disagree silently", () => {
    it("a read-modify-write PUT of enabled pauses and resumes over REST", async () => {
      const id = await createJob(fullJob("rest-rmw"));
      const got = (await rest(t.baseUrl, "GET", `${JOBS}/${id}`)).body;
      const paused = await rest(t.baseUrl, "PUT", `${JOBS}/${id}`, { ...got, enabled: false });
      expect(paused.status).toBe(200);
      expect(paused.body).toMatchObject({ status: "paused", enabled: false });
      const resumed = await rest(t.baseUrl, "PUT", `${JOBS}/${id}`, { ...paused.body, enabled: true });
      expect(resumed.body).toMatchObject({ status: "active", enabled: true });
      const byStatus = await rest(t.baseUrl, "PUT", `${JOBS}/${id}`, { ...resumed.body, status: "paused" });
      expect(byStatus.body).toMatchObject({ status: "paused", enabled: false });
    });

    it("a read-modify-write UpdateJob of enabled pauses and resumes over Connect", async () => {
      const id = await createJob(fullJob("connect-rmw"));
      const { job } = await c.cron.getJob({ jobId: id });
      const { job: paused } = await c.cron.updateJob({ job: { ...job!, enabled: false } });
      expect(paused).toMatchObject({ status: JobStatus.PAUSED, enabled: false });
      const { job: resumed } = await c.cron.updateJob({ job: { ...paused!, enabled: true } });
      expect(resumed).toMatchObject({ status: JobStatus.ACTIVE, enabled: true });
      const { job: byStatus } = await c.cron.updateJob({ job: { ...resumed!, status: JobStatus.PAUSED } });
      expect(byStatus).toMatchObject({ status: JobStatus.PAUSED, enabled: false });
    });

    it("refuses status and enabled both changed inconsistently, naming enabled, over REST and Connect", async () => {
      const id = await createJob({ ...fullJob("inconsistent"), enabled: false });
      const viaRest = await rest(t.baseUrl, "PATCH", `${JOBS}/${id}`, { status: "cancelled", enabled: true });
      expect(viaRest.status).toBe(400);
      expect(viaRest.body.field).toBe("enabled");
      const err = await connectErrorOf(c.cron.updateJob({ job: { jobId: id, status: JobStatus.CANCELLED, enabled: true } }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.metadata.get("cronmesh-field")).toBe("enabled");
      expect((await restParts(t, id)).status).toBe("paused");
      const completed = await rest(t.baseUrl, "PATCH", `${JOBS}/${id}`, { status: "completed" });
      expect(completed.body.field).toBe("status");
    });
  });

  describe("REST shows every unset message-typed field as null", () => {
    it("target, durations, times and auth are present and null when unset, on jobs and tasks", async () => {
      const handlerJob = (await rest(t.baseUrl, "POST", JOBS, { name: "nulls", schedule: "0 8 * * *", handler: "h" })).body;
      for (const key of ["target", "max_jitter", "run_at", "start_at", "end_at"]) expect(handlerJob, key).toHaveProperty(key, null);
      expect(handlerJob.retry).toMatchObject({ initial_backoff: "1s" });
      const plain = (
        await rest(t.baseUrl, "POST", JOBS, {
          name: "no-auth",
          schedule: "0 8 * * *",
          target: { url: "http://127.0.0.1:9/" },
          tasks: [{ task_id: "a", handler: "h" }],
        })
      ).body;
      expect(plain.target).toHaveProperty("auth", null);
      expect(plain.tasks[0]).toHaveProperty("target", null);
      const listed = (await rest(t.baseUrl, "GET", `${JOBS}?limit=1000`)).body.data.find((j: { job_id: string }) => j.job_id === handlerJob.job_id);
      expect(listed).toHaveProperty("target", null);
      // The shape round-trips: a PUT of what GET showed changes nothing but the version.
      const put = await rest(t.baseUrl, "PUT", `${JOBS}/${handlerJob.job_id}`, handlerJob);
      expect(put.status).toBe(200);
      expect({ ...put.body, version: 1, updated_at: handlerJob.updated_at }).toEqual(handlerJob);
    });

    it("a version's config says whether the job was enabled, over REST and Connect", async () => {
      const id = await createJob(fullJob("version-enabled"));
      await rest(t.baseUrl, "POST", `${JOBS}/${id}/pause`, {});
      const v1 = (await rest(t.baseUrl, "GET", `${JOBS}/${id}/versions/1`)).body;
      const v2 = (await rest(t.baseUrl, "GET", `${JOBS}/${id}/versions/2`)).body;
      expect(v1.version.config).toMatchObject({ status: "active", enabled: true });
      expect(v2.version.config).toMatchObject({ status: "paused", enabled: false });
      const { versions } = await c.cron.listJobVersions({ jobId: id });
      expect(versions.map((v) => v.config?.enabled)).toEqual([false, true]);
    });
  });
});
