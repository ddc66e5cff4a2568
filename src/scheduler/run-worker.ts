import type { Logger } from "pino";
import { Cancellation, type CancelSignal } from "../domain/cancellation.js";
import type { Clock, TimerHandle } from "../domain/clock.js";
import type { HttpTargetSpec, JobSpec } from "../domain/job.js";
import { resumeTaskResults } from "../domain/dag.js";
import { isFinal, type RunRecord, type TaskResultRecord } from "../domain/run.js";
import { finalState, type Outcome } from "../domain/run-final.js";
import { SEND_STALL_MS, type HttpClient } from "../executor/http-client.js";
import type { SecretSource } from "../executor/secrets.js";
import { BACKGROUND_GUARD_MS, waitForSlotGap } from "../runtime/slot-gap.js";
import type { Store } from "../store/store.js";
import type { Metrics } from "../telemetry/metrics.js";
import { traceRun } from "../telemetry/run-tracing.js";
import { runAttempts, type AttemptLoopDeps } from "../executor/attempt-loop.js";
import { runDag } from "../executor/dag-execution.js";
import type { JobCache } from "./job-cache.js";
import type { RunBookkeeping } from "./run-bookkeeping.js";
import type { RunEvents } from "./run-events.js";
import { createProgressContext, createRunProgress, type ProgressContext, type ProgressOptions, type RunProgress } from "./run-progress.js";
import { createRunQueue } from "./run-queue.js";
import { createTurnChunks } from "../runtime/turn-chunks.js";
import { createHeldRuns } from "./held-runs.js";
import { onNextTurn } from "../runtime/next-turn.js";
import { createRunWriter, RunPreempted } from "./run-writer.js";
import { bindRun, type RunBinding } from "./run-binding.js";
import type { Overload } from "./overload.js";
import { decideStart, isManualTrigger, MANUAL_START_DEADLINE_MS, slotStartDeadline, surelyOnTime, type StartInput } from "../domain/start-deadline.js";
import { slotAfter } from "../domain/next-trigger.js";

/** What the worker needs. */
export interface RunWorkerDeps {
  store: Store;
  metrics: Metrics;
  clock: Clock;
  http: HttpClient;
  secrets: SecretSource;
  handlers: Map<string, HttpTargetSpec>;
  events: RunEvents;
  jobs: JobCache;
  bookkeeping: RunBookkeeping;
  nodeId: string;
  /** Runs executing at once on this node. */
  concurrency: number;
  progress: ProgressOptions;
  /** Reports a run that failed for a reason of this node's (the store unreachable): it is left to be claimed again. */
  onError: (err: unknown, step: string) => void;
  /** Where finished and dead-lettered runs are logged (inside their run span). */
  log?: Logger;
  /**
   * Called {@link PREPARE_LEAD_MS} before a held slot is due, when nothing is sending, at most
   * once per {@link PREPARE_MIN_GAP_MS}: a young-generation collection (see youngCollector), so
   * that none pauses the slot's requests.
   */
  prepareForSlot?: () => void;
  /** How late a manual trigger, replay or redrive may still start (MANUAL_START_DEADLINE; default a minute). */
  manualStartDeadlineMs?: number;
  /** Where runs shed at their start deadline, and runs started late on purpose, are reported. */
  overload?: Pick<Overload, "shed" | "startedLate">;
}

/**
 * Executes runs on this node: a bounded pool, cancellable, at-least-once. A run is never started
 * before its due time: one submitted early (a staged slot) is held until then.
 */
