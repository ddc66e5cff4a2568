import type { Coordinator } from "../coordination/coordinator.js";
import type { Clock, TimerHandle } from "../domain/clock.js";
import type { IdGenerator } from "../domain/ids.js";
import type { JobRecord } from "../domain/job.js";
import type { Store } from "../store/store.js";
import type { Metrics } from "../telemetry/metrics.js";
import { nextTurn } from "../runtime/next-turn.js";
import { BACKGROUND_GUARD_MS, BACKGROUND_WAIT_MAX_MS, waitForSlotGap } from "../runtime/slot-gap.js";
import { createStageLead } from "./stage-lead.js";
import { createDueHeap, type DueEntry } from "./due-heap.js";
import { fireBatch } from "./fire-batch.js";
import { IDLE_OUTLOOK, loadJob, OVERLOADED_DEADLINE_SHARE, plainlyDue, planFire, shedInMemory, type LoadedJob, type StagingOutlook } from "./fire-plan.js";
import type { JobCache } from "./job-cache.js";
import type { RunDispatcher } from "./run-dispatcher.js";
import type { RunCanceller } from "./run-canceller.js";
import type { RunEvents } from "./run-events.js";
import type { Overload } from "./overload.js";

/** Tuning of the fire loop; every value has a default in {@link FIRE_LOOP_DEFAULTS}. */
export interface FireLoopOptions {
  /** Jobs due within this window are kept in memory. */
  lookaheadMs: number;
  /** Safety-net reload of the window, on top of the immediate change notifications. */
  resyncMs: number;
  /** Most jobs held in memory at once. */
  maxLoaded: number;
  /** How often a replica that may not fire re-checks. */
  standbyPollMs: number;
  /**
   * Slots are fired (locked, decided, written, handed to the workers) this long before they are
   * due, plus the time the jobs due together are expected to take to write; the workers hold
   * each run until its due time, so at the due time only the request is left to send.
   */
  stageLeadMs: number;
  /** The most a slot is staged ahead, however many jobs are due with it. */
  maxStageLeadMs: number;
}

/**
 * Jobs fired per store batch. Small chunks pipeline the work: the first requests are on the wire
 * (and the target busy) while later chunks are still being written. 200 was the best of
 * 100/200/300/1000 in the aligned benchmark (1,000 slots per second); 1,000 left the target idle
 * for the ~70 ms that writing and dispatching the whole second took.
 */
const FIRE_CHUNK = 200;

/** Delay before a batch that failed to write is tried again. */
const FIRE_RETRY_MS = 1000;

/**
 * How often a loop held back by a full queue looks for room again: a fraction of the shortest
 * start deadline (1 s), and about what a busy node takes to start a few hundred runs.
 */
const ROOM_POLL_MS = 10;

/** Delay before firing again a job whose lock a manual trigger held: such a trigger takes milliseconds. */
const LOCK_RETRY_MS = 50;

/**
 * Run inserts interrupted by a crash are completed by a sweep over the runs created this long
 * ago or less, at every start of leadership and every {@link REPAIR_EVERY_MS}.
 */
const REPAIR_WINDOW_MS = 3_600_000;
const REPAIR_EVERY_MS = 60_000;

/** Jobs (re)loaded between two yields of a resync. */
const RELOAD_CHUNK = 1000;

/** A loaded job needs no recomputation while its version, state and next slot are the same. */
function unchanged(a: JobRecord, b: JobRecord): boolean {
  return a.version === b.version && a.status === b.status && a.nextTriggerAt === b.nextTriggerAt;
}

/**
 * Defaults: 75 s of look-ahead reloaded every 15 s keeps memory small and changes prompt. 75 s, not
 * 60: a job fired a little ahead of its slot has its next minutely slot just over 60 s away, and
 * a minute of look-ahead dropped every minutely job after each fire, to re-read it in full at the
 * next resync (10,000 minutely jobs: some 2,500 re-read per resync, 4–10 ms per 1,000).
 */
export const FIRE_LOOP_DEFAULTS: FireLoopOptions = {
  lookaheadMs: 75_000,
  resyncMs: 15_000,
  maxLoaded: 100_000,
  standbyPollMs: 250,
  stageLeadMs: 100,
  maxStageLeadMs: 5000,
};

