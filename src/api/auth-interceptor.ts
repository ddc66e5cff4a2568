import type { DescMethod } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { createContextKey, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { RunService } from "../../gen/cronmesh/v1/run_service_pb.js";
import type { Authenticator } from "../auth/authenticator.js";
import { authorize, type Access, type Identity } from "../auth/identity.js";
import { CronError } from "../domain/cron-error.js";
import { toConnectError } from "./error-codes.js";

/** The caller's identity, set by {@link authInterceptor} for every RPC it guards. */
export const IDENTITY = createContextKey<Identity | undefined>(undefined, { description: "cronmesh identity" });

/** Response header naming the authentication scheme of a 401 (RFC 9110). */
export const WWW_AUTHENTICATE = "www-authenticate";

/**
 * Services open to every caller: probes and schema discovery, which hold no job data. Any other
 * service, present or future, is guarded.
 */
const OPEN_SERVICES = new Set(["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]);

/** Server streams that only read (a stream cannot be marked NO_SIDE_EFFECTS for Connect GET, so it is named here). */
const READ_ONLY_STREAMS = new Set<DescMethod>([RunService.method.watchRuns]);

/** What a method needs: reading when the proto marks it `NO_SIDE_EFFECTS` (or it is a read-only stream), else writing. */
export function accessOf(method: DescMethod): Access {
  return method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS || READ_ONLY_STREAMS.has(method) ? "read" : "write";
}

/**
 * Authenticates and authorizes every RPC, whatever its protocol (gRPC, gRPC-Web, Connect, and
 * REST through the in-process transport): no credentials or bad ones → Unauthenticated with a
 * `WWW-Authenticate` challenge; a reader calling a write → PermissionDenied. The identity is then
 * in {@link IDENTITY} for the handlers.
 */
export function authInterceptor(authenticator: Authenticator): Interceptor {
  return (next) => async (req) => {
    if (OPEN_SERVICES.has(req.service.typeName)) return next(req);
    let identity: Identity;
    try {
      identity = await authenticator.authenticate(req.header);
    } catch (err) {
      throw refusal(err, authenticator.challenge);
    }
    const denied = authorize(identity, accessOf(req.method));
    if (denied) throw toConnectError(denied);
    req.contextValues.set(IDENTITY, identity);
    return next(req);
  };
}

function refusal(err: unknown, challenge: string) {
  const error = toConnectError(err);
  if (err instanceof CronError && err.code === "unauthenticated" && challenge) error.metadata.set(WWW_AUTHENTICATE, challenge);
  return error;
}

/** The identity of the caller of an RPC; an internal error if the RPC was not authenticated (fails closed). */
export function identityOf(ctx: HandlerContext): Identity {
  const identity = ctx.values.get(IDENTITY);
  if (!identity) throw new CronError("internal", "the RPC was not authenticated: authInterceptor is not installed");
  return identity;
}
