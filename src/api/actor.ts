import type { HandlerContext } from "@connectrpc/connect";
import type { Actor } from "../app/jobs.js";

/** Header naming who makes a change, recorded in the version history. */
export const ACTOR_HEADER = "x-cronmesh-actor";
const MAX_ACTOR_LENGTH = 200;

/** The caller, from the actor header; "anonymous" when absent. */
export function actorOf(ctx: HandlerContext): Actor {
  const raw = ctx.requestHeader.get(ACTOR_HEADER)?.trim() ?? "";
  return { id: raw.slice(0, MAX_ACTOR_LENGTH) || "anonymous" };
}
