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

/** How a list request pages: by cursor (page_size/page_token) or by offset (limit with offset or page). */
export interface Paging {
  pageSize: number;
  /** The position a cursor page continues from. */
  cursor?: string;
  /** Items skipped before the page (0 in cursor mode). */
  offset: number;
  /** True unless page_size or page_token was given. */
  byOffset: boolean;
}

/** The paging fields every list request shares (0 and "" when unset). */
export interface PagingRequest {
  pageSize: number;
  pageToken: string;
  limit: number;
  offset: number;
  page: number;
}

/**
 * The paging a list request asks for: page_size/page_token (cursor), or limit with offset or a
 * 1-based page (offset); mixing the two, or offset with page, is refused naming the field.
 */
export function pagingOf(req: PagingRequest): Paging {
  if (req.pageToken || req.pageSize) {
    if (req.page || req.limit || req.offset) throw CronError.invalid("page", "use either page_size/page_token or limit with offset or page, not both");
    return { pageSize: pageSize(req.pageSize, "page_size"), cursor: decodePageToken(req.pageToken), offset: 0, byOffset: false };
  }
  if (req.page < 0) throw CronError.invalid("page", "must be 1 or more");
  if (req.offset < 0) throw CronError.invalid("offset", "must not be negative");
  if (req.page && req.offset) throw CronError.invalid("offset", "use either offset or page, not both");
  const limit = pageSize(req.limit, "limit");
  return { pageSize: limit, offset: req.offset || ((req.page || 1) - 1) * limit, byOffset: true };
}
