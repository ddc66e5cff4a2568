import { describe, expect, it } from "vitest";
import { CronError } from "../../src/domain/cron-error.js";
import { createMetrics } from "../../src/telemetry/metrics.js";

describe("metrics scraped while the store is down", () => {
  it("still render, the dead-letter depth keeping its last value", async () => {
    let storeUp = true;
    const metrics = createMetrics({
      deadLetterDepth: async () => {
        if (!storeUp) throw new CronError("unavailable", "database unavailable");
        return 7;
      },
      queueDepth: () => 3,
      isLeader: () => true,
    });
    expect((await metrics.render()).body).toMatch(/^cronmesh_dead_letter_depth 7$/m);
    storeUp = false;
    const { body } = await metrics.render();
    expect(body).toMatch(/^cronmesh_dead_letter_depth 7$/m);
    expect(body).toMatch(/^cronmesh_queue_depth 3$/m);
  });
});
