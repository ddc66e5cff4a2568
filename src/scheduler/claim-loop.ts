import type { Coordinator, Lock } from "../coordination/coordinator.js";
import type { Clock, TimerHandle } from "../domain/clock.js";
import { CronError } from "../domain/cron-error.js";
import { isFinal, type RunRecord } from "../domain/run.js";
import type { Store } from "../store/store.js";
import { createBatcher } from "../runtime/batcher.js";
import type { JobCache } from "./job-cache.js";
import { RUNS_TOPIC, encodeAnnouncement, parseAnnouncement, type Announced } from "./run-dispatcher.js";
import type { RunWorker } from "./run-worker.js";
import { takeFairly } from "./fair-share.js";
import { systemRandom } from "../runtime/random.js";
import type { Overload } from "./overload.js";

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
  /** Claims released or retired within this window share one coordinator call (0: the same event-loop turn). */
  releaseBatchMs: number;
  /**
   * Longest a scan spends adopting the runs it claimed (reading each from the store): the claims
   * not adopted by then are given back and the next scan goes ahead, so a store call that hangs
   * holds neither those runs nor this replica's scans.
   */
  adoptMs: number;
}

/** Defaults: a scan every 2 s bounds how long an orphaned run waits; 25 ms lets peers take their share first. */
export const CLAIM_LOOP_DEFAULTS: ClaimLoopOptions = { scanMs: 2000, scanLimit: 1000, spreadMs: 25, releaseBatchMs: 0, adoptMs: 15_000 };

/**
 * How long the claim of a finished run stays a tombstone: far longer than any offer of the run
 * can be stale (an announcement in flight, a scan that read the run just before it finished), so
 * a finished run is never claimed, nor executed, again.
 */
export const DONE_TOMBSTONE_MS = 60_000;

/** What the claim loop needs. */
export interface ClaimLoopDeps {
  store: Store;
  coordinator: Coordinator;
  worker: RunWorker;
  jobs: JobCache;
  clock: Clock;
  /**
   * This replica's run queue: runs are claimed only while it has room (the rest, taken fairly
   * across jobs, are left to peers and to the next scan). Absent: no bound.
   */
  capacity?: Pick<Overload, "room" | "newJobRoom" | "hasJob" | "held">;
  options?: Partial<ClaimLoopOptions>;
  /** Randomness in [0, 1) for sharing batches among replicas (default: the process's). */
  random?: () => number;
  onError: (err: unknown, step: string) => void;
}

/** Takes queued runs for this replica's worker. */
export interface ClaimLoop {
  start(): void;
  stop(): void;
  /** Offers runs to claim (announced, or found by a scan). */
  offer(runs: Announced[]): Promise<void>;
  /** Resolves once the runs this replica gave back unstarted (it stops) have been offered to its peers. */
  handedBack(): Promise<void>;
}

/** The claim of one run: whoever holds it executes the run. */
export function runClaimKey(runId: string): string {
  return `claim/run/${runId}`;
}

/** The claim of an exclusive job (forbid, replace): one replica executes its runs, in order. */
export function jobClaimKey(jobId: string): string {
  return `claim/job/${jobId}`;
}

interface JobClaim {
  lock: Lock;
  /** Runs of the job waiting or executing here. */
  runs: Set<string>;
  /** Claims of the job's runs under way here (see withJobClaims): the job claim stays while any is. */
  claiming: number;
}

/**
 * Creates the claim loop. A run executes on the replica holding its claim: an atomic try-lock
 * held for the holder's lifetime (the etcd adapter ties it to the replica's session lease, so a
 * replica that dies frees its claims after the lease TTL, and the next scan re-claims its runs).
 * Runs of exclusive jobs also need their job's claim, so they never run on two replicas at once.
 * When a run is final its claim becomes a tombstone, so no late offer can start it again.
 */
