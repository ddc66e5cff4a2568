import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli, CLI, runCli, streamCli, type CliOptions, type CliResult } from "../harness/cli.js";
import { clientsFor, waitRun, type Clients } from "../harness/clients.js";
import { startTestNode, type StoreKind, type TestNode } from "../harness/node.js";
import { startSink, type Sink } from "../harness/sink.js";
import { RunStatus } from "../../gen/cronmesh/v1/run_pb.js";

type Protocol = "connect" | "grpc";

/** A local time in the CLI's zone (Asia/Kolkata, +05:30): times are printed local, to the second. */
const LOCAL_TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+05:30/;

/** The cells of a table line (columns are separated by two spaces or more). */
function cells(line: string): string[] {
  return line.split(/ {2,}/);
}

/** The table's lines whose first cell is `id`. */
function rowOf(stdout: string, id: string): string[] {
  const line = stdout.split("\n").find((l) => cells(l)[0] === id);
  if (!line) throw new Error(`no row ${id} in:\n${stdout}`);
  return cells(line);
}

/** Asserts that every line of a table starts each column where its header does. */
function expectAligned(stdout: string): void {
  const [header, ...rows] = stdout.trimEnd().split("\n");
  const starts = [...header!.matchAll(/(?:^|(?<= {2}))\S/g)].map((m) => m.index);
  for (const row of rows) {
    for (const start of starts.slice(1)) expect(row[start! - 1], `column at ${start} of ${JSON.stringify(row)}`).toBe(" ");
  }
}

function ok(r: CliResult): string {
  expect(r.stderr, r.stdout).toBe("");
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

function json(r: CliResult): any {
  return JSON.parse(ok(r));
}

/**
 * A scripted $EDITOR: records what it was shown, waits EDIT_SLEEP_MS, replaces EDIT_REPLACE
 * ("from=>to"), then runs the CLI with EDIT_THEN's arguments.
 */
const EDITOR_SCRIPT = `
import { readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
const file = process.argv[2];
const text = readFileSync(file, "utf8");
if (process.env.EDIT_SEEN) writeFileSync(process.env.EDIT_SEEN, text);
if (process.env.EDIT_SLEEP_MS) await new Promise((resolve) => setTimeout(resolve, Number(process.env.EDIT_SLEEP_MS)));
const [from, to] = (process.env.EDIT_REPLACE || "=>").split("=>");
writeFileSync(file, from ? text.replace(from, to) : text);
if (process.env.EDIT_THEN) execFileSync(process.execPath, [${JSON.stringify(CLI)}, ...JSON.parse(process.env.EDIT_THEN)], { stdio: "ignore" });
`;

/** A loopback server that records request headers and refuses every call as unauthenticated, or never answers. */
interface CaptureServer {
  url: string;
  authorizations: string[];
  close(): Promise<void>;
}

async function startCaptureServer(protocol: Protocol, hang: boolean): Promise<CaptureServer> {
  const authorizations: string[] = [];
  const refuse = JSON.stringify({ code: "unauthenticated", message: "token rejected" });
  const server =
    protocol === "grpc"
      ? http2.createServer().on("stream", (stream, headers) => {
          authorizations.push(String(headers.authorization ?? ""));
          if (!hang)
            stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "16", "grpc-message": "token rejected" }, { endStream: true });
        })
      : http.createServer((req, res) => {
          authorizations.push(req.headers.authorization ?? "");
          req.resume();
          if (!hang) res.writeHead(401, { "content-type": "application/json" }).end(refuse);
        });
  const sockets = new Set<import("node:net").Socket>();
  server.on("connection", (s: import("node:net").Socket) => (sockets.add(s), s.once("close", () => sockets.delete(s))));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    authorizations,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

beforeAll(() => buildCli(), 120_000);

/**
 * Every command runs on each store and over each protocol. The two vary independently (the store
 * is behind the server, the protocol in front of it), so pairing them covers both at half the
 * cost of the cross product: each invocation is a process start of the binary.
 */
const MATRIX: [StoreKind, Protocol][] = [
  ["sqlite", "connect"],
  ["mongo", "grpc"],
];

/** Each test starts the binary a dozen times or more; on a busy 2-core machine a start takes up to a second. */
const CLI_TEST_TIMEOUT = 90_000;

