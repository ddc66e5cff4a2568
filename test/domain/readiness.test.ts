import { describe, expect, it } from "vitest";
import { assessReadiness, sameReadiness, type LifePhase, type ProbeResult, type Readiness } from "../../src/domain/readiness.js";

const STORE_OK: ProbeResult = { name: "store" };
const ETCD_OK: ProbeResult = { name: "etcd" };
const STORE_DOWN: ProbeResult = { name: "store", error: "connect ECONNREFUSED" };
const ETCD_DOWN: ProbeResult = { name: "etcd", error: "no answer within 2500 ms" };

describe("assessReadiness", () => {
  const cases: [string, LifePhase, ProbeResult[], Readiness][] = [
    [
      "running with every dependency answering is ready",
      "running",
      [STORE_OK, ETCD_OK],
      { ready: true, phase: "running", checks: { startup: "ok", store: "ok", etcd: "ok" } },
    ],
    ["running single-node with its store answering is ready", "running", [STORE_OK], { ready: true, phase: "running", checks: { startup: "ok", store: "ok" } }],
    [
      "running with the store down is not ready, and says why",
      "running",
      [STORE_DOWN, ETCD_OK],
      {
        ready: false,
        phase: "running",
        reason: "store unreachable: connect ECONNREFUSED",
        checks: { startup: "ok", store: "unreachable: connect ECONNREFUSED", etcd: "ok" },
      },
    ],
    [
      "running with etcd down is not ready",
      "running",
      [STORE_OK, ETCD_DOWN],
      {
        ready: false,
        phase: "running",
        reason: "etcd unreachable: no answer within 2500 ms",
        checks: { startup: "ok", store: "ok", etcd: "unreachable: no answer within 2500 ms" },
      },
    ],
    [
      "running with both down names both, in probe order",
      "running",
      [STORE_DOWN, ETCD_DOWN],
      {
        ready: false,
        phase: "running",
        reason: "store unreachable: connect ECONNREFUSED; etcd unreachable: no answer within 2500 ms",
        checks: { startup: "ok", store: "unreachable: connect ECONNREFUSED", etcd: "unreachable: no answer within 2500 ms" },
      },
    ],
    [
      "starting before any probe is not ready",
      "starting",
      [],
      { ready: false, phase: "starting", reason: "start-up not finished", checks: { startup: "start-up not finished" } },
    ],
    [
      "starting is not ready even with every dependency answering",
      "starting",
      [STORE_OK],
      { ready: false, phase: "starting", reason: "start-up not finished", checks: { startup: "start-up not finished", store: "ok" } },
    ],
    [
      "starting with the store down names the phase first",
      "starting",
      [STORE_DOWN],
      {
        ready: false,
        phase: "starting",
        reason: "start-up not finished; store unreachable: connect ECONNREFUSED",
        checks: { startup: "start-up not finished", store: "unreachable: connect ECONNREFUSED" },
      },
    ],
    [
      "stopping is not ready even with every dependency answering",
      "stopping",
      [STORE_OK, ETCD_OK],
      { ready: false, phase: "stopping", reason: "shutting down", checks: { startup: "shutting down", store: "ok", etcd: "ok" } },
    ],
  ];
  it.each(cases)("%s", (_name, phase, probes, expected) => {
    expect(assessReadiness(phase, probes)).toEqual(expected);
  });
});

describe("sameReadiness", () => {
  it.each([
    ["the same answer twice is the same", assessReadiness("running", [STORE_OK]), assessReadiness("running", [STORE_OK]), true],
    ["ready against not ready differs", assessReadiness("running", [STORE_OK]), assessReadiness("running", [STORE_DOWN]), false],
    ["another reason differs", assessReadiness("running", [STORE_DOWN]), assessReadiness("running", [{ name: "store", error: "EPIPE" }]), false],
    ["another phase differs", assessReadiness("starting", []), assessReadiness("stopping", []), false],
  ])("%s", (_name, a, b, same) => {
    expect(sameReadiness(a, b)).toBe(same);
  });
});
