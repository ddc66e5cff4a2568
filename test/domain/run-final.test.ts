import { describe, expect, it } from "vitest";
import { finalState, type Outcome } from "../../src/domain/run-final.js";

const ok: Outcome = { ok: true, cancelled: false, error: "" };
const failed: Outcome = { ok: false, cancelled: false, error: "HTTP 503" };
const cancelled: Outcome = { ok: false, cancelled: true, error: "aborted" };

describe("finalState", () => {
  it.each<[string, Outcome | undefined, string, boolean, ReturnType<typeof finalState>]>([
    ["work that succeeded ends succeeded", ok, "", false, { status: "succeeded", error: "", result: "succeeded" }],
    [
      "work that failed ends failed, in the dead-letter queue",
      failed,
      "",
      false,
      { status: "failed", error: "HTTP 503", result: "failed; in the dead-letter queue" },
    ],
    ["a cancel ends cancelled with its reason", cancelled, "job paused", false, { status: "cancelled", error: "job paused", result: "cancelled" }],
    ["a cancel without a reason says cancelled", cancelled, "", false, { status: "cancelled", error: "cancelled", result: "cancelled" }],
    ["no outcome (job gone before the start) ends cancelled", undefined, "", false, { status: "cancelled", error: "job was deleted", result: "cancelled" }],
    ["a failure of a deleted job's run is no dead letter", failed, "", true, { status: "cancelled", error: "job was deleted", result: "cancelled" }],
    ["a success stays a success even if the job was deleted meanwhile", ok, "", true, { status: "succeeded", error: "", result: "succeeded" }],
  ])("%s", (_name, outcome, reason, deleted, expected) => {
    expect(finalState(outcome, reason, deleted)).toEqual(expected);
  });
});
