// What tracing costs while it is off (no OTEL_EXPORTER_OTLP_ENDPOINT): the per-run and per-attempt
// wrappers timed against calling the wrapped work directly (npm run bench:tracing-off).
// The fire benchmark cannot show a cost this small: on a shared 2-core machine its runs vary by
// more than ±20% from one to the next.
import type { RunRecord } from "../src/domain/run.js";
import { traceAttempt } from "../src/telemetry/attempt-tracing.js";
import { continuedTrace, createFireTraces, traceRun } from "../src/telemetry/run-tracing.js";

/** Calls per measurement: enough for a stable ns/op, short enough to finish in a few seconds. */
const N = 1_000_000;

const run: RunRecord = {
  runId: "run_1",
  jobId: "job_1",
  jobVersion: 1,
  projectId: "",
  slotKey: "2026-01-01T00:00:00.000Z",
  scheduledAt: 0,
  dueAt: 0,
  trigger: "schedule",
  status: "queued",
  attempts: [],
  result: "",
  error: "",
  nodeId: "n",
  traceId: "",
  replayOf: "",
  redriveOf: "",
  taskResults: [],
  createdAt: 0,
  updatedAt: 0,
  revision: 1,
};
const outcome = { record: { number: 1, startedAt: 0, statusCode: 200, error: "", responseExcerpt: "", durationMs: 0 }, ok: true };
const target = { url: "http://127.0.0.1:9000/x?token=t", method: "POST" };
const ctx = { runId: "run_1", jobId: "job_1", scheduledAt: 0, attempt: 1 };

async function nsPerOp(fn: () => unknown): Promise<number> {
  for (let i = 0; i < N / 10; i++) await fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await fn();
  return Number(process.hrtime.bigint() - start) / N;
}

const cases: [string, () => unknown, () => unknown][] = [
  ["run (traceRun)", () => Promise.resolve(run), () => traceRun(run, undefined, () => Promise.resolve(run))],
  ["attempt (traceAttempt)", () => Promise.resolve(outcome), () => traceAttempt(target, ctx, () => Promise.resolve(outcome))],
  [
    "fired slot (start + end)",
    () => ({ ...run }),
    () => {
      const traces = createFireTraces("n", 0);
      traces.end({ ...run, ...traces.start(run) }, "queued");
    },
  ],
  ["manual run (continuedTrace)", () => ({ ...run }), () => ({ ...run, ...continuedTrace() })],
];
for (const [name, bare, traced] of cases) {
  const [b, t] = [await nsPerOp(bare), await nsPerOp(traced)];
  console.log(
    `${name.padEnd(28)} bare ${b.toFixed(0).padStart(5)} ns/op   with tracing off ${t.toFixed(0).padStart(5)} ns/op   cost ${(t - b).toFixed(0).padStart(5)} ns`,
  );
}