export interface RunWorker {
  /**
   * Queues a run for execution (a state that is not final expected). An exclusive run never
   * executes while another run of its job executes here; runs of a job start in submission order.
   * `onDone` is called once the run has left this node: `settled` is true when the run is final
   * (stored here, or finished elsewhere), false when it was handed back unfinished; `run` is the
   * run as this node last stored it (an interrupted run: queued again, its attempts recorded).
   */
  submit(run: RunRecord, exclusive: boolean, onDone?: (settled: boolean, run: RunRecord) => void): void;
  /** Aborts a run executing or waiting here; false when it is not here. */
  cancel(runId: string, reason: string): boolean;
  /**
   * Lets a run here start no new attempt (its job was paused): a run not started yet is cancelled;
   * a running one finishes its attempt in flight, then ends cancelled with `reason` unless that
   * attempt succeeded. False when the run is not here.
   */
  drain(runId: string, reason: string): boolean;
  /** True when the run waits or executes here. */
  has(runId: string): boolean;
  /**
   * The live state of a run executing here (its state goes to the store only at checkpoints), as
   * watchers see it; undefined when the run does not execute here, or has not started yet.
   */
  live(runId: string): RunRecord | undefined;
  /** The live states of the runs executing here (see {@link RunWorker.live}) that match the filter; empty fields match all. */
  liveRuns(filter: LiveRunFilter): RunRecord[];
  /** Ids of the job's runs waiting or executing here. */
  activeRuns(jobId: string): string[];
  /** True when a run of the job waits or executes here. */
  hasJob(jobId: string): boolean;
  /** How many jobs have runs waiting or executing here. */
  jobCount(): number;
  /** Runs waiting for their due time or for a free worker. */
  waiting(): number;
  /** The due time of the oldest run waiting for a worker; undefined when none does. */
  oldestWaitingDueAt(): number | undefined;
  /**
   * Runs started since the previous call, and whether runs waited for a worker all along (no
   * moment when the pool had a free worker and nothing to start): then the count measures what
   * this node can start.
   */
  takeStarts(): { started: number; saturated: boolean };
  /** Resolves once nothing is waiting or executing. */
  idle(): Promise<void>;
  /**
   * Resolves once no run waits for a worker and no request is leaving (see HttpClient.sending), no run started in
   * the last 50 ms still has its requests in flight, and no held run is due within
   * {@link BACKGROUND_GUARD_MS} (at once when so; after a few seconds at most).
   * Background store work that holds the event loop for milliseconds (a resync, a trim chunk)
   * waits for it: it runs between slots, never while a slot's requests are leaving.
   */
  betweenSlots(): Promise<void>;
  /** Whether what {@link RunWorker.betweenSlots} waits for holds right now. */
  inSlotGap(): boolean;
  /**
   * Stops taking work: waiting runs are left as stored, executing runs get `graceMs` to finish,
   * then are aborted and stored as queued again, for whichever node claims them next, with the
   * attempt cut short recorded as interrupted (the next execution numbers its attempts after it).
   */
  stop(graceMs: number): Promise<void>;
}

/** Which runs executing here {@link RunWorker.liveRuns} lists. */
export interface LiveRunFilter {
  runIds?: string[];
  jobId?: string;
  projectId?: string;
}

/** Abort reason of a node shutting down: the run goes back to queued, not to cancelled. */
const SHUTDOWN = "node shutting down";

/** A run this worker accepted: held for its due time, waiting for a worker, or executing. */
interface AcceptedRun {
  run: RunRecord;
  jobId: string;
  cancellation: Cancellation;
  reason: string;
  exclusive: boolean;
  /** Set at shutdown for runs that had not started: they are left queued, untouched. */
  dropped: boolean;
  /** Set once the run is known final. */
  settled: boolean;
  /** Set when a worker took the run up. */
  started: boolean;
  /** The run's live state, from the moment it starts executing. */
  progress: RunProgress | undefined;
  onDone?: (settled: boolean, run: RunRecord) => void;
}