describe.each(MATRIX)("the cronmesh CLI on %s over %s", { timeout: CLI_TEST_TIMEOUT }, (store, protocol) => {
  let node: TestNode;
  let sink: Sink;
  let api: Clients;
  let dir: string;
  /** Paths the sink answers 500 for (dead-letter tests turn it off again). */
  const failing = new Set(["/fail"]);

  beforeAll(async () => {
    node = await startTestNode(store);
    sink = await startSink();
    sink.reply((d) => {
      if (failing.has(d.path)) return { status: 500, body: "boom" };
      if (d.path === "/slow") return { status: 200, delayMs: 20_000 };
      return { status: 200, body: "ok" };
    });
    api = clientsFor(node.baseUrl);
    dir = mkdtempSync(join(tmpdir(), "cronmesh-cli-"));
    writeFileSync(join(dir, "editor.mjs"), EDITOR_SCRIPT);
  });
  afterAll(async () => {
    await node?.stop();
    await sink?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (args: string[], options?: CliOptions) => runCli(["--server", node.baseUrl, "--protocol", protocol, ...args], options);
  let files = 0;
  const file = (text: string) => {
    const path = join(dir, `file-${++files}.yaml`);
    writeFileSync(path, text);
    return path;
  };
  const jobYaml = (name: string, extra = "", path = "/ok") =>
    `name: ${name}\nschedule: "0 9 * * *"\ntimezone: Europe/Belgrade\ntarget:\n  url: ${sink.url}${path}\n  timeout: 5s\n${extra}`;
  const createJob = async (name: string, extra = "", path = "/ok"): Promise<string> => {
    const out = ok(await cli(["jobs", "create", "-f", file(jobYaml(name, extra, path))]));
    return /created job (job_\w+)/.exec(out)![1]!;
  };

  it("creates a job from a file, lists it as an aligned table and as JSON, and shows it", async () => {
    const out = ok(
      await cli([
        "jobs",
        "create",
        "-f",
        file(jobYaml("invoice", "retry:\n  max_attempts: 2\n  initial_backoff: 500ms\nconcurrency_policy: allow\ntags:\n  team: billing\n")),
      ]),
    );
    const [, jobId] = /^created job (job_\w+) "invoice" \(version 1, active, next run (\S+)\)\n$/.exec(out) ?? [];
    expect(jobId, out).toBeDefined();
    // 09:00 in Belgrade is 13:30 (winter) or 12:30 (summer) in Kolkata.
    expect(out).toMatch(/next run \d{4}-\d\d-\d\dT1[23]:30:00\+05:30/);

    const table = ok(await cli(["jobs", "ls"]));
    expect(cells(table.split("\n")[0]!)).toEqual(["JOB ID", "NAME", "STATUS", "SCHEDULE", "TIMEZONE", "NEXT RUN", "LAST RUN"]);
    const row = rowOf(table, jobId!);
    expect(row.slice(1, 5)).toEqual(["invoice", "active", "0 9 * * *", "Europe/Belgrade"]);
    expect(row[5]).toMatch(LOCAL_TIME);
    expect(row[6]).toBe("-");
    expectAligned(table);

    const listed = json(await cli(["jobs", "ls", "--json", "--status", "active", "--tag", "team=billing"]));
    expect(listed.data.map((j: any) => j.jobId)).toEqual([jobId]);
    expect(listed.data[0]).toMatchObject({
      name: "invoice",
      status: "JOB_STATUS_ACTIVE",
      concurrencyPolicy: "CONCURRENCY_POLICY_ALLOW",
      target: { timeout: "5s" },
      retry: { maxAttempts: 2, initialBackoff: "0.500s" },
    });
    expect(json(await cli(["jobs", "ls", "--json", "--status", "paused"])).data ?? []).toEqual([]);

    const details = ok(await cli(["jobs", "get", jobId!]));
    expect(details).toContain(`Job ID:       ${jobId}\n`);
    expect(details).toContain(`Target:       POST ${sink.url}/ok\n`);
    expect(details).toContain("Retry:        2 attempts, on_failure, backoff 500ms×2 up to 1m\n");
    expect(details).toContain("Tags:         team=billing\n");
    expect(details).toMatch(/Next run: {5}\d{4}-\d\d-\d\dT1[23]:30:00\+05:30\n/);
    expect(json(await cli(["jobs", "get", jobId!, "--json"])).job.jobId).toBe(jobId);
  });

  it("writes a job file with get --yaml that apply reads back unchanged; apply creates, updates with the version check, and refuses ambiguity", async () => {
    const jobId = await createJob("nightly");
    const yaml = ok(await cli(["jobs", "get", jobId, "--yaml"]));
    expect(yaml).toMatch(new RegExp(`^job_id: ${jobId}\nversion: 1\n`));
    expect(yaml).toContain("timeout: 5s");
    expect(yaml).toContain("catchup_window: 1h");
    expect(yaml).not.toContain("created_at");
    const exported = file(yaml);
    expect(ok(await cli(["jobs", "apply", "-f", exported]))).toMatch(new RegExp(`^unchanged job ${jobId} "nightly" \\(version 1,`));
    expect(ok(await cli(["jobs", "apply", "-f", file(jobYaml("nightly"))]))).toMatch(/^unchanged job .* \(version 1,/);

    // By job_id, the file's version checked: version 1 is current.
    expect(ok(await cli(["jobs", "apply", "-f", file(yaml.replace("0 9 * * *", "0 10 * * *"))]))).toMatch(
      new RegExp(`^updated job ${jobId} "nightly" \\(version 2,`),
    );
    // By name, against the version just read; a field left out (timeout) is cleared back to its default.
    const byName = json(
      await cli(["jobs", "apply", "--json", "-f", file(jobYaml("nightly").replace("0 9 * * *", "15 10 * * *").replace("  timeout: 5s\n", ""))]),
    );
    expect(byName.job).toMatchObject({ jobId, version: "3", schedule: "15 10 * * *", target: { timeout: "30s" } });
    // The exported file says version 1: the job has changed since, so the update is refused.
    const stale = await cli(["jobs", "apply", "-f", file(yaml.replace("0 9 * * *", "0 11 * * *"))]);
    expect(stale.code).toBe(5);
    expect(stale.stderr).toBe(`error: conflict: job ${jobId} is at version 3, not 1\n`);

    expect(ok(await cli(["jobs", "apply", "-f", file(jobYaml("weekly"))]))).toMatch(/^created job job_\w+ "weekly" \(version 1,/);
    await createJob("twin");
    await createJob("twin");
    const ambiguous = await cli(["jobs", "apply", "-f", file(jobYaml("twin"))]);
    expect(ambiguous.code).toBe(6);
    expect(ambiguous.stderr).toMatch(
      /^error: failed precondition: 2 jobs are named "twin" in project default \(job_\w+, job_\w+\); put the job_id of one in the file\n$/,
    );
  });

  it("edits a job in $EDITOR and applies only what changed, refusing an edit of a job changed meanwhile", async () => {
    const jobId = await createJob("edited");
    const seen = join(dir, "seen.yaml");
    const edit = (env: Record<string, string>) =>
      runCli(["jobs", "edit", jobId], {
        env: { CRONMESH_SERVER: node.baseUrl, CRONMESH_PROTOCOL: protocol, EDITOR: `node ${join(dir, "editor.mjs")}`, EDIT_SEEN: seen, ...env },
      });

    expect(ok(await edit({ EDIT_REPLACE: "0 9 * * *=>30 9 * * *" }))).toMatch(new RegExp(`^updated job ${jobId} "edited" \\(version 2,`));
    const shown = readFileSync(seen, "utf8");
    expect(shown).toMatch(new RegExp(`^# Editing job ${jobId} at version 1\\.`));
    expect(shown).toContain(`job_id: ${jobId}\nversion: 1\n`);
    expect(shown).toContain("schedule: 0 9 * * *\n");
    expect(json(await cli(["jobs", "get", jobId, "--json"])).job).toMatchObject({ schedule: "30 9 * * *", version: "2", target: { timeout: "5s" } });

    expect(ok(await edit({}))).toBe(`job ${jobId} unchanged\n`);
    expect(json(await cli(["jobs", "get", jobId, "--json"])).job.version).toBe("2");

    // The editor's session outlives a pause made meanwhile: the update names version 2, the job is at 3.
    const conflict = await edit({ EDIT_REPLACE: "30 9 * * *=>45 9 * * *", EDIT_THEN: JSON.stringify(["jobs", "pause", jobId, "--note", "meanwhile"]) });
    expect(conflict.code).toBe(5);
    const [, kept] =
      /^error: conflict: job \S+ changed since you opened it \(job \S+ is at version 3, not 2\); your edit was not applied and is saved in (\S+): run cronmesh jobs edit \S+ again\n$/.exec(
        conflict.stderr,
      ) ?? [];
    expect(kept, conflict.stderr).toBeDefined();
    expect(readFileSync(kept!, "utf8")).toContain("schedule: 45 9 * * *");
    expect(json(await cli(["jobs", "get", jobId, "--json"])).job).toMatchObject({
      schedule: "30 9 * * *",
      status: "JOB_STATUS_PAUSED",
      pauseNote: "meanwhile",
    });

    // A person edits for longer than the server keeps an idle connection open (Node's 5 s keep-alive).
    const slow = await edit({ EDIT_REPLACE: "status: paused=>status: active", EDIT_SLEEP_MS: "6000" });
    expect(slow.stderr).toBe("");
    expect(slow.stdout).toMatch(new RegExp(`^updated job ${jobId} "edited" \\(version 4, active,`));

    const invalid = await edit({ EDIT_REPLACE: "concurrency_policy: forbid=>concurrency_policy: sometimes" });
    expect(invalid.code).toBe(3);
    expect(invalid.stderr).toMatch(
      /^error: invalid argument: \S+\.yaml: concurrency_policy: unknown value "sometimes"; expected one of allow, forbid, replace; your edit is saved in \S+\n$/,
    );
  });

  it("triggers a job and with --wait waits for the run to be final: exit 0 when it succeeded, 10 when it did not", async () => {
    const jobId = await createJob("triggered");
    const waited = ok(await cli(["jobs", "trigger", jobId, "--wait"]));
    const [, runId] = /^triggered job \S+: run (run_\w+)\nrun \1 succeeded after \d+(ms|\.\d+s|s) \(1 attempt, HTTP 200\)\n$/.exec(waited) ?? [];
    expect(runId, waited).toBeDefined();
    expect(sink.deliveries.filter((d) => d.runId === runId)).toHaveLength(1);

    const asJson = json(await cli(["jobs", "trigger", jobId, "--wait", "--json"]));
    expect(asJson).toMatchObject({ jobId, lockAcquired: true, run: { status: "RUN_STATUS_SUCCEEDED", attempts: [{ statusCode: 200 }] } });

    const failing = await createJob("failing", "", "/fail");
    const failed = await cli(["jobs", "trigger", failing, "--wait"]);
    expect(failed.code).toBe(10);
    expect(failed.stdout).toMatch(/\nrun run_\w+ (failed|dead_lettered)\S* .*after .*\(1 attempt\): HTTP 500\n$/);

    const quick = ok(await cli(["jobs", "trigger", jobId]));
    expect(quick).toMatch(/^triggered job \S+: run run_\w+\n$/);
  });

  it("pauses and resumes with a note, lists and shows versions, rolls back, and deletes", async () => {
    const jobId = await createJob("versioned");
    expect(ok(await cli(["jobs", "pause", jobId, "--note", "maintenance"]))).toMatch(new RegExp(`^paused job ${jobId} "versioned" \\(version 2, paused`));
    expect(ok(await cli(["jobs", "get", jobId]))).toContain("Status:       paused (maintenance)\n");
    expect(ok(await cli(["jobs", "resume", jobId]))).toMatch(/^resumed job .* \(version 3, active/);
    ok(await cli(["jobs", "apply", "-f", file(jobYaml("versioned").replace("0 9 * * *", "0 12 * * *"))]));

    const versions = ok(await cli(["jobs", "versions", jobId]));
    expect(cells(versions.split("\n")[0]!)).toEqual(["VERSION", "CREATED", "BY", "REASON", "STATUS", "SCHEDULE"]);
    expect(
      versions
        .trimEnd()
        .split("\n")
        .slice(1)
        .map((l) => [cells(l)[0], cells(l)[3], cells(l)[4], cells(l)[5]]),
    ).toEqual([
      ["4", "update", "active", "0 12 * * *"],
      ["3", "resume", "active", "0 9 * * *"],
      ["2", "pause", "paused", "0 9 * * *"],
      ["1", "create", "active", "0 9 * * *"],
    ]);
    expectAligned(versions);
    expect(ok(await cli(["jobs", "versions", jobId, "1"]))).toMatch(
      new RegExp(`^# version 1 of job ${jobId}: create, by anonymous\njob_id: ${jobId}\nversion: 1\n[^]*schedule: 0 9 \\* \\* \\*\n`),
    );
    expect(json(await cli(["jobs", "versions", jobId, "--json", "--limit", "2"])).versions.map((v: any) => v.version)).toEqual(["4", "3"]);

    expect(ok(await cli(["jobs", "rollback", jobId, "1"]))).toBe(`job ${jobId} now runs the configuration of version 1: version 4 → 5\n`);
    expect(json(await cli(["jobs", "get", jobId, "--json"])).job).toMatchObject({ schedule: "0 9 * * *", version: "5" });

    expect(ok(await cli(["jobs", "rm", jobId]))).toBe(`deleted job ${jobId}\n`);
    expect((await cli(["jobs", "get", jobId])).code).toBe(4);
  });

  it("lists, adds, replaces and removes a DAG job's tasks", async () => {
    const dag = `name: dag\nschedule: "0 3 * * *"\ntasks:\n  - task_id: extract\n    target: {url: "${sink.url}/ok"}\n  - task_id: load\n    depends_on: [extract]\n    target: {url: "${sink.url}/ok", method: PUT}\n`;
    const jobId = /created job (job_\w+)/.exec(ok(await cli(["jobs", "create", "-f", file(dag)])))![1]!;
    const tasks = ok(await cli(["jobs", "tasks", "ls", jobId]));
    expect(tasks.trimEnd().split("\n").map(cells)).toEqual([
      ["TASK ID", "NAME", "DEPENDS ON", "TARGET"],
      ["extract", "extract", "-", `POST ${sink.url}/ok`],
      ["load", "load", "extract", `PUT ${sink.url}/ok`],
    ]);
    const added = ok(
      await cli(["jobs", "tasks", "add", jobId, "-f", file(`task_id: report\ndepends_on: [load]\ntarget:\n  url: ${sink.url}/ok\n  timeout: 2s\n`)]),
    );
    expect(rowOf(added, "report")).toEqual(["report", "report", "load", `POST ${sink.url}/ok`]);
    const updated = json(
      await cli([
        "jobs",
        "tasks",
        "update",
        jobId,
        "--json",
        "-f",
        file(`task_id: report\nname: daily report\ndepends_on: [extract, load]\nhandler: reporter\n`),
      ]),
    );
    expect(updated.job.tasks.find((t: any) => t.taskId === "report")).toMatchObject({
      name: "daily report",
      dependsOn: ["extract", "load"],
      handler: "reporter",
    });
    const inUse = await cli(["jobs", "tasks", "rm", jobId, "extract"]);
    expect(inUse.code).toBe(6);
    expect(inUse.stderr).toMatch(/^error: failed precondition: task \w+ depends on extract\n$/);
    expect(
      ok(await cli(["jobs", "tasks", "rm", jobId, "report"]))
        .split("\n")
        .map((l) => cells(l)[0]),
    ).toEqual(["TASK ID", "extract", "load", ""]);
  });

  it("backfills a job's slots", async () => {
    const jobId = await createJob("backfilled", "", "/ok");
    const out = ok(await cli(["jobs", "backfill", jobId, "--from", "2026-01-05T08:00:00Z", "--to", "2026-01-08T08:00:00Z"]));
    expect(out).toBe(`backfilled job ${jobId}: 3 runs created\n`);
    const runs = json(await cli(["runs", "ls", "--job", jobId, "--json"])).runs;
    expect(runs.map((r: any) => r.trigger)).toEqual(["RUN_TRIGGER_BACKFILL", "RUN_TRIGGER_BACKFILL", "RUN_TRIGGER_BACKFILL"]);
    expect(runs.map((r: any) => r.scheduledAt).sort()).toEqual(["2026-01-05T08:00:00Z", "2026-01-06T08:00:00Z", "2026-01-07T08:00:00Z"]);
  });

  it("lists and shows runs, cancels a running one and replays a finished one with --wait", async () => {
    const slow = await createJob("slow", "", "/slow");
    const { runId: running } = await api.cron.triggerJob({ jobId: slow });
    await waitRun(api, running, 10_000, (r) => r.status === RunStatus.RUNNING);
    expect(ok(await cli(["runs", "cancel", running, "--reason", "test over"]))).toBe(`run ${running} is cancelled\n`);
    expect(ok(await cli(["runs", "get", running]))).toMatch(/Status: {7}cancelled\n/);

    const jobId = await createJob("replayed");
    const first = /run (run_\w+)/.exec(ok(await cli(["jobs", "trigger", jobId, "--wait"])))![1]!;
    const replay = ok(await cli(["runs", "replay", first, "--wait"]));
    const [, second] = /^replaying run \S+ as run (run_\w+) \(\w+\)\nrun \1 succeeded after/.exec(replay) ?? [];
    expect(second, replay).toBeDefined();
    expect(json(await cli(["runs", "get", second!, "--json"])).run).toMatchObject({
      replayOf: first,
      trigger: "RUN_TRIGGER_REPLAY",
      status: "RUN_STATUS_SUCCEEDED",
    });

    const table = ok(await cli(["runs", "ls", "--job", jobId, "--status", "succeeded"]));
    expect(cells(table.split("\n")[0]!)).toEqual(["RUN ID", "JOB ID", "STATUS", "TRIGGER", "SCHEDULED", "DURATION", "ATTEMPTS", "RESULT"]);
    const row = rowOf(table, second!);
    expect([row[1], row[2], row[3], row[6], row[7]]).toEqual([jobId, "succeeded", "replay", "1", "HTTP 200"]);
    expect(row[4]).toMatch(LOCAL_TIME);
    expectAligned(table);
    expect(rowOf(table, first)[3]).toBe("manual");

    const details = ok(await cli(["runs", "get", first]));
    expect(details).toContain(`Run ID:       ${first}\n`);
    expect(details).toMatch(/\nAttempts:\n# {2}STARTED +HTTP +DURATION +ERROR \/ RESPONSE\n1 {2}\S+\+05:30 {2}200 +\d+ms +ok\n$/);
  });

  it("streams run changes with runs watch: NDJSON lines appear as the runs happen, a table for people", async () => {
    // Runs may overlap: a trigger while the previous run is still running must start a run, not skip one.
    const jobId = await createJob("watched", "concurrency_policy: allow\n");
    for (const asJson of [true, false]) {
      const watch = streamCli(["--server", node.baseUrl, "--protocol", protocol, ...(asJson ? ["--json"] : []), "runs", "watch", "--job", jobId]);
      try {
        // The subscription is live once the first triggered run shows; earlier ones may be missed.
        let subscribed = false;
        for (let i = 0; i < 20 && !subscribed; i++) {
          const { runId } = await api.cron.triggerJob({ jobId });
          subscribed = await watch
            .waitFor((lines) => lines.some((l) => l.includes(runId)), 500)
            .then(
              () => true,
              () => false,
            );
        }
        expect(subscribed).toBe(true);
        const { runId } = await api.cron.triggerJob({ jobId });
        const done = asJson ? '"RUN_STATUS_SUCCEEDED"' : " succeeded ";
        await watch.waitFor((lines) => lines.some((l) => l.includes(runId) && l.includes(done)), 10_000);
        const mine = watch.lines.filter((l) => l.includes(runId));
        if (asJson) {
          const runs = mine.map((l) => JSON.parse(l).run);
          expect(runs.every((r) => r.runId === runId && r.jobId === jobId)).toBe(true);
          expect(runs[0].status).toBe("RUN_STATUS_QUEUED");
          expect(runs[runs.length - 1]).toMatchObject({ status: "RUN_STATUS_SUCCEEDED", attempts: [{ statusCode: 200 }] });
        } else {
          expect(cells(watch.lines[0]!)).toEqual(["TIME", "RUN ID", "JOB ID", "STATUS", "TRIGGER", "ATTEMPTS", "DURATION", "RESULT"]);
          const last = cells(mine[mine.length - 1]!);
          expect(last[0]).toMatch(LOCAL_TIME);
          expect(last.slice(1, 6)).toEqual([runId, jobId, "succeeded", "manual", "1"]);
          expect(last[7]).toBe("HTTP 200");
        }
      } finally {
        const end = await watch.stop();
        // Still streaming when stopped: it ended by the interrupt, not on its own.
        expect(end.signal ?? end.code).toBe("SIGINT");
      }
    }
  });

  it("lists dead letters and redrives one with --wait", async () => {
    const path = `/fail-${protocol}`;
    failing.add(path);
    const jobId = await createJob("dead", "", path);
    const failed = /run (run_\w+)/.exec((await cli(["jobs", "trigger", jobId, "--wait"])).stdout)![1]!;
    const table = ok(await cli(["dlq", "ls", "--job", jobId]));
    expect(cells(table.split("\n")[0]!)).toEqual(["RUN ID", "JOB ID", "FAILED AT", "ATTEMPTS", "ERROR"]);
    const row = rowOf(table, failed);
    expect([row[1], row[3], row[4]]).toEqual([jobId, "1", "HTTP 500"]);
    expect(row[2]).toMatch(LOCAL_TIME);

    failing.delete(path);
    const redrive = await cli(["dlq", "redrive", failed, "--wait"]);
    const [, again] = /^redriving dead letter \S+ as run (run_\w+) \(\w+\)\nrun \1 succeeded after/.exec(redrive.stdout) ?? [];
    expect(again, redrive.stdout + redrive.stderr).toBeDefined();
    expect(redrive.code).toBe(0);
    expect(json(await cli(["runs", "get", again!, "--json"])).run).toMatchObject({ redriveOf: failed, trigger: "RUN_TRIGGER_REDRIVE" });
    expect(json(await cli(["dlq", "ls", "--job", jobId, "--json", "--include-redriven"])).runs.map((r: any) => r.runId)).toContain(failed);
  });

  it("shows the cluster, the caller and a schedule preview", async () => {
    const cluster = ok(await cli(["cluster"]));
    expect(cluster).toMatch(
      /^Mode: {5}single\nNode: {5}(\S+) \(leader\)\nLeader: {3}\1\nJobs: {5}\d+\nRunning: {2}\d+\nLoad: {5}normal; queue \d+\/\d+, \d+ runs\/s started, \d+ shed\n\nMembers:\nNODE ID +ADDRESS +VERSION +STARTED +LEADER +LOAD\n/,
    );
    expect(json(await cli(["cluster", "--json", "--next", "1"]))).toMatchObject({ isLeader: true, mode: "single", nextRuns: [{ jobId: expect.any(String) }] });

    expect(ok(await cli(["whoami"]))).toBe("Subject:  anonymous\nProject:  *\nRoles:    admin\nAuth:     none\n");
    expect(json(await cli(["whoami", "--json"]))).toEqual({ subject: "anonymous", projectId: "*", roles: ["admin"], authMode: "none" });

    const preview = ok(await cli(["preview", "0 9 * * 1-5", "--tz", "Europe/Belgrade", "-n", "3", "--after", "2026-01-02T12:00:00Z"]));
    expect(preview).toBe(
      [
        "#  TIME (Europe/Belgrade)     LOCAL TIME",
        "1  2026-01-05T09:00:00+01:00  2026-01-05T13:30:00+05:30",
        "2  2026-01-06T09:00:00+01:00  2026-01-06T13:30:00+05:30",
        "3  2026-01-07T09:00:00+01:00  2026-01-07T13:30:00+05:30",
        "",
      ].join("\n"),
    );
    expect(json(await cli(["preview", "@daily", "--json", "-n", "2", "--after", "2026-01-02T12:00:00Z"]))).toEqual({
      times: ["2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z"],
    });
  });

  it("reports errors on one line, naming the field of invalid input, with an exit status per class", async () => {
    const missing = await cli(["jobs", "get", "job_missing"]);
    expect(missing).toEqual({ code: 4, stdout: "", stderr: 'error: not found: job "job_missing" not found\n' });
    const asJson = await cli(["jobs", "get", "job_missing", "--json"]);
    expect([asJson.code, asJson.stdout]).toEqual([4, ""]);

    const badCron = await cli(["preview", "0 99 * * *"]);
    expect(badCron.code).toBe(3);
    expect(badCron.stderr).toMatch(/^error: invalid argument: schedule: invalid cron expression "0 99 \* \* \*": .*\n$/);
    const badZone = await cli(["preview", "@daily", "--tz", "Mars/Olympus"]);
    expect([badZone.code, badZone.stderr]).toEqual([3, expect.stringMatching(/^error: invalid argument: timezone: .*Mars\/Olympus.*\n$/)]);
    const badUrl = await cli(["jobs", "create", "-f", file(`name: x\nschedule: "@daily"\ntarget:\n  url: ftp://example\n`)]);
    expect([badUrl.code, badUrl.stderr]).toEqual([3, expect.stringMatching(/^error: invalid argument: target\.url: .*\n$/)]);
    const typo = await cli(["jobs", "create", "-f", file(`name: x\nscheduel: "@daily"\n`)]);
    expect(typo).toEqual({ code: 3, stdout: "", stderr: expect.stringMatching(/^error: invalid argument: \S+file-\d+\.yaml: scheduel: unknown field\n$/) });
    const badDuration = await cli(["jobs", "create", "-f", file(`name: x\nschedule: "@daily"\ntarget:\n  url: ${sink.url}/ok\n  timeout: 30\n`)]);
    expect(badDuration.stderr).toMatch(/^error: invalid argument: \S+: target\.timeout: write a duration with its unit, such as "30s" or "5m", not 30\n$/);
    const noVersion = await cli(["jobs", "rollback", await createJob("rolled"), "7"]);
    expect(noVersion.code).toBe(4);
  });

  it("sends the token as a bearer (from --token or CRONMESH_TOKEN) and maps refusals to 7 and deadlines to 11", async () => {
    const refusing = await startCaptureServer(protocol, false);
    try {
      const refused = await runCli(["--protocol", protocol, "--token", "s3cret", "whoami"], { env: { CRONMESH_SERVER: refusing.url } });
      expect(refused).toEqual({ code: 7, stdout: "", stderr: "error: unauthenticated: token rejected\n" });
      const fromEnv = await runCli(["--server", refusing.url, "--protocol", protocol, "jobs", "ls"], { env: { CRONMESH_TOKEN: "key_abc" } });
      expect(fromEnv.code).toBe(7);
      expect(refusing.authorizations).toEqual(["Bearer s3cret", "Bearer key_abc"]);
    } finally {
      await refusing.close();
    }
    const silent = await startCaptureServer(protocol, true);
    try {
      const late = await runCli(["--server", silent.url, "--protocol", protocol, "--timeout", "300ms", "cluster"]);
      expect(late.code).toBe(11);
      expect(late.stderr).toMatch(/^error: deadline exceeded: /);
    } finally {
      await silent.close();
    }
  });
});

describe("the cronmesh CLI without a server", { timeout: CLI_TEST_TIMEOUT }, () => {
  it("refuses a wrong command line with exit 2 and the usage", async () => {
    const unknown = await runCli(["jobz"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^error: unknown command 'jobz'\n/);
    const noArg = await runCli(["jobs", "get"]);
    expect([noArg.code, noArg.stderr]).toEqual([2, "error: missing required argument 'job_id'\n(add --help for usage)\n"]);
    const badLimit = await runCli(["jobs", "ls", "--limit", "many"]);
    expect([badLimit.code, badLimit.stderr]).toEqual([
      2,
      expect.stringMatching(/^error: option '--limit <n>' argument 'many' is invalid\. expected a whole number of 1 or more, got "many"\n/),
    ]);
    const badProtocol = await runCli(["--protocol", "soap", "whoami"]);
    expect([badProtocol.code, badProtocol.stderr]).toEqual([
      2,
      expect.stringMatching(/^error: option '--protocol <protocol>' argument 'soap' is invalid\. Allowed choices are connect, grpc\./),
    ]);
    const badTimeout = await runCli(["--timeout", "soon", "whoami"]);
    expect(badTimeout.code).toBe(2);
    const noFile = await runCli(["jobs", "create", "-f", "/nonexistent/job.yaml"]);
    expect([noFile.code, noFile.stderr]).toEqual([2, expect.stringMatching(/^error: cannot read \/nonexistent\/job\.yaml: ENOENT/)]);
    const group = await runCli(["jobs"]);
    expect(group.code).toBe(2);
    expect(group.stderr).toContain("Usage: cronmesh jobs [options] [command]");
  });

  it("prints help with the exit statuses, exit 0", async () => {
    const help = await runCli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Exit status:\n  0 success");
    expect(help.stdout).toContain("--protocol <protocol>");
  });

  it("says which server it cannot reach, exit 9", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    for (const protocol of ["connect", "grpc"]) {
      const r = await runCli(["--server", url, "--protocol", protocol, "jobs", "ls"]);
      expect(r, protocol).toEqual({ code: 9, stdout: "", stderr: `error: cannot reach the server at ${url}: connect ECONNREFUSED ${url.slice(7)}\n` });
    }
  });

  it("reads a job file from stdin and reports a YAML syntax error with its line", async () => {
    const r = await runCli(["--server", "http://127.0.0.1:1", "jobs", "create", "-f", "-"], { input: "name: [unclosed\n" });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^error: invalid argument: stdin: .*line 2/);
  });

  it("serves with cronmesh serve until SIGTERM", async () => {
    const data = mkdtempSync(join(tmpdir(), "cronmesh-serve-"));
    const server = streamCli(["serve"], { env: { PORT: "0", HOST: "127.0.0.1", DATA_DIR: data, LOG_LEVEL: "info" } });
    try {
      const lines = await server.waitFor((ls) => ls.some((l) => l.includes("cronmesh listening")), 20_000);
      const port = (JSON.parse(lines.find((l) => l.includes("cronmesh listening"))!) as { port: number }).port;
      expect(ok(await runCli(["--server", `http://127.0.0.1:${port}`, "whoami"]))).toContain("Subject:  anonymous");
      expect(await server.stop("SIGTERM")).toMatchObject({ code: 0 });
      expect(existsSync(join(data, "cronmesh.db"))).toBe(true);
    } finally {
      await server.stop();
      rmSync(data, { recursive: true, force: true });
    }
  });
});
