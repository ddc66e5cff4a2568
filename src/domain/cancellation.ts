/**
 * The cancel side of a run as its steps see it: whether it was cancelled, and a way to hear of it.
 * A run's cancel (a cancel RPC, a replace, a shutdown) reaches the request in flight or the retry
 * back-off through it.
 */
export interface CancelSignal {
  readonly cancelled: boolean;
  /**
   * True once the run may start no new attempt: its job was paused (the attempt in flight
   * finishes, nothing follows it), or it was cancelled.
   */
  readonly draining: boolean;
  /**
   * Calls `listener` once when the run starts draining or is cancelled (at once if it already
   * is); a retry back-off ends on it. Returns the unsubscribe function.
   */
  onDrain(listener: () => void): () => void;
  /**
   * True when the cancel is a hand-back, not an end: the run stops here to execute again (its
   * node shuts down), so the attempt it cut short is recorded as interrupted.
   */
  readonly interrupted?: boolean;
  /**
   * Calls `listener` once when the run is cancelled (at once if it already is). Returns the
   * unsubscribe function; a step unsubscribes when it ends without being cancelled.
   */
  onCancel(listener: () => void): () => void;
}

/**
 * A cancel source with its signal: the run worker's counterpart of an AbortController, made for
 * one per run in busy seconds. An AbortController costs an EventTarget, a lazily built signal and
 * an event object per listener call; this costs one object and, while nothing listens, nothing
 * more. Listeners run synchronously in `cancel()`.
 */
export class Cancellation implements CancelSignal {
  private done = false;
  private drained = false;
  /** Listeners of {@link onDrain}: rare (a run in its retry back-off), so a plain array. */
  private drainListeners: (() => void)[] = [];
  private handedBack = false;
  /** The first listener lives in a field: a run has one step listening at a time (DAG waves aside). */
  private first: (() => void) | undefined;
  private more: (() => void)[] | undefined;

  get cancelled(): boolean {
    return this.done;
  }

  get draining(): boolean {
    return this.drained || this.done;
  }

  /** No new attempt may start; the request in flight is not aborted. Drain listeners are called once. */
  drain(): void {
    if (this.draining) return;
    this.drained = true;
    this.notifyDrain();
  }

  onDrain(listener: () => void): () => void {
    if (this.draining) {
      listener();
      return noop;
    }
    this.drainListeners.push(listener);
    return () => {
      const i = this.drainListeners.indexOf(listener);
      if (i >= 0) this.drainListeners.splice(i, 1);
    };
  }

  private notifyDrain(): void {
    const listeners = this.drainListeners;
    this.drainListeners = [];
    for (const listener of listeners) listener();
  }

  get interrupted(): boolean {
    return this.handedBack;
  }

  /** Cancels as a hand-back (see {@link CancelSignal.interrupted}); a run already cancelled stays plainly cancelled. */
  interrupt(): void {
    if (!this.done) this.handedBack = true;
    this.cancel();
  }

  /** Cancels: every listener (drain listeners too) is called once, then dropped. Later calls do nothing. */
  cancel(): void {
    if (this.done) return;
    const wasDraining = this.draining;
    this.done = true;
    if (!wasDraining) this.notifyDrain();
    const first = this.first;
    const more = this.more;
    this.first = undefined;
    this.more = undefined;
    first?.();
    if (more) for (const listener of more) listener();
  }

  onCancel(listener: () => void): () => void {
    if (this.done) {
      listener();
      return noop;
    }
    if (!this.first) {
      this.first = listener;
      return () => {
        if (this.first === listener) this.first = undefined;
      };
    }
    (this.more ??= []).push(listener);
    return () => {
      const i = this.more?.indexOf(listener) ?? -1;
      if (i >= 0) this.more!.splice(i, 1);
    };
  }
}

/** A signal that is never cancelled, for work that nothing can cancel. */
export const NEVER_CANCELLED: CancelSignal = { cancelled: false, draining: false, onCancel: () => noop, onDrain: () => noop };

const noop = () => undefined;