/** Creates the worker pool. */
export function createRunWorker(deps: RunWorkerDeps): RunWorker {
  const tracking = createProgressContext(createRunWriter(deps.store, deps.clock, deps.progress.writeBatchMs), deps.clock, deps.events, deps.progress);
  const accepted = new Map<string, AcceptedRun>();
  /** Run ids per job, so overlap checks cost O(1) per job, not a scan of every slot. */
  const byJob = new Map<string, Set<string>>();
  const queue = createRunQueue<AcceptedRun>();
  let stopping = false;
  const forget = (entry: AcceptedRun) => {
    accepted.delete(entry.run.runId);
    const ids = byJob.get(entry.jobId);
    ids?.delete(entry.run.runId);
    if (ids?.size === 0) byJob.delete(entry.jobId);
    entry.onDone?.(entry.settled, entry.run);
    if (accepted.size === 0) {
      for (const w of idleWaiters) w();
      idleWaiters = [];
    }
  };
  let running = 0;
  /** Runs started since the last {@link RunWorker.takeStarts}, and whether the pool ran dry meanwhile. */
  let started = 0;
  let ranDry = true;
  let idleWaiters: (() => void)[] = [];
  /** Runs submitted ahead of their due time, until it comes. */
  const held = createHeldRuns<AcceptedRun>(deps.clock, (due) => {
    for (const entry of due) releases.push(entry);
    releases.start();
  });
  const hold = (entry: AcceptedRun) => {
    if (held.hold(entry, entry.run.dueAt)) prepareFor(entry.run.dueAt);
  };
  let preparedAt = -Infinity;
  /** Schedules {@link RunWorkerDeps.prepareForSlot} ahead of a new held due time. */
  const prepareFor = (dueAt: number) => {
    const prepare = deps.prepareForSlot;
    const delay = dueAt - PREPARE_LEAD_MS - deps.clock.now();
    if (!prepare || delay < 0) return;
    deps.clock.setTimer(delay, () => {
      const now = deps.clock.now();
      if (stopping || !held.has(dueAt) || now - preparedAt < PREPARE_MIN_GAP_MS || !quiet()) return;
      preparedAt = now;
      prepare();
    });
  };
  /**
   * Due runs join the queue {@link RELEASE_CHUNK} at a time, the pump starting each chunk's
   * requests before the next chunk joins: the first request of a big slot leaves at once.
   */
  const releases = createTurnChunks<AcceptedRun>(
    RELEASE_CHUNK,
    (entry) => unheld(entry),
    () => pump(),
  );
  /** Moves a held run to the queue (its time came, it was cancelled, or the node stops). */
  const unheld = (entry: AcceptedRun) => {
    queue.push(entry);
  };

  /** Runs whose request is done, waiting for the requests queued behind them to leave (see {@link afterSends}). */
  let quietWaiters: (() => void)[] = [];
  // Right after a pump, a free worker means no waiting run can start (exclusive runs wait for their job's).
  const quiet = () => !pumpScheduled && releases.pending === 0 && (running < deps.concurrency || queue.waiting === 0) && !deps.http.sending();
  /**
   * Waiting bookkeeping let go. Thousands of runs may wait after a busy second: they resume a
   * chunk per event-loop turn, so the last requests in flight are not held up behind all of their
   * final writes at once.
   */
  const resumes = createTurnChunks<() => void>(QUIET_CHUNK, (resolve) => resolve());
  /**
   * Checks again, every {@link SEND_STALL_MS} while bookkeeping waits, whether quiet came (the last
   * requests of a slot are written, or stall, with no run event to say so), and lets the waiting
   * bookkeeping go anyway once the first of it has waited {@link SEND_FIRST_MAX_MS}.
   */
  let recheckTimer: TimerHandle | undefined;
  let waitingSince = 0;
  const recheck = () => {
    recheckTimer = undefined;
    if (quietWaiters.length === 0) return;
    const waited = deps.clock.now() - waitingSince;
    if (quiet() || waited >= SEND_FIRST_MAX_MS) flushQuiet();
    else recheckTimer = deps.clock.setTimer(Math.min(SEND_STALL_MS, SEND_FIRST_MAX_MS - waited), recheck);
  };
  const flushQuiet = () => {
    recheckTimer?.cancel();
    recheckTimer = undefined;
    for (const resolve of quietWaiters) resumes.push(resolve);
    quietWaiters = [];
    resumes.start();
  };
  /**
   * What a finished request's bookkeeping waits for: nothing (undefined) when no run waits for a
   * worker and no request is leaving (handed to undici, not yet written), else a promise resolved
   * once none is (or after {@link SEND_FIRST_MAX_MS}). The bookkeeping of a finished request
   * (final write, events) yields to the requests still to send, which are what targets and slots
   * wait for. Waiting only until each had a connection was not enough: undici writes a request a
   * turn after giving it one, and a slot's final writes held its last requests up in between.
   */
  const afterSends = (): Promise<void> | undefined => {
    if (quiet() || stopping) return undefined;
    return new Promise<void>((resolve) => {
      quietWaiters.push(resolve);
      if (recheckTimer) return;
      waitingSince = deps.clock.now();
      recheckTimer = deps.clock.setTimer(SEND_STALL_MS, recheck);
    });
  };

  /** The earliest due time of the runs held here (Infinity when none is). */
  const nextHeldAt = () => held.nextAt();

  /** When the pump last started runs. */
  let lastStartAt = -Infinity;
  /**
   * Requests started within {@link SEND_SETTLE_MS} may not have left yet: undici writes a request
   * one event-loop turn after its dispatch, and a resync begun in between held a slot's requests
   * up by its whole due query (20–45 ms, spread).
   */
  const settling = () => running > 0 && deps.clock.now() - lastStartAt < SEND_SETTLE_MS;
  /** What background work waits for before its slot check: the sends of this node left and settled. */
  const sendsSettled = (): Promise<void> | undefined => {
    const pending = afterSends();
    if (pending || !settling()) return pending;
    return new Promise<void>((resolve) => deps.clock.setTimer(lastStartAt + SEND_SETTLE_MS - deps.clock.now(), resolve));
  };
  /** See {@link RunWorker.betweenSlots}. */
  const betweenSlots = () => waitForSlotGap(deps.clock, nextHeldAt, sendsSettled);
  /** See {@link RunWorker.inSlotGap}. */
  const inSlotGap = () => quiet() && !settling() && nextHeldAt() - deps.clock.now() >= BACKGROUND_GUARD_MS;

  const begin = (entry: AcceptedRun) => {
    running++;
    started++;
    entry.started = true;
    let sending = true;
    // The run's requests are over: its worker takes the next run while this one is written.
    const sent = () => {
      if (!sending) return;
      sending = false;
      running--;
      pump();
      if (quietWaiters.length > 0 && quiet()) flushQuiet();
    };
    let released = false;
    // Called as soon as the run's final state is stored (bookkeeping comes after), so a caller
    // that saw the run finish never finds it still active here.
    const release = () => {
      if (released) return;
      released = true;
      sent();
      queue.done(entry);
      forget(entry);
      pump();
    };
    const requestsDone = () => {
      sent();
      return afterSends();
    };
    void traceRun(entry.run, deps.log, () => execute(deps, tracking, entry, () => stopping, release, requestsDone))
      .catch((err: unknown) => deps.onError(err, `run ${entry.run.runId}`))
      .finally(release);
  };
  let pumpScheduled = false;
  /**
   * Starts waiting runs while workers are free, {@link START_CHUNK} at a time, I/O let through
   * between chunks. undici writes a request on a reused keep-alive connection one event-loop turn
   * after it is dispatched (it first checks the idle socket for a stray response or close), so a
   * slot's requests all leave in the turn after their chunk started: one chunk for a whole slot of
   * a few hundred runs sends its last request soonest, with no responses handled in between.
   */
  const pump = () => {
    for (let started = 0; running < deps.concurrency; started++) {
      if (started === START_CHUNK) {
        if (!pumpScheduled) {
          pumpScheduled = true;
          onNextTurn(() => {
            pumpScheduled = false;
            pump();
          });
        }
        return;
      }
      const entry = queue.take();
      if (!entry) {
        ranDry = true;
        break;
      }
      if (started === 0) lastStartAt = deps.clock.now();
      begin(entry);
    }
  };

  return {
    submit(run, exclusive, onDone) {
      if (accepted.has(run.runId) || stopping) return;
      const entry: AcceptedRun = {
        run,
        jobId: run.jobId,
        cancellation: new Cancellation(),
        reason: "",
        exclusive,
        dropped: false,
        settled: false,
        started: false,
        onDone,
        progress: undefined,
      };
      accepted.set(run.runId, entry);
      byJob.set(run.jobId, (byJob.get(run.jobId) ?? new Set()).add(run.runId));
      if (run.dueAt > deps.clock.now()) hold(entry);
      else queue.push(entry);
      pump();
    },
    cancel(runId, reason) {
      const entry = accepted.get(runId);
      if (!entry) return false;
      entry.reason = reason;
      entry.cancellation.cancel();
      // A held run is cancelled now, not at its due time; a due time left with no run is forgotten.
      if (held.take(entry, entry.run.dueAt)) {
        unheld(entry);
        pump();
      }
      return true;
    },
    drain(runId, reason) {
      const entry = accepted.get(runId);
      if (!entry) return false;
      if (!entry.started) return this.cancel(runId, reason);
      entry.reason = reason;
      entry.cancellation.drain();
      return true;
    },
    has: (runId) => accepted.has(runId),
    live: (runId) => accepted.get(runId)?.progress?.current(),
    liveRuns(filter) {
      const candidates = filter.runIds ? filter.runIds.flatMap((id) => accepted.get(id) ?? []) : [...accepted.values()];
      return candidates.flatMap((entry) => {
        const run = entry.progress?.current();
        if (!run || (filter.jobId && run.jobId !== filter.jobId) || (filter.projectId && run.projectId !== filter.projectId)) return [];
        return [run];
      });
    },
    activeRuns: (jobId) => [...(byJob.get(jobId) ?? [])],
    hasJob: (jobId) => byJob.has(jobId),
    jobCount: () => byJob.size,
    waiting: () => queue.waiting + held.count() + releases.pending,
    oldestWaitingDueAt: () => queue.least((entry) => entry.run.dueAt),
    takeStarts() {
      const out = { started, saturated: !ranDry };
      started = 0;
      // Nothing waits now: the next period begins with the pool able to take more than it has.
      ranDry = queue.waiting === 0;
      return out;
    },
    idle: () => (accepted.size === 0 ? Promise.resolve() : new Promise((r) => idleWaiters.push(r))),
    betweenSlots,
    inSlotGap,
    async stop(graceMs) {
      stopping = true;
      flushQuiet();
      // Runs not started yet stay as stored, for the next node to claim them.
      for (const entry of accepted.values()) entry.dropped = true;
      for (const entry of held.drain()) unheld(entry);
      pump();
      const grace = new Promise<void>((resolve) => deps.clock.setTimer(graceMs, resolve));
      await Promise.race([this.idle(), grace]);
      for (const entry of accepted.values()) {
        // A run cancelled for good (a cancel RPC, a replace) stays cancelled.
        if (entry.cancellation.cancelled) continue;
        entry.reason = SHUTDOWN;
        entry.cancellation.interrupt();
      }
      await this.idle();
      await deps.bookkeeping.flush();
    },
  };
}

