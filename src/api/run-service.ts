import type { ServiceImpl } from "@connectrpc/connect";
import { RunService } from "../../gen/cronmesh/v1/run_service_pb.js";
import type { RunCommands } from "../app/runs.js";
import { CronError } from "../domain/cron-error.js";
import type { Store } from "../store/store.js";
import { runStatus } from "./enums.js";
import { decodePageToken, encodePageToken, pageSize } from "./page-token.js";
import { runToProto } from "./run-mapper.js";
import { unimplemented } from "./unimplemented.js";

/** What the RunService implementation needs. */
export interface RunServiceDeps {
  runs: RunCommands;
  store: Store;
}

/** Creates the RunService implementation. */
export function createRunService(deps: RunServiceDeps): ServiceImpl<typeof RunService> {
  const { runs, store } = deps;
  return {
    async getRun(req) {
      if (!req.runId) throw CronError.invalid("run_id", "is required");
      return { run: runToProto(await runs.get(req.runId)) };
    },

    async listRuns(req) {
      const page = await store.listRuns({
        jobId: req.jobId || undefined,
        projectId: req.projectId || undefined,
        status: req.status ? runStatus.toDomain(req.status) : undefined,
        pageSize: pageSize(req.pageSize, "page_size"),
        before: decodePageToken(req.pageToken),
      });
      return { runs: page.items.map(runToProto), nextPageToken: encodePageToken(page.nextCursor) };
    },

    async listDeadLetters(req) {
      const page = await store.listDeadLetters({
        jobId: req.jobId || undefined,
        projectId: req.projectId || undefined,
        pageSize: pageSize(req.pageSize, "page_size"),
        before: decodePageToken(req.pageToken),
      });
      return { runs: page.items.map(runToProto), nextPageToken: encodePageToken(page.nextCursor) };
    },

    watchRuns: unimplemented("WatchRuns", "the scheduling engine"),
    cancelRun: unimplemented("CancelRun", "the scheduling engine"),
    replayRun: unimplemented("ReplayRun", "the scheduling engine"),
    redriveRun: unimplemented("RedriveRun", "the scheduling engine"),
  };
}
