import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CronService } from "../../gen/cronmesh/v1/cron_service_pb.js";
import { AuthSchema, JobSchema, type Job } from "../../gen/cronmesh/v1/job_pb.js";
import { RunService } from "../../gen/cronmesh/v1/run_service_pb.js";
import { createLogger } from "../../src/telemetry/logger.js";
import { SEALED_PREFIX } from "../../src/store/secret-cipher.js";
import { authSetup, basicHeader, TEST_JWT_SECRET, type AuthKind, type AuthSetup } from "../harness/auth.js";
import { waitRun } from "../harness/clients.js";
import { startTestNode, type StoreKind } from "../harness/node.js";
import { startOtlpReceiver, type OtlpReceiver } from "../harness/otlp-receiver.js";
import { ALL_METHODS, callerFor, PROTOCOLS } from "../harness/protocol-calls.js";
import { startSink, type Sink } from "../harness/sink.js";

/** A distinct, greppable value. */
const planted = (what: string) => `${what}-${randomBytes(6).toString("hex")}`;

/** Inline target credentials of every kind, planted in jobs: each must reach the target and nothing else. */
const INLINE = {
  bearer: planted("inline-bearer"),
  basicPassword: planted("inline-basic-pw"),
  apiKey: planted("inline-api-key"),
  serviceToken: planted("inline-service-token"),
  authorizationHeader: planted("inline-authz-header"),
  cookieHeader: planted("inline-cookie"),
  apiKeyHeader: planted("inline-x-api-key"),
  serviceTokenHeader: planted("inline-x-service-token"),
  proxyHeader: planted("inline-proxy-authz"),
};
const SECRETS_KEY = randomBytes(32).toString("base64");

/** A yearly job on the sink whose target carries the given auth; it is triggered by hand. */
function jobWith(name: string, url: string, auth: NonNullable<Job["target"]>["auth"]): Job {
  return create(JobSchema, {
    name,
    schedule: "0 0 1 1 *",
    projectId: "p1",
    retry: { maxAttempts: 2, initialBackoff: { nanos: 1_000_000 } },
    target: { url, auth },
  });
}

/** Everything one test run produced that a credential must never be found in. */
interface Corpus {
  responses: string[];
  logs: string[];
  otlp: Buffer[];
  stores: string[];
}

/**
 * Drives one node through everything that handles credentials: jobs with inline credentials of
 * every kind created, changed, read, listed and rolled back over REST, Connect and gRPC; runs that
 * fail and succeed against a target; refused calls with forged credentials and a reader's writes.
 */
async function exercise(baseUrl: string, auth: AuthSetup, sink: Sink, responses: string[]): Promise<void> {
  const editor = auth.users.editor.headers;
  const record = (value: unknown) =>
    responses.push(typeof value === "string" ? value : JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)));
  const restCall = async (method: string, path: string, body?: unknown, headers: Record<string, string> = editor) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { ...headers, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    record(`${res.status} ${JSON.stringify([...res.headers])} ${text}`);
    return text ? (JSON.parse(text) as Record<string, any>) : {};
  };
  const connect = createConnectTransport({ baseUrl, httpVersion: "1.1" });
  const grpc = createGrpcTransport({ baseUrl });
  const cronC = createClient(CronService, connect);
  const cronG = createClient(CronService, grpc);
  const runsC = createClient(RunService, connect);
  const url = `${sink.url}/leak`;

  const restJob = await restCall("POST", "/api/v1/cron/jobs", {
    name: "rest",
    schedule: "0 0 1 1 *",
    project_id: "p1",
    retry: { max_attempts: 2, initial_backoff: "0.001s" },
    target: {
      url,
      headers: {
        Authorization: `Bearer ${INLINE.authorizationHeader}`,
        Cookie: INLINE.cookieHeader,
        "X-API-Key": INLINE.apiKeyHeader,
        "X-Service-Token": INLINE.serviceTokenHeader,
        "Proxy-Authorization": INLINE.proxyHeader,
      },
      auth: { bearer: { token: INLINE.bearer } },
    },
  });
  const basic = create(AuthSchema, { kind: { case: "basic", value: { username: "svc", password: INLINE.basicPassword } } });
  const connectJob = (await cronC.createJob({ job: jobWith("connect", url, basic) }, { headers: editor })).job!;
  const connectJobChanged = (
    await cronC.updateJob({ job: { jobId: connectJob.jobId, description: "changed" }, updateMask: { paths: ["description"] } }, { headers: editor })
  ).job!;
  const apiKey = create(AuthSchema, { kind: { case: "apiKey", value: { key: INLINE.apiKey, header: "X-API-Key" } } });
  const grpcJob = (await cronG.createJob({ job: jobWith("grpc", url, apiKey) }, { headers: editor })).job!;
  const serviceToken = create(AuthSchema, { kind: { case: "serviceToken", value: { token: INLINE.serviceToken, header: "X-Service-Token" } } });
  const tokenJob = (await cronG.createJob({ job: jobWith("token", url, serviceToken) }, { headers: editor })).job!;
  record([connectJob, connectJobChanged, grpcJob, tokenJob]);

  // The REST job's target fails (500, retried once), the others succeed.
  sink.reply((d) => ({ status: d.jobId === restJob.job_id ? 500 : 200, body: "ok" }));
  const ids = [restJob.job_id as string, connectJob.jobId, grpcJob.jobId, tokenJob.jobId];
  for (const jobId of ids) {
    const { runId } = await cronC.triggerJob({ jobId }, { headers: editor });
    const run = await waitRun({ cron: withHeaders(cronC, editor), runs: withHeaders(runsC, editor) }, runId);
    record(run);
  }
  await restCall("PUT", `/api/v1/cron/jobs/${restJob.job_id as string}`, { description: "changed", enabled: true });
  await restCall("POST", `/api/v1/cron/jobs/${restJob.job_id as string}/rollback`, { version: 1 });
  for (const path of [
    "/api/v1/cron/jobs",
    `/api/v1/cron/jobs/${restJob.job_id as string}`,
    `/api/v1/cron/jobs/${restJob.job_id as string}/versions`,
    "/api/v1/cron/runs",
    "/api/v1/cron/whoami",
  ])
    await restCall("GET", path);
  record(await cronC.listJobs({ pageSize: 100 }, { headers: editor }));
  record(await cronG.listJobVersions({ jobId: connectJob.jobId }, { headers: editor }));

  // Refusals, on every RPC and protocol: no credentials, forged ones, wrong passwords, a reader writing.
  const refusedWith = [
    auth.forged,
    auth.users.reader.headers,
    basicHeader("editor-user", INLINE.basicPassword),
    { authorization: `Bearer ${INLINE.bearer}` },
    { "x-api-key": INLINE.apiKey },
  ];
  for (const protocol of PROTOCOLS) {
    const call = callerFor(baseUrl, protocol, { silentStreamMs: 300 });
    for (const headers of refusedWith) for (const m of ALL_METHODS) record(await call(m, headers));
  }
}

