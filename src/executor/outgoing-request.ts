import type { AuthSpec, HttpTargetSpec } from "../domain/job.js";
import { isCredentialHeader, SECRET_REF_PREFIX } from "../domain/job-secrets.js";
import { resolveSecret, type SecretSource } from "./secrets.js";

/** Identity of one attempt, sent to the target on every request. */
export interface AttemptContext {
  runId: string;
  /** The DAG task the request belongs to; absent for a run without tasks. */
  taskId?: string;
  jobId: string;
  scheduledAt: number;
  attempt: number;
  /** The replica sending the request (tells a target which node called it). */
  nodeId?: string;
  /** W3C trace context of the attempt, when tracing is on. */
  traceparent?: string;
}

/** A fully resolved HTTP request: secrets substituted, cronmesh headers added. */
export interface OutgoingRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** The whole attempt, redirects included. */
  timeoutMs: number;
  /** Follow 3xx answers (see `nextHop` in redirects.ts). */
  followRedirects?: boolean;
  /** Lower-case names of the headers carrying credentials: not sent on when a redirect leaves the origin. */
  credentialHeaders?: readonly string[];
  /** Bytes of the response body kept on the attempt (absent: the client's default). */
  excerptBytes?: number;
  /**
   * The credential values this request sends (resolved secrets, and the credential headers they
   * go in): redacted from whatever of them the target echoes in its answer (see {@link redactCredentials}).
   */
  credentials?: readonly string[];
}

/** Header names cronmesh adds; targets use the idempotency key to drop duplicate deliveries. */
export const HEADERS = {
  idempotencyKey: "idempotency-key",
  jobId: "x-cronmesh-job-id",
  runId: "x-cronmesh-run-id",
  taskId: "x-cronmesh-task-id",
  scheduledAt: "x-cronmesh-scheduled-at",
  attempt: "x-cronmesh-attempt",
  node: "x-cronmesh-node",
} as const;

/** Builds the request of one attempt: target headers and auth with secrets resolved, then cronmesh headers. */
export function buildRequest(target: HttpTargetSpec, ctx: AttemptContext, secrets: SecretSource): OutgoingRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(target.headers)) headers[name.toLowerCase()] = resolveSecret(secrets, value);
  if (target.auth) Object.assign(headers, authHeaders(target.auth, secrets));
  headers[HEADERS.idempotencyKey] = idempotencyKey(ctx);
  headers[HEADERS.runId] = ctx.runId;
  if (ctx.taskId !== undefined) headers[HEADERS.taskId] = ctx.taskId;
  headers[HEADERS.jobId] = ctx.jobId;
  headers[HEADERS.scheduledAt] = isoOf(ctx.scheduledAt);
  headers[HEADERS.attempt] = String(ctx.attempt);
  if (ctx.nodeId) headers[HEADERS.node] = ctx.nodeId;
  if (ctx.traceparent) headers.traceparent = ctx.traceparent;
  const hasBody = target.body !== "" && target.method !== "GET" && target.method !== "HEAD";
  if (hasBody && !headers["content-type"]) headers["content-type"] = looksLikeJson(target.body) ? "application/json" : "text/plain";
  const req: OutgoingRequest = { url: target.url, method: target.method, headers, body: hasBody ? target.body : undefined, timeoutMs: target.timeoutMs };
  // Most targets carry no credentials at all: their requests skip the search for them.
  const withCredentials = target.followRedirects || target.auth || hasAny(target.headers) ? credentialHeaders(target) : [];
  if (target.followRedirects) {
    req.followRedirects = true;
    req.credentialHeaders = withCredentials;
  }
  if (target.responseExcerptBytes) req.excerptBytes = target.responseExcerptBytes;
  const credentials = withCredentials.length > 0 ? credentialValues(target, withCredentials, headers, secrets) : [];
  if (credentials.length > 0) req.credentials = credentials;
  return req;
}

/** True when the record has a key (without building the list of its keys). */
function hasAny(record: Record<string, string>): boolean {
  for (const _ in record) return true;
  return false;
}

/** Shorter values are not redacted: they would blank out ordinary words of an answer. */
const MIN_REDACTED_LENGTH = 4;
/** What a credential echoed by a target reads as on the attempt (as in API answers). */
const REDACTED = "[redacted]";

/** The credential values a request sends: its credential headers' values and its auth's secrets, resolved. */
function credentialValues(target: HttpTargetSpec, names: readonly string[], headers: Record<string, string>, secrets: SecretSource): string[] {
  const values = names.flatMap((n) => headers[n] ?? []);
  const auth = target.auth;
  if (auth?.kind === "basic") values.push(resolveSecret(secrets, auth.password));
  if (auth?.kind === "bearer" || auth?.kind === "service_token") values.push(resolveSecret(secrets, auth.token));
  if (auth?.kind === "api_key") values.push(resolveSecret(secrets, auth.key));
  // Longest first: a header value ("Bearer x") goes whole before the token inside it.
  return [...new Set(values.filter((v) => v.length >= MIN_REDACTED_LENGTH))].sort((a, b) => b.length - a.length);
}

/** The text with every occurrence of each credential replaced by `[redacted]`. */
export function redactCredentials(text: string, credentials: readonly string[] | undefined): string {
  if (!credentials || text === "") return text;
  return credentials.reduce((out, secret) => out.split(secret).join(REDACTED), text);
}

/**
 * The headers of a target that carry credentials: those of its auth, those named like
 * credentials, and any whose value is a secret reference.
 */
function credentialHeaders(target: HttpTargetSpec): string[] {
  const names = new Set(["authorization", "proxy-authorization", "cookie"]);
  if (target.auth?.kind === "api_key" || target.auth?.kind === "service_token") names.add(target.auth.header.toLowerCase());
  for (const [name, value] of Object.entries(target.headers)) {
    if (isCredentialHeader(name) || value.startsWith(SECRET_REF_PREFIX)) names.add(name.toLowerCase());
  }
  return [...names];
}

/**
 * The same for every attempt of one request, different for every request a target must not drop
 * as a duplicate: the run id, and for a DAG task `<runId>:<taskId>` (two tasks of one run calling
 * the same target are two deliveries).
 */
function idempotencyKey(ctx: Pick<AttemptContext, "runId" | "taskId">): string {
  return ctx.taskId === undefined ? ctx.runId : `${ctx.runId}:${ctx.taskId}`;
}

/** The last slot formatted: the runs of a busy second share their slot, formatted once for all of them. */
let lastSlot = { at: NaN, iso: "" };

function isoOf(at: number): string {
  if (lastSlot.at !== at) lastSlot = { at, iso: new Date(at).toISOString() };
  return lastSlot.iso;
}

function authHeaders(auth: AuthSpec, secrets: SecretSource): Record<string, string> {
  switch (auth.kind) {
    case "basic": {
      const pair = `${resolveSecret(secrets, auth.username)}:${resolveSecret(secrets, auth.password)}`;
      return { authorization: `Basic ${Buffer.from(pair).toString("base64")}` };
    }
    case "bearer":
      return { authorization: `Bearer ${resolveSecret(secrets, auth.token)}` };
    case "api_key":
      return { [auth.header.toLowerCase()]: resolveSecret(secrets, auth.key) };
    case "service_token":
      return { [auth.header.toLowerCase()]: resolveSecret(secrets, auth.token) };
  }
}

function looksLikeJson(body: string): boolean {
  const c = body.trimStart()[0];
  return c === "{" || c === "[";
}
