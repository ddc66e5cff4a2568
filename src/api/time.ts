import { durationFromMs, durationMs, timestampFromMs, timestampMs, type Duration, type Timestamp } from "@bufbuild/protobuf/wkt";
import { CronError } from "../domain/cron-error.js";

/** Epoch ms of an optional timestamp; undefined stays undefined. */
export function msOf(ts: Timestamp | undefined): number | undefined {
  return ts === undefined ? undefined : timestampMs(ts);
}

/** An optional timestamp from optional epoch ms. */
export function tsOf(ms: number | undefined): Timestamp | undefined {
  return ms === undefined ? undefined : timestampFromMs(ms);
}

/** Milliseconds of an optional duration (0 when unset); negative durations are refused. */
export function durationToMs(d: Duration | undefined, field: string): number {
  if (!d) return 0;
  const ms = durationMs(d);
  if (ms < 0) throw CronError.invalid(field, "must not be negative");
  return ms;
}

/** A duration, or undefined for 0. */
export function durationOf(ms: number): Duration | undefined {
  return ms ? durationFromMs(ms) : undefined;
}