/** What the fire loop needs. */
export interface FireLoopDeps {
  store: Store;
  metrics: Metrics;
  clock: Clock;
  coordinator: Coordinator;
  dispatcher: RunDispatcher;
  canceller: RunCanceller;
  events: RunEvents;
  ids: IdGenerator;
  /**
   * What background store work waits for, besides this loop's own next staging being clear (see
   * {@link FireLoop.betweenSlots}): this node's run worker, whose sends must be done and whose
   * held slots must not be due soon.
   */
  sends?: SendGate;
  /** This node's job cache, offered the jobs of the runs fired here. */
  jobs?: Pick<JobCache, "offer">;
  /**
   * This node's run queue: slots are staged only while it has room, and their runs are expected
   * to wait as long as it says (a slot whose run would start past its deadline is shed). Absent:
   * no bound.
   */
  overload?: Pick<Overload, "room" | "newJobRoom" | "hasJob" | "expectedWaitMs" | "held" | "shed" | "overloaded">;
  options?: Partial<FireLoopOptions>;
  /** Reports failures of a background step (the loop keeps going). */
  onError: (err: unknown, step: string) => void;
}

/** What background work learns from the run worker about its slots (`RunWorker` is one). */
export interface SendGate {
  /** Resolves once nothing is sending and no held slot is due soon (`RunWorker.betweenSlots`). */
  betweenSlots(): Promise<void>;
  /** Whether that is so right now (`RunWorker.inSlotGap`). */
  inSlotGap(): boolean;
}

/** The leader's scheduler: keeps due jobs in a timer heap and fires each slot at its due time. */
export interface FireLoop {
  start(): Promise<void>;
  stop(): void;
  /** A job was created, changed or deleted: reload it now. */
  jobChanged(jobId: string): void;
  /** Resolves when every fire started so far has been written (tests and shutdown). */
  settled(): Promise<void>;
  /**
   * Resolves once background store work may start (a resync, a repair sweep, a history trim:
   * calls that hold the event loop for milliseconds on the embedded store): the node's sends are
   * done, no held slot is due soon (`FireLoopDeps.sends`), and this loop's next staging or
   * fire is at least {@link BACKGROUND_GUARD_MS} away. Waits {@link BACKGROUND_WAIT_MAX_MS} at
   * most. Without this loop's own check, a resync begun just before a slot was staged (its runs
   * not yet held by the worker) held the slot up by the whole resync (30–50 ms, spread).
   */
  betweenSlots(): Promise<void>;
}

/**
 * Creates the fire loop. It never scans all jobs: it loads the jobs due within the look-ahead
 * window through the store's indexed due query, wakes exactly when the earliest due jobs must be
 * staged, fires them in batches (one insert and one compare-and-set call per batch), and reloads
 * on change notifications plus a periodic resync. Slots are staged ahead of their due time (see
 * {@link FireLoopOptions.stageLeadMs}); a slot whose overlap decision depends on a run still
 * active (forbid, replace) waits for its due time instead, so the decision sees the latest state.
 */