/** A client whose every call carries the given headers (waitRun takes plain clients). */
function withHeaders<T extends object>(client: T, headers: Record<string, string>): T {
  return new Proxy(client, {
    get: (target, prop) => {
      const fn = (target as Record<string | symbol, unknown>)[prop];
      return typeof fn === "function" ? (req: unknown, options: object = {}) => (fn as (r: unknown, o: object) => unknown)(req, { ...options, headers }) : fn;
    },
  });
}

/** The stored data: every file of the SQLite store, or every document of every collection of the Mongo database. */
async function storeDump(kind: StoreKind, data: { dir: string; dbName: string }): Promise<string> {
  if (kind === "sqlite")
    return readdirSync(data.dir)
      .map((f) => readFileSync(join(data.dir, f)).toString("latin1"))
      .join("\n");
  const { MongoClient, BSON } = await import("mongodb");
  const { inject } = await import("vitest");
  const client = new MongoClient(inject("mongoUri"));
  try {
    const db = client.db(data.dbName);
    const out: string[] = [];
    for (const { name } of await db.listCollections().toArray()) out.push(name, BSON.EJSON.stringify(await db.collection(name).find().toArray()));
    return out.join("\n");
  } finally {
    await client.close();
  }
}

/** Each credential as it may travel: itself, and the header values and base64 forms it is sent in. */
function forms(secret: string): string[] {
  return [secret, Buffer.from(secret).toString("base64").replace(/=+$/, "")];
}

const KINDS: AuthKind[] = ["jwt-hs256", "api_key", "basic"];

describe.each<StoreKind>(["sqlite", "mongo"])("no credential leaks, on %s", (store) => {
  const corpus: Corpus = { responses: [], logs: [], otlp: [], stores: [] };
  const planted: string[] = [...Object.values(INLINE), `svc:${INLINE.basicPassword}`, SECRETS_KEY, TEST_JWT_SECRET];
  let receiver: OtlpReceiver;
  let sink: Sink;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    sink = await startSink();
    for (const kind of KINDS) {
      const auth = await authSetup(kind);
      for (const user of Object.values(auth.users)) planted.push(user.secret);
      planted.push(Object.values(auth.forged)[0]!.split(" ").pop()!);
      if (kind === "basic") planted.push(`editor-user:${auth.users.editor.secret}`);
      const log = createLogger("debug", { write: (line: string) => void corpus.logs.push(line) });
      const env = { ...auth.env, SECRETS_KEY, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: "50", LOG_LEVEL: "debug" };
      const t = await startTestNode(store, { env, log });
      try {
        await exercise(t.baseUrl, auth, sink, corpus.responses);
      } finally {
        await t.halt();
        corpus.stores.push(await storeDump(store, t.data));
        rmSync(t.data.dir, { recursive: true, force: true });
        if (store === "mongo") await (await import("../harness/mongo.js")).dropDatabase((await import("vitest")).inject("mongoUri"), t.data.dbName);
        auth.dispose();
      }
    }
    corpus.otlp.push(...receiver.payloads);
  }, 300_000);
  afterAll(async () => {
    await sink?.close();
    await receiver?.close();
  });

  it("the run really used the planted credentials: the target received them, the corpus holds sealed job data", () => {
    const received = JSON.stringify(sink.deliveries.map((d) => d.headers));
    // All but the Authorization header, which the job's bearer auth replaces (it must not leak either).
    const { authorizationHeader: _replaced, basicPassword: _encoded, ...sent } = INLINE;
    for (const value of [...Object.values(sent), Buffer.from(`svc:${INLINE.basicPassword}`).toString("base64")]) {
      expect(received).toContain(value);
    }
    expect(corpus.stores.join("").split(SEALED_PREFIX).length).toBeGreaterThan(10);
    expect(corpus.logs.length).toBeGreaterThan(100);
    expect(corpus.otlp.length).toBeGreaterThan(0);
    expect(corpus.responses.length).toBeGreaterThan(500);
  });

  it.each<[keyof Corpus]>([["responses"], ["logs"], ["otlp"], ["stores"]])("no planted secret appears in the %s", (part) => {
    const text = corpus[part].map((x) => (Buffer.isBuffer(x) ? x.toString("latin1") : x)).join("\n");
    const found = planted.flatMap(forms).filter((secret) => text.includes(secret));
    expect(found).toEqual([]);
  });
});
