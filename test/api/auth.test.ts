import type { DescMethod } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessOf } from "../../src/api/auth-interceptor.js";
import { makeJwt, type JwtOptions } from "../../deploy/make-token.js";
import { AUTH_KINDS, authSetup, TEST_JWT_SECRET, TEST_PROJECT, type AuthKind, type AuthSetup } from "../harness/auth.js";
import { clientsFor } from "../harness/clients.js";
import { startTestNode, type StoreKind, type TestNode } from "../harness/node.js";
import { startSink, type Sink } from "../harness/sink.js";
import { ALL_METHODS, callerFor, PROTOCOLS, type CallResult, type Protocol } from "../harness/protocol-calls.js";

const WRITES = ALL_METHODS.filter((m) => accessOf(m) === "write");
const READS = ALL_METHODS.filter((m) => accessOf(m) === "read");
const REFUSALS: (Code | "ok")[] = [Code.Unauthenticated, Code.PermissionDenied];
/** Refusals come at once, so their tables also run over gRPC-Web. */
const REFUSAL_PROTOCOLS: Protocol[] = [...PROTOCOLS, "grpcweb"];
/** Tables expecting a refusal give a silent stream this long, so that a slow refusal is not taken for admission. */
const AWAIT_REFUSAL = { silentStreamMs: 10_000 };

/**
 * Calls every method (at once: a silent stream takes a while to count as admitted) and returns
 * those whose outcome `expected` does not accept, with what they got.
 */
async function misfits(methods: DescMethod[], call: (m: DescMethod) => Promise<CallResult>, expected: (r: CallResult) => boolean) {
  const results = await Promise.all(methods.map(async (m) => ({ m, r: await call(m) })));
  return results.filter(({ r }) => !expected(r)).map(({ m, r }) => `${m.parent.name}/${m.name}: ${r.code === "ok" ? "ok" : Code[r.code]} ${r.message}`);
}

/** A job of the test project with two versions, and a run of it that failed (a dead letter), made by its editor. */
async function projectResources(baseUrl: string, headers: Record<string, string>): Promise<{ jobId: string; runId: string }> {
  const c = clientsFor(baseUrl, headers);
  const { job } = await c.cron.createJob({ job: { name: "private", schedule: "0 0 1 1 *", tasks: [], target: { url: "http://127.0.0.1:9/closed" } } as never });
  await c.cron.updateJob({ job: { jobId: job!.jobId, description: "v2" } as never });
  const { runId } = await c.cron.triggerJob({ jobId: job!.jobId });
  for (let i = 0; i < 100 && (await c.runs.getRun({ runId })).run!.status < 3; i++) await new Promise((r) => setTimeout(r, 50));
  return { jobId: job!.jobId, runId };
}

/**
 * The input of a method naming the given job and run: every id field filled. Other fields stay
 * unset: the job or run is looked up before anything else is checked.
 */
function inputNaming(method: DescMethod, ids: { jobId: string; runId: string }): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const f of method.input.fields) {
    if (f.name === "job_id") input.jobId = ids.jobId;
    if (f.name === "run_id") input.runId = ids.runId;
    if (f.name === "job") input.job = { jobId: ids.jobId, description: "moved" };
    if (f.name === "version" && f.fieldKind === "scalar") input.version = 1n;
    if (f.name === "task") input.task = { taskId: "t1", handler: "h" };
    if (f.name === "task_id") input.taskId = "t1";
  }
  return input;
}

describe("which RPCs write (read from the descriptors)", () => {
  it("reads are the NO_SIDE_EFFECTS methods and WatchRuns; every other method writes", () => {
    expect(READS.map((m) => m.name).sort()).toEqual([
      "GetClusterStatus",
      "GetJob",
      "GetJobStatus",
      "GetJobVersion",
      "GetRun",
      "GetWhoAmI",
      "ListDeadLetters",
      "ListJobVersions",
      "ListJobs",
      "ListRuns",
      "ListTasks",
      "PreviewSchedule",
      "WatchRuns",
    ]);
    expect(WRITES.length + READS.length).toBe(ALL_METHODS.length);
    expect(WRITES.map((m) => m.name)).toEqual(expect.arrayContaining(["CreateJob", "DeleteJob", "TriggerJob", "CancelRun", "RedriveRun", "BackfillJob"]));
  });
});

