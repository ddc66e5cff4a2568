import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestNode, type TestNode } from "../harness/node.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BUF = `${ROOT}node_modules/.bin/buf`;

/** Calls an RPC with `buf curl` (a client nobody here wrote); returns its JSON output and exit code. */
async function bufCurl(baseUrl: string, protocol: string, http2: boolean, rpc: string, body: object) {
  const args = ["curl", "--schema", ROOT, "--protocol", protocol, "-d", JSON.stringify(body)];
  if (http2) args.push("--http2-prior-knowledge");
  args.push(`${baseUrl}/cronmesh.v1.${rpc}`);
  try {
    const { stdout } = await run(BUF, args, { cwd: ROOT, timeout: 60_000 });
    return { ok: true, json: JSON.parse(stdout) as Record<string, any> };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    const text = e.stdout?.trim() || e.stderr?.trim() || "";
    return { ok: false, json: JSON.parse(text.slice(text.indexOf("{"))) as Record<string, any> };
  }
}

const CASES: { protocol: string; http2: boolean }[] = [
  { protocol: "grpc", http2: true },
  { protocol: "grpcweb", http2: true },
  { protocol: "grpcweb", http2: false },
  { protocol: "connect", http2: true },
  { protocol: "connect", http2: false },
];

describe("one port speaks gRPC, gRPC-Web and Connect (proved with buf curl)", () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode("sqlite");
  });
  afterAll(async () => {
    await t?.stop();
  });

  it.each(CASES)("creates and reads a job over $protocol (HTTP/2: $http2)", async ({ protocol, http2 }) => {
    const created = await bufCurl(t.baseUrl, protocol, http2, "CronService/CreateJob", {
      job: { name: `via-${protocol}`, schedule: "*/5 * * * *", timezone: "Europe/Belgrade", target: { url: "http://127.0.0.1:9/hook" } },
    });
    expect(created.ok).toBe(true);
    const jobId = created.json.job.jobId as string;
    expect(created.json.job).toMatchObject({ name: `via-${protocol}`, status: "JOB_STATUS_ACTIVE", version: "1" });
    const got = await bufCurl(t.baseUrl, protocol, http2, "CronService/GetJob", { jobId });
    expect(got.json.job.jobId).toBe(jobId);
  });

  it.each(CASES)("maps errors to status codes over $protocol (HTTP/2: $http2)", async ({ protocol, http2 }) => {
    const missing = await bufCurl(t.baseUrl, protocol, http2, "RunService/GetRun", { runId: "run_missing" });
    expect(missing).toMatchObject({ ok: false, json: { code: "not_found" } });
    const invalid = await bufCurl(t.baseUrl, protocol, http2, "CronService/PreviewSchedule", { schedule: "0 0 31 2 *" });
    expect(invalid.json.code).toBe("invalid_argument");
    expect(invalid.json.message).toMatch(/^schedule: /);
  });
});
