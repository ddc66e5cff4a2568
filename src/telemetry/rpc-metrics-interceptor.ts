import { ConnectError, type Interceptor } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { Metrics } from "./metrics.js";

/** Observes every RPC's latency and outcome code (REST calls included: they use the same handlers). */
export function rpcMetricsInterceptor(metrics: Metrics, now: () => number): Interceptor {
  return (next) => async (req) => {
    const started = now();
    let code = "ok";
    try {
      return await next(req);
    } catch (err) {
      code = codeToString(ConnectError.from(err).code);
      throw err;
    } finally {
      metrics.rpc(req.method.name, code, (now() - started) / 1000);
    }
  };
}