/**
 * How long before a held slot is due {@link RunWorkerDeps.prepareForSlot} is called. More than a
 * young-generation collection takes (a few ms, up to about 25 seen on 2 busy cores), and more than
 * what may follow it: the objects it promotes can take the old generation past V8's limit, and V8
 * then starts a major collection, marks concurrently for some 40 ms (spread, 10,000 jobs) and
 * finishes it in a 3–13 ms pause. With 50 ms of lead that pause fell on the slot every 8–10 s;
 * from 100 ms it ends 30–60 ms before it. Little enough that the young generation does not fill
 * again before the slot's requests are out (with 200 ms it did, in 25 of 60 seconds of spread).
 */
const PREPARE_LEAD_MS = 100;

/** Least time between two slot preparations (slots milliseconds apart share one). */
const PREPARE_MIN_GAP_MS = 200;

/** Held runs queued in one go when their due time comes. */
const RELEASE_CHUNK = 256;

/**
 * Runs started in one go by the pump before it lets I/O through (about 12 µs each). Chunks of 32
 * sent the first requests of a slot earlier, but handled the responses to them between chunks: the
 * last of ~170 runs was dispatched 5–15 ms after the slot, against 2–5 ms (most seconds) in one
 * chunk (spread).
 */
const START_CHUNK = 256;

