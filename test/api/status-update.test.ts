import { describe, expect, it } from "vitest";
import { statusAfter, type AskedStatus } from "../../src/api/status-update.js";
import type { JobStatus } from "../../src/domain/job.js";

/** [case, current status, what the update names, status after (undefined: unchanged) or the field refused] */
const CASES: [string, JobStatus, AskedStatus, JobStatus | undefined | { refused: string }][] = [
  ["naming neither leaves the status", "active", {}, undefined],
  ["enabled false pauses an active job", "active", { enabled: false }, "paused"],
  ["enabled true resumes a paused job", "paused", { enabled: true }, "active"],
  ["enabled true on an active job changes nothing", "active", { enabled: true }, undefined],
  ["status paused pauses", "active", { status: "paused" }, "paused"],
  ["status cancelled cancels", "active", { status: "cancelled" }, "cancelled"],
  ["a copied status with a changed enabled: enabled wins (the read-modify-write PUT)", "active", { status: "active", enabled: false }, "paused"],
  ["a copied enabled with a changed status: status wins", "active", { status: "paused", enabled: true }, "paused"],
  ["a copied enabled with a changed status on a paused job", "paused", { status: "active", enabled: false }, "active"],
  ["both copied change nothing", "paused", { status: "paused", enabled: false }, undefined],
  ["both changed and agreeing", "paused", { status: "active", enabled: true }, "active"],
  ["both changed and agreeing on a job that is not active", "active", { status: "cancelled", enabled: false }, "cancelled"],
  ["both changed and disagreeing is refused naming enabled", "paused", { status: "cancelled", enabled: true }, { refused: "enabled" }],
  ["paused and enabled on a cancelled job is refused naming enabled", "cancelled", { status: "paused", enabled: true }, { refused: "enabled" }],
  ["enabled true on a completed job asks for active (the use case decides)", "completed", { enabled: true }, "active"],
  ["a copied completed status is no change", "completed", { status: "completed", enabled: false }, undefined],
  ["setting completed is refused naming status", "active", { status: "completed" }, { refused: "status" }],
];

describe("statusAfter: enabled and status never disagree silently", () => {
  it.each(CASES)("%s", (_name, current, asked, expected) => {
    if (typeof expected === "object") {
      expect(() => statusAfter(current, asked)).toThrow(expect.objectContaining({ code: "invalid_argument", field: expected.refused }));
    } else {
      expect(statusAfter(current, asked)).toBe(expected);
    }
  });
});