describe.each<StoreKind>(["sqlite", "mongo"])("authentication on %s", (store) => {
  describe.each<AuthKind>(AUTH_KINDS)("AUTH_MODE %s", (kind) => {
    let auth: AuthSetup;
    let t: TestNode;
    beforeAll(async () => {
      auth = await authSetup(kind);
      t = await startTestNode(store, { env: auth.env });
    });
    afterAll(async () => {
      await t?.stop();
      auth?.dispose();
    });

    it.each<Protocol>(REFUSAL_PROTOCOLS)("every RPC without credentials is Unauthenticated over %s", async (protocol) => {
      const call = callerFor(t.baseUrl, protocol, AWAIT_REFUSAL);
      expect(
        await misfits(
          ALL_METHODS,
          (m) => call(m, {}),
          (r) => r.code === Code.Unauthenticated,
        ),
      ).toEqual([]);
    });

    it.each<Protocol>(REFUSAL_PROTOCOLS)(
      "every RPC with refused credentials is Unauthenticated over %s, and the message does not repeat them",
      async (protocol) => {
        const call = callerFor(t.baseUrl, protocol, AWAIT_REFUSAL);
        const presented = Object.values(auth.forged).join(" ");
        const secret = presented.split(/\s+/).pop()!;
        expect(
          await misfits(
            ALL_METHODS,
            (m) => call(m, auth.forged),
            (r) => r.code === Code.Unauthenticated && !r.message.includes(secret) && !r.body.includes(secret),
          ),
        ).toEqual([]);
      },
    );

    it.each<Protocol>(REFUSAL_PROTOCOLS)("a reader is PermissionDenied on every write over %s", async (protocol) => {
      const reader = auth.users.reader.headers;
      expect(
        await misfits(
          WRITES,
          (m) => callerFor(t.baseUrl, protocol, AWAIT_REFUSAL)(m, reader),
          (r) => r.code === Code.PermissionDenied,
        ),
      ).toEqual([]);
    });

    it.each<Protocol>(PROTOCOLS)("a reader passes every read over %s", async (protocol) => {
      const reader = auth.users.reader.headers;
      const call = callerFor(t.baseUrl, protocol);
      expect(
        await misfits(
          READS,
          (m) => call(m, reader),
          (r) => !REFUSALS.includes(r.code),
        ),
      ).toEqual([]);
    });

    it.each<Protocol>(PROTOCOLS)("an editor passes authentication and authorization on every RPC over %s", async (protocol) => {
      const call = callerFor(t.baseUrl, protocol);
      expect(
        await misfits(
          ALL_METHODS,
          (m) => call(m, auth.users.editor.headers),
          (r) => !REFUSALS.includes(r.code),
        ),
      ).toEqual([]);
    });

    it.each<Protocol>(PROTOCOLS)("every RPC naming a job or run of another project is NotFound over %s, as if it did not exist", async (protocol) => {
      const theirs = await projectResources(t.baseUrl, auth.users.editor.headers);
      const call = callerFor(t.baseUrl, protocol);
      const intruder = auth.users.intruder.headers;
      const naming = ALL_METHODS.filter((m) => m.input.fields.some((f) => f.name === "job_id" || f.name === "run_id" || f.name === "job"));
      // A watch names no resource it could be refused on: it shows another project's runs never (see below).
      const ids = naming.filter((m) => m.name !== "CreateJob" && m.name !== "WatchRuns");
      expect(ids.map((m) => m.name)).toEqual(
        expect.arrayContaining([
          "GetJob",
          "UpdateJob",
          "DeleteJob",
          "TriggerJob",
          "PauseJob",
          "GetRun",
          "ReplayRun",
          "RedriveRun",
          "CancelRun",
          "ListTasks",
          "ListJobVersions",
          "BackfillJob",
        ]),
      );
      const namesProject = new RegExp(`\\b${TEST_PROJECT}\\b`);
      expect(
        await misfits(
          ids,
          (m) => call(m, intruder, inputNaming(m, theirs)),
          (r) => r.code === Code.NotFound && !namesProject.test(r.message),
        ),
      ).toEqual([]);
      // The owner still sees all of it: nothing was touched.
      expect(
        (
          await call(
            ALL_METHODS.find((m) => m.name === "GetJob")!,
            auth.users.editor.headers,
            { jobId: theirs.jobId },
          )
        ).code,
      ).toBe("ok");
    });

    it.each<Protocol>(PROTOCOLS)("lists, streams and counts show another project nothing, and naming it is PermissionDenied, over %s", async (protocol) => {
      const theirs = await projectResources(t.baseUrl, auth.users.editor.headers);
      const call = callerFor(t.baseUrl, protocol);
      const intruder = auth.users.intruder.headers;
      const method = (name: string) => ALL_METHODS.find((m) => m.name === name)!;
      for (const name of ["ListJobs", "ListRuns", "ListDeadLetters", "GetClusterStatus"]) {
        const r = await call(method(name), intruder, {});
        expect(r.code, name).toBe("ok");
        expect(r.body, name).not.toContain(theirs.jobId);
        expect(r.body, name).not.toContain(theirs.runId);
      }
      for (const name of ["ListJobs", "ListRuns", "ListDeadLetters", "WatchRuns"]) {
        if (protocol === "rest" && name === "WatchRuns") continue; // a REST stream reports it in its first line: below
        expect((await call(method(name), intruder, { projectId: TEST_PROJECT })).code, name).toBe(Code.PermissionDenied);
      }
      if (protocol === "rest") {
        const res = await fetch(`${t.baseUrl}/api/v1/cron/watch/runs?project_id=${TEST_PROJECT}`, { headers: intruder });
        const first = (await res.text()).split("\n")[0]!;
        expect(JSON.parse(first)).toMatchObject({ error: { code: "permission_denied", field: "project_id" } });
      }
      const create = await call(method("CreateJob"), intruder, { job: { name: "sneaky", schedule: "0 0 1 1 *", handler: "h", projectId: TEST_PROJECT } });
      expect(create.code).toBe(Code.PermissionDenied);
    });

    it("answers 401 on REST with a WWW-Authenticate header naming the scheme", async () => {
      const res = await fetch(`${t.baseUrl}/api/v1/cron/jobs`);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(new RegExp(`^${auth.scheme} realm="cronmesh"`));
      expect(await res.json()).toMatchObject({ code: "unauthenticated" });
    });

    it("records the authenticated subject as created_by and ignores the actor header; GetWhoAmI tells the identity", async () => {
      const call = callerFor(t.baseUrl, "connect");
      const headers = { ...auth.users.editor.headers, "x-cronmesh-actor": "someone-else" };
      const created = await fetch(`${t.baseUrl}/api/v1/cron/jobs`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({ name: "audited", schedule: "0 0 1 1 *", target: { url: "http://127.0.0.1:9/x" }, project_id: "p1" }),
      });
      expect(created.status).toBe(200);
      const job = (await created.json()) as { created_by: string; updated_by: string };
      expect(job).toMatchObject({ created_by: "editor-user", updated_by: "editor-user" });
      const who = await call(
        ALL_METHODS.find((m) => m.name === "GetWhoAmI")!,
        auth.users.reader.headers,
      );
      expect(JSON.parse(who.body)).toMatchObject({ subject: "reader-user", projectId: "p1", roles: ["reader"], authMode: auth.env.AUTH_MODE });
      const superadmin = await fetch(`${t.baseUrl}/api/v1/cron/whoami`, { headers: auth.users.superadmin.headers });
      expect(await superadmin.json()).toMatchObject({ subject: "superadmin-user", project_id: "*", roles: ["admin"] });
    });
  });
});