/** Waiting runs whose bookkeeping resumes in one event-loop turn once requests are out. */
const QUIET_CHUNK = 256;

/** How long after runs started background work still treats their requests as leaving (see `settling`). */
const SEND_SETTLE_MS = 50;

/**
 * Longest a finished request's bookkeeping waits for the requests queued behind it to leave: more
 * than a slot of a thousand requests takes to leave, well under a second. Past capacity requests
 * never stop leaving, and bookkeeping held for seconds came all at once, holding up the slots due
 * meanwhile (fewer runs started in time: BENCHMARKS.md, "a slot's final writes wait for its requests").
 */
const SEND_FIRST_MAX_MS = 250;

/** Ends a run its job's change withdrew before it started (see bindRun): skipped or cancelled, no request sent. */
async function endUnstarted(
  deps: RunWorkerDeps,
  entry: AcceptedRun,
  progress: RunProgress,
  end: Extract<RunBinding, { kind: "end" }>,
  release: () => void,
  giveUp: () => boolean,
): Promise<RunRecord> {
  const done = await progress.settle({ status: end.status, error: end.error, result: end.result, finishedAt: deps.clock.now() }, giveUp);
  entry.settled = true;
  release();
  deps.metrics.runFinished(end.status);
  return done;
}

/** What {@link decideStart} needs to decide a run about to start late (its job's next slot computed only here). */
function startInput(run: RunRecord, spec: JobSpec, dueAt: number, at: number, manualDeadlineMs = MANUAL_START_DEADLINE_MS): StartInput {
  const manual = isManualTrigger(run.trigger);
  const nextSlot = manual ? undefined : slotAfter(spec, run.scheduledAt);
  return {
    trigger: run.trigger,
    policy: spec.misfirePolicy,
    scheduledAt: run.scheduledAt,
    dueAt,
    at,
    deadlineMs: manual ? manualDeadlineMs : slotStartDeadline(spec, run.scheduledAt, nextSlot),
    catchupWindowMs: spec.catchupWindowMs,
    nextSlot,
  };
}

