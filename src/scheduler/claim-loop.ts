import type { Coordinator, Lock } from "../coordination/coordinator.js";
import type { Clock, TimerHandle } from "../domain/clock.js";
import type { RunRecord } from "../domain/run.js";
import type { Store } from "../store/store.js";
import type { JobCache } from "./job-cache.js";
import { RUNS_TOPIC, parseAnnouncement, type Announced } from "./run-announcer.js";
import type { RunWorker } from "./run-worker.js";

/** Tuning of the claim loop. */
export interface ClaimLoopOptions {
  /** How often the store is scanned for runs nobody holds (announcements lost, claimants dead). */
  scanMs: number;
  /** Most runs one scan offers. */
  scanLimit: number;
  /**
   * Announced runs beyond this replica's share are claimed only after this delay, so that the
   * replicas split a batch instead of the fastest taking it all.
   */
  spreadMs: number;
}

/** Defaults: a scan every 2 s bounds how long an orphaned run waits; 25 ms lets peers take their share first. */
export const CLAIM_LOOP_DEFAULTS: ClaimLoopOptions = { scanMs: 2000, scanLimit: 1000, spreadMs: 25 };

/** What the claim loop needs. */
export interface ClaimLoopDeps {
  store: Store;
  coordinator: Coordinator;
  worker: RunWorker;
  jobs: JobCache;
  clock: Clock;
  options?: Partial<ClaimLoopOptions>;
  onError: (err: unknown, step: string) => void;
}

/** Takes queued runs for this replica's worker. */
export interface ClaimLoop {
  start(): void;
  stop(): void;
  /** Offers runs to claim (announced, or found by a scan). */
  offer(runs: Announced[]): Promise<void>;
}

/** The claim of a job's runs (exclusive jobs: one replica executes them, in order). */
export function jobClaimKey(jobId: string): string {
  return `claim/job/${jobId}`;
}

/** The claim of one run (jobs whose runs may overlap). */
export function runClaimKey(runId: string): string {
  return `claim/run/${runId}`;
}

/** The claim key guarding a run. */
export function claimKeyOf(run: Announced): string {
  return run.exclusive ? jobClaimKey(run.jobId) : runClaimKey(run.runId);
}

interface Claim {
  lock: Lock;
  /** Runs of this claim waiting or executing here. */
  runs: Set<string>;
}

/**
 * Creates the claim loop. A run is executed by the replica holding its claim: an atomic try-lock
 * held for the holder's lifetime (the etcd adapter ties it to the replica's session lease, so a
 * replica that dies frees its claims after the lease TTL and the next scan re-claims its runs).
 * After claiming, the run is read back from the store and dropped if it was finished meanwhile,
 * so a run is never executed after it reached a final state.
 */