describe("JWT validity over the wire (AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE set)", () => {
  let t: TestNode;
  const claims = { secret: TEST_JWT_SECRET, sub: "erin", project: "p1", roles: ["editor"], issuer: "https://issuer.test", audience: "cronmesh" };
  beforeAll(async () => {
    t = await startTestNode("sqlite", {
      env: { AUTH_MODE: "jwt", AUTH_JWT_SECRET: TEST_JWT_SECRET, AUTH_JWT_ISSUER: claims.issuer, AUTH_JWT_AUDIENCE: claims.audience },
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it.each<[string, Partial<JwtOptions>, string]>([
    ["an expired token", { ttlSeconds: -5 }, "token expired"],
    ["a token not valid yet", { notBeforeSeconds: 300 }, "token not valid yet"],
    ["a token of another issuer", { issuer: "https://other.test" }, "token iss claim not accepted"],
    ["a token for another audience", { audience: "billing" }, "token aud claim not accepted"],
  ])("refuses %s with 401 on REST and Unauthenticated on Connect", async (_name, change, message) => {
    const token = await makeJwt({ ...claims, ...change });
    const res = await fetch(`${t.baseUrl}/api/v1/cron/jobs`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="cronmesh"');
    expect(await res.json()).toEqual({ code: "unauthenticated", message, field: "" });
    const connect = await callerFor(t.baseUrl, "connect")(
      ALL_METHODS.find((m) => m.name === "ListJobs")!,
      { authorization: `Bearer ${token}` },
    );
    expect({ code: connect.code, message: connect.message }).toEqual({ code: Code.Unauthenticated, message });
  });

  it("accepts the same token when it is valid", async () => {
    const res = await fetch(`${t.baseUrl}/api/v1/cron/whoami`, { headers: { authorization: `Bearer ${await makeJwt(claims)}` } });
    expect(await res.json()).toMatchObject({ subject: "erin", project_id: "p1", roles: ["editor"], auth_mode: "jwt" });
  });
});

describe("a watcher with credentials", () => {
  let auth: AuthSetup;
  let t: TestNode;
  let sink: Sink;
  beforeAll(async () => {
    auth = await authSetup("api_key");
    sink = await startSink();
    t = await startTestNode("sqlite", { env: auth.env });
  });
  afterAll(async () => {
    await t?.stop();
    await sink?.close();
    auth?.dispose();
  });

  it("receives the run changes of a job over Connect and REST", async () => {
    const c = clientsFor(t.baseUrl, auth.users.editor.headers);
    const { job } = await c.cron.createJob({ job: { name: "watched", schedule: "0 0 1 1 *", target: { url: `${sink.url}/w` } } });
    const abort = new AbortController();
    const connect = clientsFor(t.baseUrl, auth.users.reader.headers).runs.watchRuns({ jobId: job!.jobId }, { signal: abort.signal });
    const rest = await fetch(`${t.baseUrl}/api/v1/cron/watch/runs?job_id=${job!.jobId}`, { headers: auth.users.reader.headers, signal: abort.signal });
    expect(rest.status).toBe(200);
    const { runId } = await c.cron.triggerJob({ jobId: job!.jobId });
    try {
      for await (const change of connect) if (change.run?.runId === runId) break;
      const reader = rest.body!.getReader();
      let text = "";
      while (!text.includes(runId)) text += new TextDecoder().decode((await reader.read()).value);
    } finally {
      abort.abort();
    }
  });
});

describe("health, readiness and metrics stay open when authentication is on", () => {
  let auth: AuthSetup;
  let t: TestNode;
  beforeAll(async () => {
    auth = await authSetup("api_key");
    t = await startTestNode("sqlite", { env: auth.env });
  });
  afterAll(async () => {
    await t?.stop();
    auth?.dispose();
  });

  it.each(["/health", "/metrics"])("%s answers without credentials", async (path) => {
    expect((await fetch(`${t.baseUrl}${path}`)).status).toBe(200);
  });
});

describe("without authentication (AUTH_MODE none)", () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode("sqlite");
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("every caller is an admin of every project, named by the actor header", async () => {
    const res = await fetch(`${t.baseUrl}/api/v1/cron/whoami`, { headers: { "x-cronmesh-actor": "carol" } });
    expect(await res.json()).toEqual({ subject: "carol", project_id: "*", roles: ["admin"], auth_mode: "none" });
  });
});