/** Ends a run shed at its start deadline: skipped, no request sent, counted on its job and in the metrics. */
async function shedUnstarted(
  deps: RunWorkerDeps,
  entry: AcceptedRun,
  progress: RunProgress,
  spec: JobSpec,
  reason: string,
  release: () => void,
  giveUp: () => boolean,
): Promise<RunRecord> {
  const done = await endUnstarted(deps, entry, progress, { kind: "end", status: "skipped", error: "", result: `skipped: ${reason}` }, release, giveUp);
  deps.overload?.shed("start_deadline", 1);
  deps.bookkeeping.shed(done, spec);
  return done;
}

/**
 * A run that executes the job's newer version: it says so (watchers and the final state see the
 * version it ran), and waits for its due time under that version's jitter when that is later.
 */
async function rebind(deps: RunWorkerDeps, entry: AcceptedRun, progress: RunProgress, changes: Pick<RunRecord, "jobVersion" | "dueAt">): Promise<void> {
  progress.change(changes);
  const wait = changes.dueAt - deps.clock.now();
  if (wait <= 0 || entry.cancellation.cancelled) return;
  await new Promise<void>((resolve) => {
    const timer = deps.clock.setTimer(wait, () => {
      off();
      resolve();
    });
    const off = entry.cancellation.onCancel(() => {
      timer.cancel();
      resolve();
    });
  });
}

/**
 * Runs one run from queued to a final state; resolves with the run as it ends (undefined when
 * left as stored). `requestsDone` is called once the run's requests are over; what it returns is
 * awaited before the final state is written.
 */
async function execute(
  deps: RunWorkerDeps,
  tracking: ProgressContext,
  entry: AcceptedRun,
  stopping: () => boolean,
  release: () => void,
  requestsDone: () => Promise<void> | undefined,
): Promise<RunRecord | undefined> {
  if (entry.dropped) return undefined;
  const progress = createRunProgress(entry.run, tracking);
  entry.progress = progress;
  const giveUp = () => stopping() && entry.reason === SHUTDOWN;
  try {
    if (entry.cancellation.cancelled) {
      const cancelled = await progress.settle({ status: "cancelled", finishedAt: deps.clock.now(), error: entry.reason || "cancelled" }, giveUp);
      entry.settled = true;
      return cancelled;
    }
    const binding = await bindRun(deps.jobs, entry.run);
    if (binding.kind === "end") return await endUnstarted(deps, entry, progress, binding, release, giveUp);
    const spec = binding.kind === "execute" ? binding.spec : undefined;
    if (binding.kind === "execute" && binding.changes) await rebind(deps, entry, progress, binding.changes);
    const startedAt = deps.clock.now();
    const dueAt = binding.kind === "execute" ? (binding.changes?.dueAt ?? entry.run.dueAt) : entry.run.dueAt;
    // The start deadline: decided without the job's schedule unless the run is over a second late.
    if (spec && !surelyOnTime(dueAt, startedAt)) {
      const start = decideStart(startInput(entry.run, spec, dueAt, startedAt, deps.manualStartDeadlineMs));
      if (start.action === "skip") return await shedUnstarted(deps, entry, progress, spec, start.reason, release, giveUp);
      if (start.late) deps.overload?.startedLate();
    }
    deps.metrics.runStarted(startedAt - entry.run.dueAt);
    // A DAG starts from the tasks that already succeeded (a redrive's, or those of this run before its replica died);
    // attempts recorded by an earlier execution (interrupted by a shutdown) stay: numbering resumes after them.
    const taskResults = resumeTaskResults(spec?.tasks ?? [], entry.run.taskResults);
    progress.change({ status: "running", startedAt, nodeId: deps.nodeId, attempts: entry.run.attempts, taskResults });
    const outcome = spec ? await perform(deps, spec, entry.run, progress, entry.cancellation, taskResults) : undefined;
    // The run ended with its requests: the wait for the other runs' requests is not its duration.
    const finishedAt = deps.clock.now();
    progress.finishing();
    const sendsFirst = requestsDone();
    if (sendsFirst) await sendsFirst;
    const done = await finish(deps, progress, outcome, entry.reason, { startedAt, finishedAt }, giveUp);
    entry.settled = isFinal(done.status);
    entry.run = done;
    release();
    if (spec && isFinal(done.status)) deps.bookkeeping.finished(done, spec);
    return done;
  } catch (err) {
    // Preempted: someone else finished or took over the run. Any other error here means the
    // store stayed unreachable through shutdown: the run is left as stored, to be claimed again.
    if (err instanceof RunPreempted) {
      entry.settled = isFinal(err.run.status);
      return err.run;
    }
    if (!giveUp()) throw err;
    return undefined;
  }
}

