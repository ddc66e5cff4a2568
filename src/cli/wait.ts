import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { RunService } from "../../gen/cronmesh/v1/run_service_pb.js";
import { RunStatus, type Run } from "../../gen/cronmesh/v1/run_pb.js";
import { formatDuration } from "../domain/duration.js";
import { enumWord } from "./enum-words.js";

const FINAL: ReadonlySet<RunStatus> = new Set([RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.SKIPPED, RunStatus.CANCELLED, RunStatus.DEAD_LETTERED]);
/** First poll 100 ms after the trigger (most runs of a healthy target are done by then), then slower. */
const FIRST_POLL_MS = 100;
/** Polls at most once a second: a long run costs one call a second. */
const MAX_POLL_MS = 1000;

/** Whether a run has reached a state it never leaves. */
export function isFinal(status: RunStatus): boolean {
  return FINAL.has(status);
}

/**
 * Polls GetRun until the run is final and returns it. Throws DeadlineExceeded when it is still
 * not final after `timeoutMs`, and whatever GetRun throws.
 */
export async function waitForRun(runs: Client<typeof RunService>, runId: string, timeoutMs: number): Promise<Run> {
  const deadline = Date.now() + timeoutMs;
  let delay = FIRST_POLL_MS;
  for (;;) {
    const { run } = await runs.getRun({ runId });
    if (run && isFinal(run.status)) return run;
    if (Date.now() + delay > deadline) {
      const state = run ? enumWord(RunStatus, run.status) : "missing";
      throw new ConnectError(`run ${runId} is still ${state} after ${formatDuration(timeoutMs)}`, Code.DeadlineExceeded);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(MAX_POLL_MS, delay * 2);
  }
}
