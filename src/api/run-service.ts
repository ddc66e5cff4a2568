import type { ServiceImpl } from "@connectrpc/connect";
import { RedriveVersion, RunOrder, RunService } from "../../gen/cronmesh/v1/run_service_pb.js";
import type { RunCommands } from "../app/runs.js";
import { CronError } from "../domain/cron-error.js";
import { actorOf } from "./actor.js";
import { runStatus, runTrigger } from "./enums.js";
import { encodePageToken, pagingOf, type PagingRequest } from "./page-token.js";
import { msOf } from "./time.js";
import type { Page } from "../store/store.js";
import { runToProto } from "./run-mapper.js";
import type { Run } from "../../gen/cronmesh/v1/run_pb.js";
import type { RunRecord } from "../domain/run.js";
import type { RunEvents, RunFilter } from "../scheduler/run-events.js";

/** What the RunService implementation needs. */
export interface RunServiceDeps {
  runs: RunCommands;
  events: RunEvents;
}

/** Most changes buffered for one slow watcher before it is cut off (it can reconnect and list). */
const WATCH_BUFFER = 10_000;

/** Streams run changes matching the filter until the caller goes away. */
async function* watchRuns(events: RunEvents, filter: RunFilter, signal: AbortSignal): AsyncGenerator<{ run: Run }> {
  const buffer: RunRecord[] = [];
  let wake: (() => void) | undefined;
  const off = events.subscribe(filter, (run) => {
    buffer.push(run);
    wake?.();
  });
  const onAbort = () => wake?.();
  signal.addEventListener("abort", onAbort);
  try {
    while (!signal.aborted) {
      if (buffer.length > WATCH_BUFFER) throw new CronError("resource_exhausted", "watcher fell too far behind; reconnect");
      const run = buffer.shift();
      if (run) yield { run: runToProto(run) };
      else await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    off();
    signal.removeEventListener("abort", onAbort);
  }
}

/** The store page a list request asks for, every match counted; the cursor continues in the listing's order. */
function pageOf(req: PagingRequest, oldestFirst: boolean) {
  const { pageSize, cursor, offset } = pagingOf(req);
  return { pageSize, offset, oldestFirst, withTotal: true, ...(oldestFirst ? { after: cursor } : { before: cursor }) };
}

/** A list response: the runs, the token of the next page and the total. */
function listed(page: Page<RunRecord>) {
  return { runs: page.items.map(runToProto), nextPageToken: encodePageToken(page.nextCursor), totalSize: BigInt(page.total ?? 0) };
}

/** Creates the RunService implementation. */
export function createRunService(deps: RunServiceDeps): ServiceImpl<typeof RunService> {
  const { runs } = deps;
  return {
    async getRun(req, ctx) {
      if (!req.runId) throw CronError.invalid("run_id", "is required");
      return { run: runToProto(await runs.get(req.runId, actorOf(ctx))) };
    },

    async listRuns(req, ctx) {
      const oldestFirst = req.order === RunOrder.OLDEST_FIRST;
      const [scheduledFrom, scheduledTo] = [msOf(req.startTime), msOf(req.endTime)];
      if (scheduledFrom !== undefined && scheduledTo !== undefined && scheduledTo <= scheduledFrom)
        throw CronError.invalid("end_time", "must be after start_time");
      const page = await runs.list(
        {
          jobId: req.jobId || undefined,
          projectId: req.projectId || undefined,
          status: req.status ? runStatus.toDomain(req.status) : undefined,
          trigger: req.trigger ? runTrigger.toDomain(req.trigger) : undefined,
          scheduledFrom,
          scheduledTo,
          ...pageOf(req, oldestFirst),
        },
        actorOf(ctx),
      );
      return listed(page);
    },

    async listDeadLetters(req, ctx) {
      const page = await runs.deadLetters(
        {
          jobId: req.jobId || undefined,
          projectId: req.projectId || undefined,
          includeRedriven: req.includeRedriven,
          ...pageOf(req, false),
        },
        actorOf(ctx),
      );
      return listed(page);
    },

    watchRuns: (req, ctx) => watchRuns(deps.events, runs.watchFilter({ jobId: req.jobId, projectId: req.projectId }, actorOf(ctx)), ctx.signal),

    async cancelRun(req, ctx) {
      if (!req.runId) throw CronError.invalid("run_id", "is required");
      return { run: runToProto(await runs.cancel(req.runId, req.reason || "cancelled by request", actorOf(ctx))) };
    },

    async replayRun(req, ctx) {
      if (!req.runId) throw CronError.invalid("run_id", "is required");
      const result = await runs.replay(req.runId, actorOf(ctx));
      return { run: runToProto(result.run), replayOf: req.runId };
    },

    async redriveRun(req, ctx) {
      if (!req.runId) throw CronError.invalid("run_id", "is required");
      const result = await runs.redrive(req.runId, req.version === RedriveVersion.ORIGINAL ? "original" : "current", actorOf(ctx));
      return { run: runToProto(result.run), redriveOf: req.runId };
    },
  };
}