export function createClaimLoop(deps: ClaimLoopDeps): ClaimLoop {
  const opts = { ...CLAIM_LOOP_DEFAULTS, ...deps.options };
  const runClaims = new Map<string, Lock>();
  const jobClaims = new Map<string, JobClaim>();
  let scanTimer: TimerHandle | undefined;
  let unsubscribe: (() => void) | undefined;
  let members = 1;
  const later = { delayMs: opts.releaseBatchMs, clock: deps.clock };
  const retire = createBatcher(async (locks: Lock[]) => {
    await deps.coordinator.retireLocks(locks, DONE_TOMBSTONE_MS);
    return locks.map(() => undefined);
  }, later);
  const release = createBatcher(async (locks: Lock[]) => {
    await deps.coordinator.releaseLocks(locks);
    return locks.map(() => undefined);
  }, later);
  const handBack = createBatcher(async (offers: Announced[]) => {
    await deps.coordinator.publish(RUNS_TOPIC, encodeAnnouncement(offers));
    return offers.map(() => undefined);
  }, later);
  const quietly = (p: Promise<unknown>, step: string) => void p.catch((err: unknown) => deps.onError(err, step));
  const handingBack = new Set<Promise<unknown>>();

  const finished = (run: RunRecord, exclusive: boolean, settled: boolean) => {
    const lock = runClaims.get(run.runId);
    runClaims.delete(run.runId);
    if (lock && settled) quietly(retire(lock), "claim release");
    // Handed back unstarted (this replica stops): once the claim is free, peers are told at once,
    // so a run staged for a slot a moment away still starts on time elsewhere.
    if (lock && !settled) {
      const handing = release(lock).then(() => handBack({ run, exclusive }));
      handingBack.add(handing);
      quietly(
        handing.finally(() => handingBack.delete(handing)),
        "claim hand-back",
      );
    }
    const job = jobClaims.get(run.jobId);
    if (job?.runs.delete(run.runId)) releaseIfIdle(run.jobId);
  };
  /** Releases the claim of a job once no run of it waits or executes here, and none is being claimed. */
  const releaseIfIdle = (jobId: string) => {
    const job = jobClaims.get(jobId);
    if (!job || job.runs.size > 0 || job.claiming > 0) return;
    jobClaims.delete(jobId);
    releaseJobClaim(jobId, job.lock);
  };
  /**
   * Job claims this replica is releasing (a batched call): a run of the job offered meanwhile waits
   * for it, then claims the job again, rather than finding its own claim still held and being
   * left to the next scan (seconds later).
   */
  const releasing = new Map<string, Promise<unknown>>();
  const releaseJobClaim = (jobId: string, lock: Lock) => {
    const done = release(lock).finally(() => {
      if (releasing.get(jobId) === done) releasing.delete(jobId);
    });
    releasing.set(jobId, done);
    quietly(done, "claim release");
  };
  const submit = (a: Announced, lock: Lock) => {
    runClaims.set(a.run.runId, lock);
    if (a.exclusive) jobClaims.get(a.run.jobId)?.runs.add(a.run.runId);
    // Handed back, a run goes out as last stored here (an interrupted one with its attempts and revision).
    deps.worker.submit(a.run, a.exclusive, (settled, run) => finished(run, a.exclusive, settled));
  };
  /**
   * Takes the job claims that exclusive runs need, then calls `use` with the runs whose job claim
   * is here. The job claims stay held while `use` runs (a concurrent claim finishing first does
   * not release them), and after it only for the runs it submitted: one taken for runs that were
   * not (their own claims went to peers, or the store failed) is released, whatever `use` did.
   */
  const withJobClaims = async (offers: Announced[], use: (eligible: Announced[]) => Promise<void>) => {
    const wanted = [...new Set(offers.filter((a) => a.exclusive && !jobClaims.has(a.run.jobId)).map((a) => a.run.jobId))];
    const pending = wanted.flatMap((jobId) => releasing.get(jobId) ?? []);
    if (pending.length > 0) await Promise.allSettled(pending);
    if (wanted.length > 0) {
      const got = await deps.coordinator.tryLocks(wanted.map(jobClaimKey));
      for (const jobId of wanted) {
        const lock = got.get(jobClaimKey(jobId));
        if (lock) jobClaims.set(jobId, { lock, runs: new Set(), claiming: 0 });
      }
    }
    const eligible = offers.filter((a) => !a.exclusive || jobClaims.has(a.run.jobId));
    const using = [...new Set(eligible.filter((a) => a.exclusive).map((a) => a.run.jobId))];
    for (const jobId of using) jobClaims.get(jobId)!.claiming++;
    try {
      await use(eligible);
    } finally {
      for (const jobId of using) {
        const job = jobClaims.get(jobId);
        if (job) job.claiming--;
        releaseIfIdle(jobId);
      }
    }
  };
  /**
   * The offers this replica has room for (see Overload.room), one project and job at a time in turn
   * (announced runs name their project; runs found by a scan are taken by job), plus the
   * first run of jobs with nothing here (Overload.newJobRoom); the rest stay unclaimed, for peers
   * and the next scan.
   */
  const withinRoom = <T>(offers: T[], jobOf: (offer: T) => string, projectOf?: (offer: T) => string): T[] => {
    const capacity = deps.capacity;
    if (!capacity) return offers;
    const room = capacity.room();
    if (offers.length <= room) return offers;
    const { taken, left } = takeFairly(offers, Math.max(0, room), jobOf, projectOf);
    const takenJobs = new Set(taken.map(jobOf));
    const newcomers = firstRunsOfNewJobs(left, jobOf, capacity.newJobRoom(), (jobId) => takenJobs.has(jobId) || capacity.hasJob(jobId));
    if (newcomers.length < left.length) capacity.held();
    return [...taken, ...newcomers];
  };
  const claim = (offers: Announced[]) =>
    withJobClaims(
      withinRoom(
        offers,
        (a) => a.run.jobId,
        (a) => a.run.projectId,
      ),
      async (eligible) => {
        if (eligible.length === 0) return;
        const got = await deps.coordinator.tryLocks(eligible.map((a) => runClaimKey(a.run.runId)));
        for (const a of eligible) {
          const lock = got.get(runClaimKey(a.run.runId));
          if (lock && !deps.worker.has(a.run.runId)) submit(a, lock);
        }
      },
    );
  const offer = async (offers: Announced[]) => {
    const open = offers.filter((a) => !runClaims.has(a.run.runId) && !deps.worker.has(a.run.runId));
    if (open.length === 0) return;
    const { mine, rest } = share(open, members, jobClaims, deps.random ?? systemRandom);
    await claim(mine);
    if (rest.length > 0) deps.clock.setTimer(opts.spreadMs, () => quietly(claim(rest), "claim"));
  };
  /**
   * Claims runs found in the store that nobody holds (announcements lost, claimants dead). Only
   * references are listed; the few runs claimed are then read, and a run found final meanwhile
   * gets its claim retired.
   */
  const scan = async () => {
    members = Math.max(1, (await deps.coordinator.members()).length);
    const refs = await deps.store.listActiveRuns({ limit: opts.scanLimit });
    const open = withinRoom(
      refs.filter((r) => !runClaims.has(r.runId) && !deps.worker.has(r.runId)),
      (r) => r.jobId,
    );
    if (open.length === 0) return;
    const got = await deps.coordinator.tryLocks(open.map((r) => runClaimKey(r.runId)));
    await adoptAll(
      open.flatMap((ref) => {
        const lock = got.get(runClaimKey(ref.runId));
        return lock ? [{ runId: ref.runId, lock }] : [];
      }),
    );
  };
  /**
   * Adopts the runs of these claims one after another. When the store fails under the scan (it
   * restarts, say), or the adoptions outlast {@link ClaimLoopOptions.adoptMs}, every claim not
   * adopted yet goes back at once, and the scan fails. Kept, those claims would stay held by this
   * replica, unexecuted, for as long as it lives (a claim is taken only if absent, by its holder
   * too), or for as long as a hung call lasts.
   */
  const adoptAll = (claimed: { runId: string; lock: Lock }[]) =>
    new Promise<void>((resolve, reject) => {
      let next = 0;
      let over = false;
      const end = (err?: unknown) => {
        over = true;
        deadline.cancel();
        if (err === undefined) return resolve();
        for (const { lock } of claimed.slice(next)) quietly(release(lock), "claim release");
        reject(err);
      };
      const deadline = deps.clock.setTimer(opts.adoptMs, () =>
        end(
          new CronError(
            "unavailable",
            `${claimed.length - next} of ${claimed.length} runs claimed by a scan not adopted within ${opts.adoptMs} ms: claims given back`,
          ),
        ),
      );
      void (async () => {
        for (; next < claimed.length && !over; next++) await adoptOrphan(claimed[next]!.runId, claimed[next]!.lock, () => !over);
        if (!over) end();
      })().catch((err: unknown) => {
        if (!over) end(err);
      });
    });
  /**
   * A run claimed by a scan: started if still active (and its job claim obtained when exclusive),
   * and while `adopting()` says the scan still holds the claim for it.
   */
  const adoptOrphan = async (runId: string, lock: Lock, adopting: () => boolean) => {
    const run = await deps.store.getRun(runId);
    if (!run || isFinal(run.status)) {
      quietly(retire(lock), "claim release");
      return;
    }
    const [offer] = await offersOf(deps.jobs, [run]);
    await withJobClaims([offer!], async ([eligible]) => {
      if (eligible && adopting() && !deps.worker.has(run.runId)) submit(eligible, lock);
      else quietly(release(lock), "claim release");
    });
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
      unsubscribe = deps.coordinator.subscribe(RUNS_TOPIC, (message) => quietly(offer(parseAnnouncement(message)), "claim"));
      quietly(scan(), "claim scan");
      scheduleScan();
    },
    stop() {
      unsubscribe?.();
      scanTimer?.cancel();
      scanTimer = undefined;
    },
    offer,
    handedBack: async () => {
      await Promise.allSettled([...handingBack]);
    },
  };
}

