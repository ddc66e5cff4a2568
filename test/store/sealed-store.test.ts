import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CronError } from "../../src/domain/cron-error.js";
import type { JobRecord, JobSpec } from "../../src/domain/job.js";
import { createSealedStore } from "../../src/store/sealed-store.js";
import { createSecretCipher, keyId, SEALED_PREFIX } from "../../src/store/secret-cipher.js";
import type { Store } from "../../src/store/store.js";
import type { StoreKind } from "../harness/node.js";
import { openStoreForTest } from "../harness/stores.js";
import { makeJob, makeSpec, T0 } from "../support/fixtures.js";

const KEY_1 = randomBytes(32);
const KEY_2 = randomBytes(32);
const sealed = (current?: Buffer, previous: Buffer[] = []) => createSecretCipher({ current, previous });

/** Every kind of inline credential a spec can hold, each a distinct string. */
const PLAIN = {
  bearer: "plain-bearer-1c9e",
  basic: "plain-password-77aa",
  apiKey: "plain-api-key-42f0",
  serviceToken: "plain-service-token-9d01",
  authorization: "Bearer plain-header-5b3c",
  cookie: "session=plain-cookie-e1f4",
};

function specWithSecrets(): JobSpec {
  const base = makeSpec();
  return makeSpec({
    target: {
      ...base.target!,
      headers: { "X-Job": "invoice", Authorization: PLAIN.authorization, Cookie: PLAIN.cookie },
      auth: { kind: "bearer", token: PLAIN.bearer },
    },
    tasks: [
      {
        taskId: "extract",
        name: "Extract",
        dependsOn: [],
        handler: "",
        target: { ...base.target!, auth: { kind: "basic", username: "u", password: PLAIN.basic } },
      },
      {
        taskId: "load",
        name: "Load",
        dependsOn: ["extract"],
        handler: "",
        target: { ...base.target!, auth: { kind: "api_key", key: PLAIN.apiKey, header: "X-API-Key" } },
      },
      {
        taskId: "notify",
        name: "Notify",
        dependsOn: ["load"],
        handler: "",
        target: { ...base.target!, auth: { kind: "service_token", token: PLAIN.serviceToken, header: "X-Service-Token" } },
      },
      {
        taskId: "by-ref",
        name: "By reference",
        dependsOn: [],
        handler: "",
        target: { ...base.target!, auth: { kind: "bearer", token: "secret://ref-token" } },
      },
    ],
  });
}

/** The job's stored text as the adapter holds it, without opening anything. */
async function atRest(adapter: Store, jobId: string): Promise<string> {
  const [job, versions] = await Promise.all([adapter.getJob(jobId), adapter.listJobVersions(jobId, 100)]);
  return JSON.stringify({ job, versions });
}

describe.each<StoreKind>(["sqlite", "mongo"])("secrets at rest on %s", (kind) => {
  let adapter: Store;
  let dispose: () => Promise<void>;
  beforeEach(async () => {
    ({ store: adapter, dispose } = await openStoreForTest(kind));
  });
  afterEach(async () => dispose());

  it("seals every inline credential of the job and its version snapshots, and gives the plain spec back", async () => {
    const store = createSealedStore(adapter, sealed(KEY_1));
    const job = makeJob("job_sealed", {}, specWithSecrets());
    await store.createJob(job);
    await store.updateJob({ ...job, version: 2, spec: { ...job.spec, name: "renamed" } }, 1);
    const text = await atRest(adapter, "job_sealed");
    for (const plain of Object.values(PLAIN)) expect(text).not.toContain(plain.split(" ").pop());
    // Six values, in the job and in each of its two snapshots.
    expect(text.split(`${SEALED_PREFIX}${keyId(KEY_1)}:`).length - 1).toBe(3 * 6);
    expect(text).toContain("secret://ref-token");
    expect(text).toContain('"invoice"');

    const expected = { ...job.spec, name: "renamed" };
    expect((await store.getJob("job_sealed"))?.spec).toEqual(expected);
    expect((await store.getJobs(["job_sealed"]))[0]?.spec).toEqual(expected);
    expect((await store.listJobs({}, { pageSize: 10 })).items[0]?.spec).toEqual(expected);
    expect((await store.listJobsByPage({}, { page: 1, limit: 10 })).items[0]?.spec).toEqual(expected);
    expect((await store.listDueJobs(T0 + 3_600_000, 10))[0]?.spec).toEqual(expected);
    expect((await store.getJobVersion("job_sealed", 1))?.spec).toEqual(job.spec);
    expect((await store.listJobVersions("job_sealed", 10)).map((v) => v.spec.name)).toEqual(["renamed", job.spec.name]);
  });

  it("rotates keys: a previous key still opens, a re-save seals with the new one, a retired key fails naming only its id", async () => {
    await createSealedStore(adapter, sealed(KEY_1)).createJob(makeJob("job_rotated", {}, specWithSecrets()));
    const rotated = createSealedStore(adapter, sealed(KEY_2, [KEY_1]));
    const job = (await rotated.getJob("job_rotated"))!;
    expect(job.spec.target?.auth).toEqual({ kind: "bearer", token: PLAIN.bearer });
    await rotated.updateJob({ ...job, version: 2, status: "paused" }, 1);
    const now = JSON.stringify(await adapter.getJob("job_rotated"));
    expect(now).toContain(`${SEALED_PREFIX}${keyId(KEY_2)}:`);
    expect(now).not.toContain(keyId(KEY_1));
    expect((await rotated.getJobVersion("job_rotated", 1))?.spec.target?.auth).toEqual({ kind: "bearer", token: PLAIN.bearer });

    const retired = createSealedStore(adapter, sealed(KEY_2));
    expect((await retired.getJob("job_rotated"))?.spec.tasks[0]?.target?.auth).toEqual({ kind: "basic", username: "u", password: PLAIN.basic });
    const failure = await retired.getJobVersion("job_rotated", 1).catch((err: unknown) => err as CronError);
    expect(failure).toBeInstanceOf(CronError);
    expect(failure).toMatchObject({ code: "internal", message: expect.stringContaining(keyId(KEY_1)) });
  });

  it("a sealed value copied into another job does not open there", async () => {
    const store = createSealedStore(adapter, sealed(KEY_1));
    await store.createJob(makeJob("job_victim", {}, specWithSecrets()));
    const stolen = (await adapter.getJob("job_victim"))!.spec.target!.auth!;
    // Written through the bare adapter, as someone with access to the database would.
    const attacker: JobRecord = makeJob(
      "job_attacker",
      {},
      makeSpec({ target: { ...makeSpec().target!, url: "http://127.0.0.1:9/exfiltrate", auth: stolen } }),
    );
    await adapter.createJob(attacker);
    await expect(store.getJob("job_attacker")).rejects.toMatchObject({ code: "internal", message: expect.stringContaining("does not open") });
  });

  it("without a key stores values as they are (start-up warns), and refuses values that look sealed", async () => {
    const store = createSealedStore(adapter, sealed());
    await store.createJob(makeJob("job_plain", {}, specWithSecrets()));
    expect(await atRest(adapter, "job_plain")).toContain(PLAIN.bearer);
    expect((await store.getJob("job_plain"))?.spec).toEqual(specWithSecrets());
    const fake = makeSpec({ target: { ...makeSpec().target!, auth: { kind: "bearer", token: `${SEALED_PREFIX}0000:abc` } } });
    await expect(store.createJob(makeJob("job_fake", {}, fake))).rejects.toMatchObject({ code: "invalid_argument", field: "target.auth.bearer.token" });
  });
});
