import { randomBytes } from "node:crypto";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/health/v1/health_pb.js";
import { clientsFor, codeOf } from "../harness/clients.js";
import { startEtcdCluster, type EtcdCluster } from "../harness/etcd.js";
import { startFerretDb, type FerretDbServer } from "../harness/ferretdb.js";
import { startTestNode, type StoreKind, type TestNode } from "../harness/node.js";
import { freePort } from "../harness/processes.js";

const SERVICES = ["", "cronmesh.v1.CronService", "cronmesh.v1.RunService"];
/** Probes every 200 ms, so that a change shows within a second or two. */
const FAST_PROBES = { READY_PROBE_MS: "200" };
/** Cluster mode needs AUTH_MODE said out loud; these tests are about readiness, not auth. */
const CLUSTER_NO_AUTH = { AUTH_MODE: "none" };
/** Longest wait for a change of readiness: a probe round plus a probe's deadline, with room. */
const CHANGE_MS = 15_000;

/** A gRPC (HTTP/2) health client of a node. */
function healthClient(baseUrl: string): Client<typeof Health> {
  return createClient(Health, createGrpcTransport({ baseUrl }));
}

/** A health Watch kept open in the background, recording every status it receives. */
function watchHealth(baseUrl: string, service = "") {
  const statuses: ServingStatus[] = [];
  const abort = new AbortController();
  const ended = (async () => {
    for await (const res of healthClient(baseUrl).watch({ service }, { signal: abort.signal })) statuses.push(res.status);
  })().then(
    () => "ended",
    (err: unknown) => ConnectError.from(err).code,
  );
  return { statuses, ended, close: () => abort.abort() };
}

/** GET /ready: status and body. */
async function ready(baseUrl: string) {
  const res = await fetch(`${baseUrl}/ready`);
  return { status: res.status, body: (await res.json()) as { status: string; reason?: string; checks: Record<string, string> } };
}

/** Waits until /ready answers `status`; returns that answer. */
async function readyBecomes(baseUrl: string, status: number) {
  return vi.waitFor(
    async () => {
      const answer = await ready(baseUrl);
      expect(answer.status).toBe(status);
      return answer;
    },
    { timeout: CHANGE_MS, interval: 100 },
  );
}

