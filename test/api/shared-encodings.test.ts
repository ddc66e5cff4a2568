import { create, fromBinary, toBinary, toJson, type DescMessage, type Message } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ListJobsResponseSchema } from "../../gen/cronmesh/v1/cron_service_pb.js";
import { JobSchema } from "../../gen/cronmesh/v1/job_pb.js";
import { jobToProto, sharedJobProto } from "../../src/api/job-mapper.js";
import { binaryBytes, CONNECT_JSON, jsonText, type JsonForm } from "../../src/api/shared-encodings.js";
import { REST_JSON } from "../../src/api/rest/json-codec.js";
import type { JobRecord } from "../../src/domain/job.js";
import { deepFreeze } from "../../src/runtime/deep-freeze.js";
import { makeJob, makeSpec, T0 } from "../support/fixtures.js";

/** A job as the embedded store reads it: its spec frozen (shared between reads of one document). */
function storedJob(overrides: Partial<JobRecord> = {}): JobRecord {
  return makeJob("j_1", { spec: deepFreeze(makeSpec({ target: { ...makeSpec().target!, auth: { kind: "bearer", token: "inline-token" } } })), ...overrides });
}

/** Each input of a job's proto but its spec, changed one at a time. */
const CHANGES: [string, (j: JobRecord) => JobRecord][] = [
  ["job id", (j) => ({ ...j, jobId: "j_2" })],
  ["status", (j) => ({ ...j, status: "paused" })],
  ["pause note", (j) => ({ ...j, pauseNote: "maintenance" })],
  ["version", (j) => ({ ...j, version: 2 })],
  ["created at", (j) => ({ ...j, createdAt: T0 + 1 })],
  ["created by", (j) => ({ ...j, createdBy: "bob" })],
  ["updated at", (j) => ({ ...j, updatedAt: T0 + 1 })],
  ["updated by", (j) => ({ ...j, updatedBy: "bob" })],
  ["next trigger", (j) => ({ ...j, nextTriggerAt: undefined })],
  ["last triggered", (j) => ({ ...j, stats: { ...j.stats, lastTriggeredAt: T0 } })],
  ["last duration", (j) => ({ ...j, stats: { ...j.stats, lastRunDurationMs: 12 } })],
  ["run count", (j) => ({ ...j, stats: { ...j.stats, runCount: 1 } })],
  ["fail count", (j) => ({ ...j, stats: { ...j.stats, failCount: 1 } })],
  ["skipped count", (j) => ({ ...j, stats: { ...j.stats, skippedCount: 1 } })],
  ["dropped count", (j) => ({ ...j, stats: { ...j.stats, droppedCount: 1 } })],
  ["last run status", (j) => ({ ...j, stats: { ...j.stats, lastRunStatus: "failed" } })],
];

/** The job's proto once shared: listed a second time in the same state. */
function listedTwice(job: JobRecord, lockAcquired = false) {
  sharedJobProto(job, lockAcquired);
  const shared = sharedJobProto(job, lockAcquired);
  expect(Object.isFrozen(shared)).toBe(true);
  return shared;
}

describe("sharedJobProto", () => {
  it("is the job's proto (secrets redacted), shared (frozen) from its second listing, and the same message while nothing it shows changed", () => {
    const job = storedJob();
    const first = sharedJobProto(job, false);
    expect(Object.isFrozen(first)).toBe(false);
    const shared = sharedJobProto(job, false);
    expect(shared).not.toBe(first);
    expect(shared).toEqual(jobToProto(job));
    expect(first).toEqual(shared);
    expect(shared.target!.auth!.kind.value).toMatchObject({ token: "[redacted]" });
    expect(Object.isFrozen(shared)).toBe(true);
    expect(() => {
      (shared as { name: string }).name = "changed";
    }).toThrow(TypeError);
    // Another read of the same document: a new record, the same spec.
    expect(sharedJobProto({ ...job, stats: { ...job.stats } }, false)).toBe(shared);
  });

  it.each(CHANGES)("is made anew when the %s changes", (_, change) => {
    const job = storedJob();
    const before = listedTwice(job);
    const changed = change(job);
    const after = sharedJobProto(changed, false);
    expect(Object.isFrozen(after)).toBe(false);
    expect(listedTwice(changed)).toEqual(jobToProto(changed));
    expect(after).not.toEqual(before);
  });

  it("is made anew when the lock changes", () => {
    const job = storedJob();
    expect(listedTwice(job, false).lockAcquired).toBe(false);
    expect(listedTwice(job, true).lockAcquired).toBe(true);
  });

  it("keeps a bounded number of jobs: the oldest listed goes first", () => {
    const first = storedJob();
    const proto = listedTwice(first);
    for (let i = 0; i < 2048; i++) sharedJobProto(storedJob({ jobId: `j_many_${i}` }), false);
    const again = sharedJobProto(first, false);
    expect(Object.isFrozen(again)).toBe(false);
    expect(again).toEqual(proto);
  });

  it("renders a job whose spec is not frozen each time, unfrozen", () => {
    const job = makeJob("j_3");
    const first = sharedJobProto(job, false);
    expect(Object.isFrozen(first)).toBe(false);
    expect(sharedJobProto(job, false)).not.toBe(first);
    expect(first).toEqual(jobToProto(job));
  });
});

