import { CronError } from "../domain/cron-error.js";
import { FIELD_LIMITS } from "../domain/job-validation.js";

/** Largest page any list RPC serves. */
export const MAX_PAGE_SIZE = FIELD_LIMITS.pageSize;
/** Page size when the caller gives none. */
export const DEFAULT_PAGE_SIZE = 20;

/** An opaque cursor: base64url of the position it continues from. */
export function encodePageToken(position: string | undefined): string {
  return position === undefined ? "" : Buffer.from(JSON.stringify({ p: position })).toString("base64url");
}

/** The position inside a page token; invalid_argument naming `page_token` when it is not one of ours. */
export function decodePageToken(token: string, field = "page_token"): string | undefined {
  if (!token) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { p?: unknown };
    if (typeof parsed.p === "string") return parsed.p;
  } catch {
    // fall through to the error below
  }
  throw CronError.invalid(field, "is not a token returned by this service");
}

/** A page size within bounds: 0 means the default; negative or too large values are refused. */
export function pageSize(value: number, field: string): number {
  if (value < 0 || value > MAX_PAGE_SIZE) throw CronError.invalid(field, `must be between 1 and ${MAX_PAGE_SIZE}`);
  return value || DEFAULT_PAGE_SIZE;
}