/**
 * This replica's share of a batch (a random `1/members` of it; runs of jobs whose claim is held
 * here always) and the rest, to try a little later when peers had their chance.
 */
function share(offers: Announced[], members: number, held: Map<string, JobClaim>, random: () => number): { mine: Announced[]; rest: Announced[] } {
  if (members <= 1) return { mine: offers, rest: [] };
  const groups = new Map<string, Announced[]>();
  for (const a of offers) {
    const key = a.exclusive ? `job:${a.run.jobId}` : `run:${a.run.runId}`;
    groups.set(key, [...(groups.get(key) ?? []), a]);
  }
  const shuffled = [...groups.values()];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const cut = Math.ceil(shuffled.length / members);
  const isHeld = (g: Announced[]) => g[0]!.exclusive && held.has(g[0]!.run.jobId);
  const mine = shuffled.filter((g, i) => i < cut || isHeld(g));
  const rest = shuffled.filter((g, i) => i >= cut && !isHeld(g));
  return { mine: mine.flat(), rest: rest.flat() };
}

/** The first offer of each job `known` says nothing of, at most `limit` of them, in order. */
function firstRunsOfNewJobs<T>(offers: T[], jobOf: (offer: T) => string, limit: number, known: (jobId: string) => boolean): T[] {
  const out: T[] = [];
  const seen = new Set<string>();
  for (const offer of offers) {
    if (out.length >= limit) break;
    const jobId = jobOf(offer);
    if (seen.has(jobId)) continue;
    seen.add(jobId);
    if (!known(jobId)) out.push(offer);
  }
  return out;
}

/** Offers for runs found in the store: exclusivity from the job's current policy. */
async function offersOf(jobs: JobCache, runs: RunRecord[]): Promise<Announced[]> {
  const out: Announced[] = [];
  for (const run of runs) {
    const job = await jobs.job(run.jobId);
    out.push({ run, exclusive: (job?.spec.concurrencyPolicy ?? "allow") !== "allow" });
  }
  return out;
}
