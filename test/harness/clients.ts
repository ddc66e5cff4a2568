import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { CronService } from "../../gen/cronmesh/v1/cron_service_pb.js";
import { RunService } from "../../gen/cronmesh/v1/run_service_pb.js";
import { RunStatus, type Run } from "../../gen/cronmesh/v1/run_pb.js";

/** Typed clients of one node (Connect protocol over HTTP/1.1). */
export interface Clients {
  cron: Client<typeof CronService>;
  runs: Client<typeof RunService>;
}

/** Clients for a node's base URL; every call carries `headers` (credentials, when the node authenticates). */
export function clientsFor(baseUrl: string, headers: Record<string, string> = {}): Clients {
  const withHeaders: Interceptor = (next) => (req) => {
    for (const [name, value] of Object.entries(headers)) if (!req.header.has(name)) req.header.set(name, value);
    return next(req);
  };
  const transport = createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors: [withHeaders] });
  return { cron: createClient(CronService, transport), runs: createClient(RunService, transport) };
}

const FINAL = [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.SKIPPED, RunStatus.CANCELLED, RunStatus.DEAD_LETTERED];

/** Polls GetRun until the run is final (or `until` holds); fails after `timeoutMs`. */
export async function waitRun(c: Clients, runId: string, timeoutMs = 15_000, until: (r: Run) => boolean = (r) => FINAL.includes(r.status)): Promise<Run> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { run } = await c.runs.getRun({ runId });
    if (run && until(run)) return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${run ? RunStatus[run.status] : "missing"} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The Connect code of a failed call, or "ok". */
export async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}
