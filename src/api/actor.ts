import type { HandlerContext } from "@connectrpc/connect";
import type { Actor } from "../app/jobs.js";
import { identityOf } from "./auth-interceptor.js";

/** Header naming who makes a change, recorded in the version history; ignored when authentication is on. */
export const ACTOR_HEADER = "x-cronmesh-actor";
const MAX_ACTOR_LENGTH = 200;

/**
 * Who makes the call: the authenticated subject when authentication is on; without it, the
 * actor header (callers name themselves), or "anonymous" when absent. The project is the
 * identity's: every project without authentication.
 */
export function actorOf(ctx: HandlerContext): Actor {
  const identity = identityOf(ctx);
  const project = identity.projectId;
  if (identity.authMode !== "none") return { id: identity.subject, project };
  const raw = ctx.requestHeader.get(ACTOR_HEADER)?.trim() ?? "";
  return { id: raw.slice(0, MAX_ACTOR_LENGTH) || identity.subject, project };
}