export function createFireLoop(deps: FireLoopDeps): FireLoop {
  const opts = { ...FIRE_LOOP_DEFAULTS, ...deps.options };
  const { clock, store } = deps;
  /** Jobs to stage ahead of their due time. */
  const heap = createDueHeap();
  /** Jobs to fire at their due time exactly, not staged (deferred decisions, retries). */
  const exact = createDueHeap();
  const lead = createStageLead({ clock, countDueBy: (t, cap) => heap.countDueBy(t, cap), options: opts });
  const loaded = new Map<string, LoadedJob>();
  let wake: TimerHandle | undefined;
  let resync: TimerHandle | undefined;
  let repair: TimerHandle | undefined;
  let running = false;
  /** Set when due slots were left unstaged for lack of room in the run queue (cleared by the next fire). */
  let heldBack = false;
  let work: Promise<void> = Promise.resolve();

  const serial = (step: string, fn: () => Promise<void>) => {
    work = work.then(fn).catch((err) => deps.onError(err, step));
    return work;
  };
  const track = (job: JobRecord | undefined, jobId: string) => {
    const previous = loaded.get(jobId);
    if (job && previous && unchanged(previous.job, job)) return;
    heap.remove(jobId);
    exact.remove(jobId);
    loaded.delete(jobId);
    if (!job || job.status !== "active" || job.nextTriggerAt === undefined) return;
    if (job.nextTriggerAt > clock.now() + opts.lookaheadMs) return;
    const entry = loadJob(job);
    loaded.set(jobId, entry);
    heap.push({ jobId, dueAt: entry.dueAt });
  };
  /** When the loop must next wake to stage or fire (Infinity when nothing is due in the window). */
  const nextWakeAt = () => {
    const staged = heap.peekDueAt();
    const exactly = exact.peekDueAt();
    return Math.min(staged === undefined ? Infinity : staged - lead.leadToArm(staged), exactly ?? Infinity);
  };
  const arm = () => {
    wake?.cancel();
    if (!running) return;
    const at = heldBack ? Math.max(nextWakeAt(), clock.now() + ROOM_POLL_MS) : nextWakeAt();
    if (at === Infinity) return;
    wake = clock.setTimer(at - clock.now(), () => void serial("fire", fireDue));
  };
  /**
   * Re-reads the due window: references only, then in full just the jobs that are new or changed
   * since they were loaded, so a resync of 10,000 unchanged jobs costs one light query.
   */
  const reload = async () => {
    const refs = await store.listDueJobRefs(clock.now() + opts.lookaheadMs, opts.maxLoaded);
    const seen = new Set(refs.map((r) => r.jobId));
    for (const jobId of [...loaded.keys()]) if (!seen.has(jobId)) track(undefined, jobId);
    const changed = refs.filter((r) => {
      const held = loaded.get(r.jobId)?.job;
      return !held || held.version !== r.version || held.nextTriggerAt !== r.nextTriggerAt;
    });
    for (let i = 0; i < changed.length; i += RELOAD_CHUNK) {
      // A resync must not hold the loop: let I/O through between chunks.
      if (i > 0) await nextTurn();
      const ids = changed.slice(i, i + RELOAD_CHUNK).map((r) => r.jobId);
      const jobs = new Map((await store.getJobs(ids)).map((j) => [j.jobId, j]));
      for (const jobId of ids) track(jobs.get(jobId), jobId);
    }
    arm();
  };
  /** When this loop next stages or fires a slot (Infinity once stopped). */
  const nextSlotAt = () => (running ? nextWakeAt() : Infinity);
  /** See {@link FireLoop.betweenSlots}: past a wake-up, the worker holds its slot (the next round waits for that). */
  const betweenSlots = () => waitForSlotGap(clock, nextSlotAt, () => deps.sends?.betweenSlots());
  /** Whether background work may start right now (what {@link betweenSlots} waits for). */
  const inSlotGap = () => nextSlotAt() - clock.now() >= BACKGROUND_GUARD_MS && (deps.sends?.inSlotGap() ?? true);
  /**
   * The resync, between slots. It runs in the loop's serial line, behind any staging queued
   * before it, so the gap is checked again once the line gets to it: meanwhile a staging may have
   * handed the worker a slot due within milliseconds, or the worker may have started sending one,
   * and the resync's due query then held that slot up (20–45 ms, spread). It waits
   * {@link BACKGROUND_WAIT_MAX_MS} at most, as every background step.
   */
  const resyncBetweenSlots = async () => {
    const deadline = clock.now() + BACKGROUND_WAIT_MAX_MS;
    for (let done = false; running && !done;) {
      await betweenSlots();
      await serial("resync", async () => {
        if (!running || (!inSlotGap() && clock.now() < deadline)) return;
        done = true;
        await reload();
      });
    }
  };
  /** Runs background store work between slots, unless stopped meanwhile. */
  const runBetweenSlots = async (work: () => Promise<unknown>) => {
    await betweenSlots();
    if (running) await work();
  };
  const scheduleRepair = (delayMs: number) => {
    repair = clock.setTimer(delayMs, () => {
      void runBetweenSlots(() => store.repairRuns(clock.now() - REPAIR_WINDOW_MS))
        .catch((err: unknown) => deps.onError(err, "repair runs"))
        .finally(() => running && scheduleRepair(REPAIR_EVERY_MS));
    });
  };
  const scheduleResync = () => {
    resync = clock.setTimer(opts.resyncMs, () => {
      void resyncBetweenSlots().then(() => running && scheduleResync());
    });
  };
  const fireDue = async () => {
    if (!running) return;
    if (!deps.coordinator.canFire()) {
      wake = clock.setTimer(opts.standbyPollMs, () => void serial("fire", fireDue));
      return;
    }
    const started = clock.now();
    const staged = heap.peekDueAt();
    const horizon = staged === undefined ? started : started + lead.leadFor(staged);
    // Exact fires are decisions due now (few): they do not wait for room.
    let exactDue = exact.popDue(started);
    let fired = 0;
    let due: LoadedJob[] = [];
    heldBack = false;
    try {
      for (let round = 0, last = false; !last; round++) {
        // Between two chunks: I/O goes through, and a loop stopped meanwhile (leadership handed
        // over) leaves the rest to its successor.
        if (round > 0) await nextTurn();
        if (!running) return;
        const taken = takeStaged(horizon);
        last = taken.last;
        const outlook = outlookNow();
        due = [...exactDue.map(loadedOf), ...taken.entries.map(loadedOf).filter((l) => !shedHeld(l, outlook))].filter((l) => l !== undefined);
        exactDue = [];
        if (due.length > 0) await fireChunk(due, outlook);
        else if (taken.entries.length === 0) break;
        fired += due.length;
        due = [];
      }
      // A batch held back for lack of room staged less than was due: its time says nothing of the cost.
      if (!heldBack) lead.measured(fired, clock.now() - started);
    } catch (err) {
      // The store failed (e.g. unreachable): the unfired jobs are retried shortly. A slot written
      // before the failure is adopted, never duplicated, thanks to its unique key.
      for (const entry of due) exact.push({ jobId: entry.job.jobId, dueAt: clock.now() + FIRE_RETRY_MS });
      throw err;
    } finally {
      arm();
    }
  };
  /**
   * The next chunk of jobs to stage (due by `horizon`), as the run queue's room allows: a whole
   * chunk while it has room for runs; when full, only jobs with nothing queued here, while it has
   * room for jobs (Overload.newJobRoom: a job that fanned out does not hold the others back), the
   * others put back; none when it has neither. Then the loop polls for room every
   * {@link ROOM_POLL_MS}, and the jobs left due are decided when it finds some (their late slots
   * by their misfire policy). The bound is checked between chunks: overshot by one chunk at most.
   */
  const takeStaged = (horizon: number): { entries: DueEntry[]; last: boolean } => {
    const o = deps.overload;
    if (!o) return { entries: heap.popDue(horizon, FIRE_CHUNK), last: false };
    // As many jobs as runs may join the queue: a job popped fires one run, or is shed in memory.
    const room = o.room();
    if (room > 0) return { entries: heap.popDue(horizon, Math.min(FIRE_CHUNK, room)), last: false };
    const dueLeft = (heap.peekDueAt() ?? Infinity) <= horizon;
    if (dueLeft) {
      heldBack = true;
      o.held();
    }
    if (!dueLeft || o.newJobRoom() <= 0) return { entries: [], last: true };
    const entries: DueEntry[] = [];
    for (const entry of heap.popDue(horizon, FIRE_CHUNK)) {
      if (o.hasJob(entry.jobId)) heap.push(entry);
      else entries.push(entry);
    }
    // Entries put back are due again at once: one such chunk per wake-up.
    return { entries, last: true };
  };
  const loadedOf = (entry: DueEntry) => loaded.get(entry.jobId);
  /**
   * Sheds in memory (see shedInMemory) a popped job whose due slot could not start by its start
   * deadline behind the run queue, and puts it back at its next slot; false when it is to fire.
   * Only a decision that fires nothing but sheds (no misfire-only decision: those are written at
   * once, as after downtime) stays in memory.
   */
  const shedHeld = (entry: LoadedJob | undefined, outlook: StagingOutlook): boolean => {
    if (!entry) return true;
    const now = clock.now();
    if (plainlyDue(entry, now, outlook)) return false;
    const plan = planFire(entry, now, outlook);
    if (plan.fire.length > 0 || plan.shed === 0 || plan.dropped > 0 || plan.next === undefined) return false;
    const moved = shedInMemory(entry, plan.next, plan.shed + plan.skipped);
    loaded.set(entry.job.jobId, moved);
    heap.push({ jobId: entry.job.jobId, dueAt: moved.dueAt });
    deps.overload?.shed("staging", plan.shed + (deps.overload.overloaded ? plan.skipped : 0));
    return true;
  };
  /** What staging expects of the run queue now (see StagingOutlook). */
  const outlookNow = (): StagingOutlook => {
    const o = deps.overload;
    if (!o) return IDLE_OUTLOOK;
    return { expectedWaitMs: o.expectedWaitMs(), deadlineShare: o.overloaded ? OVERLOADED_DEADLINE_SHARE : 1 };
  };
  /** Fires one chunk of due jobs and takes their next slots. */
  const fireChunk = async (due: LoadedJob[], outlook: StagingOutlook) => {
    const { next, busy, deferred } = await fireBatch({ ...deps, now: clock.now(), outlook }, due);
    for (const entry of busy) exact.push({ jobId: entry.job.jobId, dueAt: clock.now() + LOCK_RETRY_MS });
    for (const entry of deferred) exact.push({ jobId: entry.job.jobId, dueAt: entry.dueAt });
    // Requests first: the next slots of the fired jobs are computed once the runs are on their way.
    await nextTurn();
    for (const [jobId, job] of next) track(job, jobId);
  };

  return {
    async start() {
      running = true;
      await serial("load", reload);
      scheduleResync();
      scheduleRepair(0);
    },
    stop() {
      running = false;
      wake?.cancel();
      resync?.cancel();
      repair?.cancel();
    },
    jobChanged(jobId) {
      if (!running) return;
      void serial("reload job", async () => {
        track(await store.getJob(jobId), jobId);
        arm();
      });
    },
    settled: () => serial("settle", async () => undefined),
    betweenSlots,
  };
}
