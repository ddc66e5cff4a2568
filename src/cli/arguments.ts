import { timestampFromMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError } from "commander";
import { parseDurationMs } from "./durations.js";

/** Commander parser of a duration option ("30s", "5m", "1h30m") into milliseconds. */
export function durationArg(value: string): number {
  try {
    return parseDurationMs(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** Commander parser of a positive whole number. */
export function countArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError(`expected a whole number of 1 or more, got ${JSON.stringify(value)}`);
  return n;
}

/** Commander parser of a job version number. */
export function versionArg(value: string): bigint {
  return BigInt(countArg(value));
}

/** Commander parser of an RFC 3339 time ("2026-03-26T08:00:00Z", "2026-03-26T09:00:00+01:00"). */
export function timeArg(value: string): Timestamp {
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new InvalidArgumentError(`expected an RFC 3339 time such as 2026-03-26T08:00:00Z, got ${JSON.stringify(value)}`);
  return timestampFromMs(ms);
}
