import { createMetrics, type Metrics } from "../../src/telemetry/metrics.js";

/** Real metrics on a registry of their own, with fixed sources, for unit tests. */
export function testMetrics(): Metrics {
  return createMetrics({ deadLetterDepth: async () => 0, queueDepth: () => 0, isLeader: () => true });
}