/** A form that counts the messages it writes, by type. */
function counting(form: JsonForm): JsonForm & { written: Map<string, number> } {
  const written = new Map<string, number>();
  return {
    written,
    json: (schema: DescMessage, message: Message) => {
      written.set(schema.typeName, (written.get(schema.typeName) ?? 0) + 1);
      return form.json(schema, message);
    },
  };
}

const jobs = () => [storedJob(), storedJob({ jobId: "j_2", stats: { runCount: 3, failCount: 1, skippedCount: 0, droppedCount: 0, lastRunStatus: "failed" } })];

describe.each([
  ["Connect", CONNECT_JSON],
  ["REST", REST_JSON],
])("jsonText, %s form", (_, form) => {
  const responses: [string, () => Message][] = [
    [
      "shared jobs, a page and a token",
      () =>
        create(ListJobsResponseSchema, {
          data: jobs().map((j) => listedTwice(j)),
          pagination: { page: 2, limit: 2, total: 9n },
          nextPageToken: "abc",
        }),
    ],
    ["shared jobs alone", () => create(ListJobsResponseSchema, { data: jobs().map((j) => listedTwice(j, true)) })],
    ["no job", () => create(ListJobsResponseSchema, { pagination: { page: 1, limit: 20, total: 0n } })],
    ["jobs not shared", () => create(ListJobsResponseSchema, { data: jobs().map((j) => jobToProto(j)), nextPageToken: "x" })],
    ["a message without lists", () => jobToProto(storedJob())],
  ];

  it.each(responses)("is JSON.stringify of the form's value: %s", (_, response) => {
    const message = response();
    const schema = message.$typeName === JobSchema.typeName ? JobSchema : ListJobsResponseSchema;
    expect(jsonText(form, schema, message)).toBe(JSON.stringify(form.json(schema, message)));
  });

  it("writes each shared job once, and again once it changed", () => {
    const f = counting(form);
    const [a, b] = jobs();
    const page = (x: JobRecord, y: JobRecord) => create(ListJobsResponseSchema, { data: [listedTwice(x), listedTwice(y)], nextPageToken: "t" });
    const first = jsonText(f, ListJobsResponseSchema, page(a!, b!));
    const again = jsonText(f, ListJobsResponseSchema, page({ ...a! }, { ...b! }));
    expect(again).toBe(first);
    expect(f.written.get(JobSchema.typeName)).toBe(2);
    const ran = { ...a!, stats: { ...a!.stats, runCount: 7 } };
    const changed = jsonText(f, ListJobsResponseSchema, page(ran, b!));
    expect(f.written.get(JobSchema.typeName)).toBe(3);
    expect(changed).toBe(JSON.stringify(form.json(ListJobsResponseSchema, page(ran, b!))));
    expect(changed).not.toBe(first);
  });
});

describe("binaryBytes", () => {
  const page = (list: JobRecord[]) =>
    create(ListJobsResponseSchema, { data: list.map((j) => listedTwice(j)), pagination: { page: 1, limit: 2, total: 2n }, nextPageToken: "t" });

  it.each([
    ["shared jobs", () => page(jobs())],
    ["no job", () => create(ListJobsResponseSchema, { nextPageToken: "t" })],
    ["jobs not shared", () => create(ListJobsResponseSchema, { data: jobs().map((j) => jobToProto(j)) })],
  ])("is toBinary's bytes: %s", (_, response) => {
    const message = response();
    const bytes = binaryBytes(ListJobsResponseSchema, message);
    expect(Buffer.from(bytes).equals(Buffer.from(toBinary(ListJobsResponseSchema, message)))).toBe(true);
    expect(fromBinary(ListJobsResponseSchema, bytes)).toEqual(fromBinary(ListJobsResponseSchema, toBinary(ListJobsResponseSchema, message)));
  });

  it("encodes a job anew once it changed", () => {
    const [a, b] = jobs();
    binaryBytes(ListJobsResponseSchema, page([a!, b!]));
    const ran = { ...a!, stats: { ...a!.stats, runCount: 7 } };
    const decoded = fromBinary(ListJobsResponseSchema, binaryBytes(ListJobsResponseSchema, page([ran, b!])));
    expect(decoded.data.map((j) => j.runCount)).toEqual([7n, 3n]);
  });
});

describe("the Connect form", () => {
  it("writes what connect-es's JSON serialization writes", () => {
    const message = create(ListJobsResponseSchema, { data: jobs().map((j) => listedTwice(j)), nextPageToken: "abc" });
    expect(jsonText(CONNECT_JSON, ListJobsResponseSchema, message)).toBe(JSON.stringify(toJson(ListJobsResponseSchema, message)));
  });
});
