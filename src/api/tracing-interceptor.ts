import { ConnectError, type Interceptor } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { Logger } from "pino";
import { isServerFault, rpcCodeAttributes, rpcSpanOf } from "../telemetry/rpc-tracing.js";
import { withSpan } from "../telemetry/spans.js";

/**
 * Gives every RPC (REST calls included: they reach the same handlers) a SERVER span that continues
 * the caller's W3C trace context, and logs it inside that span: at debug level, or as an error
 * with the underlying cause when the failure is the server's (the caller sees only "internal error").
 */
export function tracingInterceptor(log: Logger): Interceptor {
  return (next) => (req) => {
    const { name, system, options } = rpcSpanOf(req.service.typeName, req.method.name, req.header);
    return withSpan(name, options, async (span) => {
      try {
        const res = await next(req);
        span.setAttributes(rpcCodeAttributes(system, undefined));
        log.debug({ rpc: name, code: "ok" }, "rpc served");
        return res;
      } catch (err) {
        const error = ConnectError.from(err);
        span.setAttributes(rpcCodeAttributes(system, error.code));
        const code = codeToString(error.code);
        if (isServerFault(error.code)) log.error({ rpc: name, code, err: error.cause ?? error }, "rpc failed");
        else log.debug({ rpc: name, code }, "rpc refused");
        throw err;
      }
    });
  };
}
