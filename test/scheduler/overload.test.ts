import { describe, expect, it } from "vitest";
import { createOverload, type QueueSource } from "../../src/scheduler/overload.js";
import { memoryLogger } from "../harness/memory-logger.js";
import { createFakeClock } from "../support/fake-clock.js";
import { testMetrics } from "../support/metrics.js";

const T0 = Date.parse("2026-03-01T12:00:00Z");

/** A run queue as the monitor reads it, moved by hand. */
function queue() {
  const q = { waiting: 0, jobs: 0, oldest: undefined as number | undefined, started: 0, saturated: false };
  const source: QueueSource = {
    waiting: () => q.waiting,
    jobCount: () => q.jobs,
    hasJob: () => false,
    oldestWaitingDueAt: () => q.oldest,
    takeStarts() {
      const out = { started: q.started, saturated: q.saturated };
      q.started = 0;
      return out;
    },
  };
  return { q, source };
}

function setUp(maxQueuedRuns?: number) {
  const clock = createFakeClock(T0);
  const { q, source } = queue();
  const logs = memoryLogger("warn");
  const overload = createOverload({ clock, queue: () => source, metrics: testMetrics(), log: logs.log, options: { maxQueuedRuns, concurrency: 256 } });
  return { clock, q, logs, overload };
}

describe("overload monitor (fake clock)", () => {
  it("bounds the queue at 10,000 runs before any measurement, then at one second of the measured start rate", () => {
    const { clock, q, overload } = setUp();
    expect(overload.load().queueBound).toBe(10_000);
    q.waiting = 2500;
    expect(overload.room()).toBe(7500);
    expect(overload.expectedWaitMs()).toBe(250);
    // A quarter-second in which runs waited all along and 1,000 started: 4,000 a second.
    q.started = 1000;
    q.saturated = true;
    clock.advance(250);
    expect(overload.load()).toMatchObject({ startRate: 4000, queueBound: 4000 });
    expect(overload.room()).toBe(1500);
    expect(overload.expectedWaitMs()).toBe(625);
    // Later samples move the rate a fifth of the way.
    q.started = 250;
    clock.advance(250);
    expect(overload.load().startRate).toBe(3400);
  });

  it("learns nothing from a period in which the pool ran dry: it then started what it was given, not what it can", () => {
    const { clock, q, overload } = setUp();
    q.started = 20;
    q.saturated = false;
    clock.advance(250);
    expect(overload.load()).toMatchObject({ startRate: 0, queueBound: 10_000 });
  });

  it("forgets a rate once the pool ran dry in every sample for five seconds, and keeps one measured again meanwhile", () => {
    const { clock, q, overload } = setUp();
    // A burst measures 800 runs a second.
    q.started = 200;
    q.saturated = true;
    clock.advance(250);
    expect(overload.load().startRate).toBe(800);
    // Then 1,000 runs a second are staged ahead of their due time (held: waiting), and all start
    // at once when due; the pool runs dry every second.
    q.saturated = false;
    q.waiting = 800;
    clock.advance(4500);
    expect(overload.expectedWaitMs()).toBe(1000);
    // Saturated once more within five seconds: the rate stays, as measured.
    q.started = 250;
    q.saturated = true;
    clock.advance(250);
    q.saturated = false;
    clock.advance(4750);
    expect(overload.load().startRate).toBe(840);
    clock.advance(250);
    expect(overload.load()).toMatchObject({ startRate: 0, queueBound: 10_000 });
    expect(overload.expectedWaitMs()).toBe(80);
  });

  it("never bounds the queue under one pool of workers, and takes MAX_QUEUED_RUNS as it is", () => {
    const slow = setUp();
    slow.q.started = 5;
    slow.q.saturated = true;
    slow.clock.advance(250);
    expect(slow.overload.load()).toMatchObject({ startRate: 20, queueBound: 256 });
    const fixed = setUp(50);
    fixed.q.started = 5000;
    fixed.q.saturated = true;
    fixed.clock.advance(250);
    expect(fixed.overload.load().queueBound).toBe(50);
  });

  it("says when overload starts and when it ends (five calm seconds later), once each, with the queue's figures", () => {
    const { clock, q, logs, overload } = setUp(100);
    const changes: boolean[] = [];
    overload.onChange((l) => changes.push(l.overloaded));
    q.waiting = 100;
    q.oldest = T0 - 1500;
    overload.held();
    overload.held();
    expect(overload.overloaded).toBe(true);
    clock.advance(3000);
    overload.shed("start_deadline", 3);
    clock.advance(4750);
    expect(overload.overloaded).toBe(true);
    clock.advance(500);
    expect(overload.overloaded).toBe(false);
    expect(changes).toEqual([true, false]);
    const lines = logs.lines();
    expect(lines.map((l) => l.msg)).toEqual([
      "overload: the run queue is full; staging slows, and runs that cannot start by their start deadline are decided by their misfire policy",
      "overload ended: runs start on time again",
    ]);
    expect(lines[0]).toMatchObject({ level: 40, queuedRuns: 100, queueBound: 100, oldestQueuedAgeMs: 1500, cause: "held" });
    expect(lines[1]).toMatchObject({ level: 40, shed: 3 });
    expect(overload.load()).toMatchObject({ overloaded: false, shedTotal: 3 });
  });

  it.each([
    ["staging", "overload: slots were staged too late to start by their start deadline; they are decided by their misfire policy"],
    ["start_deadline", "overload: runs waited past their start deadline; they are decided by their misfire policy"],
  ] as const)("says what started it when runs are shed (%s) while the queue has room, not that the queue is full", (reason, msg) => {
    const { q, logs, overload } = setUp(100);
    q.waiting = 0;
    overload.shed(reason, 5);
    expect(logs.lines()).toEqual([expect.objectContaining({ msg, cause: reason, queuedRuns: 0 })]);
  });

  it("ignores a shed of nothing", () => {
    const { overload } = setUp();
    overload.shed("staging", 0);
    expect(overload.overloaded).toBe(false);
  });
});
