import { describe, expect, it } from "vitest";
import type { RunRecord, RunStatus } from "../../src/domain/run.js";
import { asItStands, matchesSelection, pageOfRuns, runningNow, type RunSelection } from "../../src/domain/run-listing.js";
import { makeRun, T0 } from "../support/fixtures.js";

const run = (i: number, status: RunStatus, extra: Partial<RunRecord> = {}) => makeRun(`run_${i}`, "job_a", T0 + i * 1000, { status, ...extra });
const ids = (runs: RunRecord[]) => runs.map((r) => r.runId);

describe("matchesSelection", () => {
  const r = run(1, "running", { trigger: "manual", projectId: "p" });
  it.each<[string, RunSelection, boolean]>([
    ["an empty selection matches every run", {}, true],
    ["the same job, project, state and trigger", { jobId: "job_a", projectId: "p", status: "running", trigger: "manual" }, true],
    ["another job", { jobId: "job_b" }, false],
    ["another state", { status: "queued" }, false],
    ["another trigger", { trigger: "schedule" }, false],
    ["a range starting at the slot includes it", { scheduledFrom: T0 + 1000 }, true],
    ["a range ending at the slot excludes it", { scheduledTo: T0 + 1000 }, false],
    ["a range ending after the slot includes it", { scheduledFrom: T0, scheduledTo: T0 + 1001 }, true],
  ])("%s", (_name, selection, expected) => {
    expect(matchesSelection(r, selection)).toBe(expected);
  });
});

describe("pageOfRuns", () => {
  const runs = [run(3, "running"), run(1, "running"), run(4, "running"), run(2, "running")];
  it.each<[string, Parameters<typeof pageOfRuns>[1], string[], string | undefined]>([
    ["newest first by default", { pageSize: 10 }, ["run_4", "run_3", "run_2", "run_1"], undefined],
    ["oldest first on request", { pageSize: 10, oldestFirst: true }, ["run_1", "run_2", "run_3", "run_4"], undefined],
    ["a short page says where the next one starts", { pageSize: 2 }, ["run_4", "run_3"], "run_3"],
    ["newest first continues below the cursor", { pageSize: 2, before: "run_3" }, ["run_2", "run_1"], undefined],
    ["oldest first continues above the cursor", { pageSize: 2, after: "run_2", oldestFirst: true }, ["run_3", "run_4"], undefined],
    ["an offset skips matches", { pageSize: 2, offset: 1 }, ["run_3", "run_2"], "run_2"],
    ["an offset past the end gives nothing", { pageSize: 2, offset: 9 }, [], undefined],
  ])("%s", (_name, paging, expected, next) => {
    const page = pageOfRuns(runs, paging);
    expect(ids(page.items)).toEqual(expected);
    expect(page.nextCursor).toBe(next);
    expect(page.total).toBe(4);
  });
});

describe("asItStands", () => {
  it.each<[string, RunStatus, RunStatus | undefined, "live" | "stored"]>([
    ["a live running state wins over a stored queued one", "queued", "running", "live"],
    ["a live final state waits until the store has it", "running", "succeeded", "stored"],
    ["a stored final state is the truth", "cancelled", "running", "stored"],
    ["no live state: the stored one", "running", undefined, "stored"],
  ])("%s", (_name, stored, live, answer) => {
    const s = run(1, stored);
    const l = live && run(1, live, { nodeId: "n2" });
    expect(asItStands(s, l)).toBe(answer === "live" ? l : s);
  });
});

describe("runningNow", () => {
  it.each<[string, RunRecord[], RunRecord[], RunSelection, string[]]>([
    ["runs live and running, not yet stored so", [run(1, "queued")], [run(1, "running")], {}, ["run_1"]],
    ["stored running runs no replica holds (a replica that did not answer)", [run(2, "running")], [], {}, ["run_2"]],
    ["a stored running run whose live state moved on to final is still running until stored", [run(3, "running")], [run(3, "succeeded")], {}, ["run_3"]],
    ["a live run back to queued (a shutdown) is not running", [run(4, "running")], [run(4, "queued")], {}, []],
    ["live runs outside the selection are left out", [], [run(5, "running", { trigger: "backfill" })], { trigger: "manual" }, []],
    ["stored runs outside the selection are left out", [run(6, "running", { jobId: "job_b" })], [], { jobId: "job_a" }, []],
    ["a live final run not stored as running is not running", [], [run(7, "failed")], {}, []],
  ])("%s", (_name, stored, live, selection, expected) => {
    expect(
      ids(
        runningNow(
          stored.filter((r) => r.status === "running"),
          live,
          selection,
        ),
      ).sort(),
    ).toEqual(expected);
  });
});