async function perform(
  deps: RunWorkerDeps,
  spec: JobSpec,
  run: RunRecord,
  progress: RunProgress,
  signal: CancelSignal,
  previous: TaskResultRecord[],
): Promise<Outcome> {
  const loopDeps: AttemptLoopDeps = { http: deps.http, secrets: deps.secrets, now: deps.clock.now, clock: deps.clock };
  // A task may still lack both while its job is built; a scheduled run of it fails naming why.
  const targetOf = (t: { target?: HttpTargetSpec; handler: string }) =>
    t.target ?? deps.handlers.get(t.handler) ?? (t.handler ? `handler ${JSON.stringify(t.handler)} not configured` : "neither a target nor a handler");
  if (spec.tasks.length > 0) {
    return runDag(loopDeps, {
      tasks: spec.tasks,
      targetOf,
      retry: spec.retry,
      runId: run.runId,
      jobId: run.jobId,
      scheduledAt: run.scheduledAt,
      nodeId: deps.nodeId,
      signal,
      previous,
      onProgress: async (taskResults) => progress.change({ taskResults }),
    });
  }
  const target = targetOf(spec);
  if (typeof target === "string") return { ok: false, cancelled: false, error: target };
  const ctx = { runId: run.runId, jobId: run.jobId, scheduledAt: run.scheduledAt, nodeId: deps.nodeId };
  return runAttempts(
    loopDeps,
    target,
    spec.retry,
    ctx,
    signal,
    (attempts) => {
      const last = attempts[attempts.length - 1]!;
      // An attempt the node cut short says nothing of the target.
      if (!last.interrupted) deps.metrics.attempt(last.error === "");
      progress.change({ attempts: [...attempts] });
    },
    run.attempts,
  );
}

async function finish(
  deps: RunWorkerDeps,
  progress: RunProgress,
  outcome: Outcome | undefined,
  reason: string,
  { startedAt, finishedAt }: { startedAt: number; finishedAt: number },
  giveUp: () => boolean,
): Promise<RunRecord> {
  if (reason === SHUTDOWN && outcome?.cancelled) {
    return progress.settle({ status: "queued", error: "interrupted by a node shutdown; will run again" }, giveUp);
  }
  const jobGone = outcome !== undefined && !outcome.ok && !outcome.cancelled && !(await jobExists(deps, progress.current().jobId));
  const final = finalState(outcome, reason, jobGone);
  const done = await progress.settle(
    { ...final, finishedAt, durationMs: finishedAt - startedAt, ...(final.status === "failed" ? { deadLetteredAt: finishedAt } : {}) },
    giveUp,
  );
  deps.metrics.runFinished(final.status);
  return done;
}

/** Whether the run's job still exists: a failure of a deleted job's run is no dead letter (rare path: one read). */
async function jobExists(deps: RunWorkerDeps, jobId: string): Promise<boolean> {
  deps.jobs.forget(jobId);
  return (await deps.jobs.job(jobId)) !== undefined;
}
