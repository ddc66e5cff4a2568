// Stored jobs for the API and million-jobs benchmarks, written through the Store port itself
// (as CreateJob writes them, minus the RPC): a million jobs through the API would take longer
// than the measurement. Each job is built as CreateJob builds it (proto → spec → normalised spec
// → first slot), from the compiled service.
import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { JobSchema } from "../gen/cronmesh/v1/job_pb.js";
import type { JobRecord } from "../src/domain/job.js";
import type { Store } from "../src/store/store.js";

const service = process.env.BENCH_SOURCE === "1" ? "../src" : "../dist/src";
const { specFromProto } = (await import(`${service}/api/job-mapper.js`)) as typeof import("../src/api/job-mapper.js");
const { normalizeSpec } = (await import(`${service}/domain/job-validation.js`)) as typeof import("../src/domain/job-validation.js");
const { initialState } = (await import(`${service}/domain/lifecycle.js`)) as typeof import("../src/domain/lifecycle.js");
const { createOutboundPolicy } = (await import(`${service}/domain/outbound-policy.js`)) as typeof import("../src/domain/outbound-policy.js");
const { createIdGenerator } = (await import(`${service}/domain/ids.js`)) as typeof import("../src/domain/ids.js");
const { emptyStats } = (await import(`${service}/domain/job.js`)) as typeof import("../src/domain/job.js");

/** Teams named in the `team` tag: a filter on one matches a tenth of the jobs. */
export const TEAMS = ["billing", "search", "growth", "infra", "mail", "ledger", "ads", "auth", "data", "web"];
/** One job in this many is tagged `tier=gold` and named with {@link RARE_WORD}: the rare filters. */
export const RARE_EVERY = 1000;
/** The word of the rare text filter. */
export const RARE_WORD = "quarterly";
/** One job in this many is paused: the rare status filter. */
export const PAUSED_EVERY = 100;

/** Seeded PRNG (mulberry32) so every run stores the same jobs. */
export function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Options of {@link seedJobs}. */
export interface SeedOptions {
  /** The target of every job. */
  sinkUrl: string;
  /** Jobs written at once (one store call each, this many in flight). */
  concurrency?: number;
  /** Called every 50,000 jobs. */
  progress?: (done: number) => void;
}

/**
 * The `i`-th bench job: a daily schedule at a random second of the day (a million jobs then fire
 * about 11.6 a second), tags `team` (one of ten) and, for one in {@link RARE_EVERY}, `tier=gold`,
 * a name and a description to search, one in {@link PAUSED_EVERY} paused.
 */
export function benchJobSpec(i: number, rnd: () => number, sinkUrl: string) {
  const second = Math.floor(rnd() * 86_400);
  const schedule = `${second % 60} ${Math.floor(second / 60) % 60} ${Math.floor(second / 3600)} * * *`;
  const rare = i % RARE_EVERY === 0;
  const team = TEAMS[i % TEAMS.length]!;
  return create(JobSchema, {
    name: `${rare ? `${RARE_WORD} ` : ""}report ${team} ${String(i).padStart(7, "0")}`,
    description: `Sends the ${team} digest to the reporting service (bench job ${i}).`,
    tags: rare ? { team, tier: "gold" } : { team },
    schedule,
    target: { url: `${sinkUrl}/j/${i}` },
  });
}

/** Writes `n` bench jobs to the store; returns their ids in creation order. */
export async function seedJobs(store: Store, n: number, options: SeedOptions): Promise<string[]> {
  const outbound = createOutboundPolicy();
  const clock = { now: () => Date.now() } as Parameters<typeof createIdGenerator>[0];
  const ids = createIdGenerator(clock, randomBytes);
  const rnd = prng(7);
  const jobIds: string[] = new Array<string>(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const job = recordOf(i, benchJobSpec(i, rnd, options.sinkUrl), ids("job"), outbound);
      jobIds[i] = job.jobId;
      await store.createJob(job);
      if ((i + 1) % 50_000 === 0) options.progress?.(i + 1);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 1 }, worker));
  return jobIds;
}

function recordOf(i: number, proto: ReturnType<typeof benchJobSpec>, jobId: string, outbound: ReturnType<typeof createOutboundPolicy>): JobRecord {
  const spec = normalizeSpec(specFromProto(proto), outbound);
  const now = Date.now();
  const enabled = i % PAUSED_EVERY !== PAUSED_EVERY - 1;
  const { status, nextTriggerAt } = initialState(spec, enabled, now);
  return {
    jobId,
    spec,
    status,
    pauseNote: "",
    version: 1,
    createdAt: now,
    createdBy: "bench",
    updatedAt: now,
    updatedBy: "bench",
    changeReason: "create",
    nextTriggerAt,
    stats: emptyStats(),
  };
}
