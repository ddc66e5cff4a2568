/**
 * A young-generation garbage collection (a V8 scavenge) run on demand, when the runtime exposes
 * one (`node --expose-gc`, as `npm start` runs the service); undefined otherwise.
 *
 * The run worker calls it shortly before a held slot is due, while nothing is sending: the
 * scavenge then runs while the node is idle, and the slot's requests leave with an empty young
 * generation, which their allocations do not fill. Left to itself V8 scavenges whenever the young
 * generation fills, 2–8 ms pauses that fell inside about a third of a busy second's sends.
 */
export function youngCollector(): (() => void) | undefined {
  const gc = (globalThis as { gc?: (options: { type: "minor" }) => void }).gc;
  if (typeof gc !== "function") return undefined;
  return () => gc({ type: "minor" });
}