describe.each<StoreKind>(["sqlite", "mongo"])("health and readiness of a ready node (%s)", (kind) => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode(kind, { env: FAST_PROBES });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("keeps /health as the liveness answer: 200, status and timestamp only", async () => {
    const res = await fetch(`${t.baseUrl}/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(["status", "timestamp"]);
    expect(body.status).toBe("healthy");
  });

  it("answers /ready with 200 and every check ok", async () => {
    expect(await ready(t.baseUrl)).toEqual({ status: 200, body: { status: "ready", checks: { startup: "ok", store: "ok" } } });
  });

  it.each(SERVICES)("reports SERVING for %j on gRPC Check", async (service) => {
    expect((await healthClient(t.baseUrl).check({ service })).status).toBe(ServingStatus.SERVING);
  });

  it("answers Check of an unknown service with NOT_FOUND, and lists the known ones", async () => {
    const health = healthClient(t.baseUrl);
    expect(await codeOf(health.check({ service: "cronmesh.v1.NoSuchService" }))).toBe(Code.NotFound);
    const { statuses } = await health.list({});
    expect(Object.keys(statuses).sort()).toEqual([...SERVICES].sort());
    expect(Object.values(statuses).map((s) => s.status)).toEqual(SERVICES.map(() => ServingStatus.SERVING));
  });

  it("streams the current status on Watch at once, and SERVICE_UNKNOWN for an unknown service", async () => {
    const known = watchHealth(t.baseUrl, "cronmesh.v1.RunService");
    const unknown = watchHealth(t.baseUrl, "nope");
    try {
      await vi.waitFor(() => expect(known.statuses).toEqual([ServingStatus.SERVING]), { timeout: 5000 });
      await vi.waitFor(() => expect(unknown.statuses).toEqual([ServingStatus.SERVICE_UNKNOWN]), { timeout: 5000 });
    } finally {
      known.close();
      unknown.close();
    }
  });
});

describe("readiness follows the store (a private FerretDB, stopped and restarted)", () => {
  let ferret: FerretDbServer;
  let t: TestNode;
  beforeAll(async () => {
    ferret = await startFerretDb();
    t = await startTestNode("mongo", { env: { ...FAST_PROBES, MONGODB_URI: ferret.uri } });
  });
  afterAll(async () => {
    await t?.stop();
    await ferret?.stop();
  });

  it("answers 503 and NOT_SERVING with the store named while it is down, then recovers", async () => {
    const watch = watchHealth(t.baseUrl);
    try {
      await vi.waitFor(() => expect(watch.statuses).toEqual([ServingStatus.SERVING]), { timeout: 5000 });
      await ferret.crash();
      const down = await readyBecomes(t.baseUrl, 503);
      expect(down.body.status).toBe("not_ready");
      expect(down.body.reason).toMatch(/^store unreachable: /);
      expect(down.body.checks.startup).toBe("ok");
      expect(down.body.checks.store).toMatch(/^unreachable: /);
      for (const service of SERVICES) expect((await healthClient(t.baseUrl).check({ service })).status).toBe(ServingStatus.NOT_SERVING);
      expect((await fetch(`${t.baseUrl}/health`)).status).toBe(200);
      await ferret.restart();
      expect((await readyBecomes(t.baseUrl, 200)).body.checks.store).toBe("ok");
      expect((await healthClient(t.baseUrl).check({ service: "cronmesh.v1.CronService" })).status).toBe(ServingStatus.SERVING);
      await vi.waitFor(() => expect(watch.statuses).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING, ServingStatus.SERVING]), { timeout: 5000 });
    } finally {
      watch.close();
    }
  }, 60_000);
});

describe("readiness in cluster mode follows etcd (a private one, stopped and restarted)", () => {
  let etcd: EtcdCluster;
  let t: TestNode;
  beforeAll(async () => {
    etcd = await startEtcdCluster(1);
    const prefix = `ready-${randomBytes(4).toString("hex")}/`;
    t = await startTestNode("mongo", {
      env: { ...FAST_PROBES, ...CLUSTER_NO_AUTH, ETCD_ENDPOINTS: etcd.endpoints.join(","), ETCD_TTL_MS: "2000", ETCD_PREFIX: prefix },
    });
  });
  afterAll(async () => {
    await t?.stop();
    await etcd?.stop();
  });

  it("answers 503 and NOT_SERVING with etcd named while etcd is down, then recovers", async () => {
    expect(await ready(t.baseUrl)).toEqual({ status: 200, body: { status: "ready", checks: { startup: "ok", store: "ok", etcd: "ok" } } });
    const watch = watchHealth(t.baseUrl, "cronmesh.v1.CronService");
    try {
      await etcd.members[0]!.stop();
      const down = await readyBecomes(t.baseUrl, 503);
      expect(down.body.reason).toMatch(/^etcd unreachable: /);
      expect(down.body.checks).toMatchObject({ startup: "ok", store: "ok" });
      expect((await healthClient(t.baseUrl).check({ service: "" })).status).toBe(ServingStatus.NOT_SERVING);
      await etcd.members[0]!.start();
      expect((await readyBecomes(t.baseUrl, 200)).body.checks.etcd).toBe("ok");
      await vi.waitFor(() => expect(watch.statuses).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING, ServingStatus.SERVING]), { timeout: 5000 });
    } finally {
      watch.close();
    }
  }, 60_000);
});

describe("readiness during start-up and shutdown", () => {
  it("is 503 'start-up not finished' while the node waits for etcd; health answers, cronmesh calls are Unavailable", async () => {
    const etcd = await startEtcdCluster(1);
    await etcd.members[0]!.stop();
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const env = {
      ...FAST_PROBES,
      ...CLUSTER_NO_AUTH,
      PORT: String(port),
      ETCD_ENDPOINTS: etcd.endpoints.join(","),
      ETCD_TTL_MS: "2000",
      ETCD_PREFIX: `boot-${randomBytes(4).toString("hex")}/`,
    };
    const starting = startTestNode("mongo", { env });
    let t: TestNode | undefined;
    try {
      const early = await readyBecomes(baseUrl, 503);
      expect(early.body).toMatchObject({ status: "not_ready", reason: "start-up not finished", checks: { startup: "start-up not finished" } });
      expect((await fetch(`${baseUrl}/health`)).status).toBe(200);
      expect((await healthClient(baseUrl).check({ service: "" })).status).toBe(ServingStatus.NOT_SERVING);
      const refused = await clientsFor(baseUrl)
        .cron.listJobs({})
        .catch((err: unknown) => ConnectError.from(err));
      expect(refused).toBeInstanceOf(ConnectError);
      expect((refused as ConnectError).code).toBe(Code.Unavailable);
      expect((refused as ConnectError).rawMessage).toMatch(/^starting/);
      await etcd.members[0]!.start();
      t = await starting;
      expect((await ready(baseUrl)).status).toBe(200);
      expect((await clientsFor(baseUrl).cron.listJobs({})).data).toEqual([]);
    } finally {
      await (t ?? (await starting.catch(() => undefined)))?.stop();
      await etcd.stop();
    }
  }, 60_000);

  it("turns NOT_SERVING for watchers at shutdown and ends their streams", async () => {
    const t = await startTestNode("sqlite", { env: FAST_PROBES });
    const watch = watchHealth(t.baseUrl);
    await vi.waitFor(() => expect(watch.statuses).toEqual([ServingStatus.SERVING]), { timeout: 5000 });
    await t.stop();
    expect(await watch.ended).toBe("ended");
    expect(watch.statuses).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
  });
});
