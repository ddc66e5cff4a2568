/** Where a node is in its life: serving only while `running`. */
export type LifePhase = "starting" | "running" | "stopping";

/** The last probe of one dependency (`store`, `etcd`): absent `error` means it answered. */
export interface ProbeResult {
  name: string;
  error?: string;
}

/** Whether a node should receive traffic, and why not. */
export interface Readiness {
  ready: boolean;
  phase: LifePhase;
  /** Why the node is not ready (every cause, `; `-separated); absent when ready. */
  reason?: string;
  /** One entry per check: `startup`, then each dependency; "ok" or what is wrong. */
  checks: Record<string, string>;
}

const PHASE_PROBLEM: Record<LifePhase, string | undefined> = {
  starting: "start-up not finished",
  running: undefined,
  stopping: "shutting down",
};

/**
 * Decides readiness from the life phase and the last probe of every dependency: ready only while
 * running with every dependency answering. The reason names every cause, the phase first.
 */
export function assessReadiness(phase: LifePhase, probes: readonly ProbeResult[]): Readiness {
  const problems: string[] = [];
  const phaseProblem = PHASE_PROBLEM[phase];
  const checks: Record<string, string> = { startup: phaseProblem ?? "ok" };
  if (phaseProblem) problems.push(phaseProblem);
  for (const probe of probes) {
    checks[probe.name] = probe.error === undefined ? "ok" : `unreachable: ${probe.error}`;
    if (probe.error !== undefined) problems.push(`${probe.name} unreachable: ${probe.error}`);
  }
  const ready = problems.length === 0;
  return ready ? { ready, phase, checks } : { ready, phase, reason: problems.join("; "), checks };
}

/** True when two readiness answers say the same (a change worth telling watchers about). */
export function sameReadiness(a: Readiness, b: Readiness): boolean {
  return a.ready === b.ready && a.phase === b.phase && a.reason === b.reason;
}