export function createClaimLoop(deps: ClaimLoopDeps): ClaimLoop {
  const opts = { ...CLAIM_LOOP_DEFAULTS, ...deps.options };
  const held = new Map<string, Claim>();
  let scanTimer: TimerHandle | undefined;
  let unsubscribe: (() => void) | undefined;
  let members = 1;

  const release = (key: string, runId: string) => {
    const claim = held.get(key);
    if (!claim?.runs.delete(runId) || claim.runs.size > 0) return;
    held.delete(key);
    void claim.lock.release().catch((err: unknown) => deps.onError(err, "claim release"));
  };
  const submit = (run: RunRecord, exclusive: boolean, key: string, claim: Claim) => {
    if (deps.worker.has(run.runId)) return;
    claim.runs.add(run.runId);
    deps.worker.submit(run, exclusive, () => release(key, run.runId));
  };
  /** Reads the claimed runs back and hands those still active to the worker; empty claims are released. */
  const adopt = async (claimed: Map<string, Lock>, candidates: Announced[]) => {
    const exclusiveJobs = new Set(candidates.filter((c) => c.exclusive && claimed.has(jobClaimKey(c.jobId))).map((c) => c.jobId));
    const claimedRuns = new Set(candidates.filter((c) => !c.exclusive && claimed.has(runClaimKey(c.runId))).map((c) => c.runId));
    const jobIds = [...new Set(candidates.filter((c) => claimed.has(claimKeyOf(c))).map((c) => c.jobId))];
    const active = await deps.store.listActiveRuns({ jobIds, limit: opts.scanLimit * 10 });
    for (const [key, lock] of claimed) held.set(key, { lock, runs: new Set() });
    for (const run of active) {
      if (exclusiveJobs.has(run.jobId)) submit(run, true, jobClaimKey(run.jobId), held.get(jobClaimKey(run.jobId))!);
      else if (claimedRuns.has(run.runId)) submit(run, false, runClaimKey(run.runId), held.get(runClaimKey(run.runId))!);
    }
    const empty = [...claimed.keys()].filter((k) => held.get(k)?.runs.size === 0);
    for (const k of empty) held.delete(k);
    if (empty.length > 0) await deps.coordinator.releaseLocks(empty.map((k) => claimed.get(k)!));
  };
  const claim = async (candidates: Announced[]) => {
    const keys = [...new Set(candidates.map(claimKeyOf))].filter((k) => !held.has(k));
    if (keys.length === 0) return;
    const claimed = await deps.coordinator.tryLocks(keys);
    if (claimed.size > 0) await adopt(claimed, candidates);
  };
  /** Runs of exclusive jobs this replica already holds go straight to the worker, in order. */
  const feedHeld = async (candidates: Announced[]) => {
    const jobIds = [...new Set(candidates.filter((c) => c.exclusive && held.has(jobClaimKey(c.jobId))).map((c) => c.jobId))];
    if (jobIds.length === 0) return;
    for (const run of await deps.store.listActiveRuns({ jobIds, limit: opts.scanLimit * 10 })) {
      const key = jobClaimKey(run.jobId);
      const claim = held.get(key);
      if (claim) submit(run, true, key, claim);
    }
  };
  const offer = async (runs: Announced[]) => {
    const fresh = runs.filter((r) => !deps.worker.has(r.runId));
    await feedHeld(fresh);
    const open = fresh.filter((r) => !held.has(claimKeyOf(r)));
    if (open.length === 0) return;
    const { mine, later } = share(open, members);
    await claim(mine);
    if (later.length > 0) deps.clock.setTimer(opts.spreadMs, () => void claim(later).catch((err) => deps.onError(err, "claim")));
  };
  const scan = async () => {
    members = Math.max(1, (await deps.coordinator.members()).length);
    const active = await deps.store.listActiveRuns({ limit: opts.scanLimit });
    await offer(await announcedOf(deps.jobs, active));
  };
  const scheduleScan = () => {
    scanTimer = deps.clock.setTimer(opts.scanMs, () => {
      void scan()
        .catch((err: unknown) => deps.onError(err, "claim scan"))
        .finally(() => scanTimer && scheduleScan());
    });
  };

  return {
    start() {
      unsubscribe = deps.coordinator.subscribe(RUNS_TOPIC, (message) => {
        void offer(parseAnnouncement(message)).catch((err: unknown) => deps.onError(err, "claim"));
      });
      void scan().catch((err: unknown) => deps.onError(err, "claim scan"));
      scheduleScan();
    },
    stop() {
      unsubscribe?.();
      scanTimer?.cancel();
      scanTimer = undefined;
    },
    offer,
  };
}

/** This replica's share of a batch (a random `1/members` of it) and the rest, to try a little later. */
function share(runs: Announced[], members: number): { mine: Announced[]; later: Announced[] } {
  if (members <= 1) return { mine: runs, later: [] };
  const byKey = new Map<string, Announced[]>();
  for (const r of runs) byKey.set(claimKeyOf(r), [...(byKey.get(claimKeyOf(r)) ?? []), r]);
  const groups = [...byKey.values()];
  for (let i = groups.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [groups[i], groups[j]] = [groups[j]!, groups[i]!];
  }
  const cut = Math.ceil(groups.length / members);
  return { mine: groups.slice(0, cut).flat(), later: groups.slice(cut).flat() };
}

/** Announcements for runs found in the store: exclusivity from the job's current policy. */
async function announcedOf(jobs: JobCache, runs: RunRecord[]): Promise<Announced[]> {
  const out: Announced[] = [];
  for (const run of runs) {
    const job = await jobs.job(run.jobId);
    out.push({ runId: run.runId, jobId: run.jobId, exclusive: (job?.spec.concurrencyPolicy ?? "allow") !== "allow" });
  }
  return out;
}
