import { describe, expect, it } from "vitest";
import { createSystemClock } from "../../src/runtime/system-clock.js";
import { flush } from "../support/flush.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("system clock alarms", () => {
  const clock = createSystemClock();

  it("fires every alarm, none before its instant", async () => {
    const base = clock.now();
    const fired = await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const at = base + i; // 0 to 39 ms ahead: some within the polled last milliseconds at once
        return new Promise<[number, number]>((resolve) => clock.setAlarm(at, () => resolve([at, clock.now()])));
      }),
    );
    for (const [at, firedAt] of fired) expect(firedAt).toBeGreaterThanOrEqual(at);
  });

  it("fires an alarm whose instant has passed on the next turn", async () => {
    let firedAt = 0;
    clock.setAlarm(clock.now() - 1000, () => (firedAt = clock.now()));
    expect(firedAt).toBe(0);
    await sleep(5);
    expect(firedAt).toBeGreaterThan(0);
  });

  it("never fires a cancelled alarm, far off or within its polled last milliseconds", async () => {
    let fired = 0;
    const early = clock.setAlarm(clock.now() + 50, () => fired++);
    early.cancel();
    const polling = clock.setAlarm(clock.now() + 2, () => fired++);
    await flush();
    polling.cancel();
    await sleep(70);
    expect(fired).toBe(0);
  });
});
