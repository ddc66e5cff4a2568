import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { CronService, NodeLoadSchema } from "../../gen/cronmesh/v1/cron_service_pb.js";
import { ConcurrencyPolicy, JobSchema, RetryOn } from "../../gen/cronmesh/v1/job_pb.js";
import { RunSchema, type RunStatus } from "../../gen/cronmesh/v1/run_pb.js";
import { credentialsInterceptor } from "../../src/console/api/clients.js";
import { createCredentials } from "../../src/console/api/credentials.js";
import { loadSummary } from "../../src/console/lib/load.js";
import { describeError, errorLine, FIELD_METADATA_KEY } from "../../src/console/api/errors.js";
import { FIELD_METADATA_KEY as SERVER_FIELD_KEY } from "../../src/api/error-codes.js";
import { layoutDag } from "../../src/console/lib/dag-layout.js";
import { formatDuration, formatTime, relativeDue, relativeTime, runStatusLabel } from "../../src/console/lib/format.js";
import { changedPaths, configText, emptyForm, formFromJob, jobFromForm, mergeEdits, parseHeaders, parseTags } from "../../src/console/lib/job-form.js";
import { diffLines, foldUnchanged } from "../../src/console/lib/line-diff.js";
import { upsertRun } from "../../src/console/lib/run-feed.js";
import { scheduleInWords } from "../../src/console/lib/schedule-words.js";
import { parseRoute } from "../../src/console/router.js";

const T0 = Date.parse("2026-03-08T06:30:00Z");

describe("line diff", () => {
  const cases: [string, string, string, string][] = [
    ["identical texts keep every line", "a\nb", "a\nb", "  a|  b"],
    ["a changed line is removed then added", "a\nb\nc", "a\nB\nc", "  a|- b|+ B|  c"],
    ["an added line in the middle", "a\nc", "a\nb\nc", "  a|+ b|  c"],
    ["a removed last line", "a\nb", "a", "  a|- b"],
    ["from nothing everything is added", "", "x\ny", "+ x|+ y"],
    ["to nothing everything is removed", "x", "", "- x"],
  ];
  it.each(cases)("%s", (_name, before, after, expected) => {
    expect(
      diffLines(before, after)
        .map((l) => `${l.op} ${l.text}`)
        .join("|"),
    ).toBe(expected);
  });

  it("folds unchanged runs longer than the context around changes", () => {
    const before = Array.from({ length: 20 }, (_, i) => `line ${i}`).join("\n");
    const after = before.replace("line 10", "line ten");
    const view = foldUnchanged(diffLines(before, after), 2);
    expect(view.map((l) => (l.op === "…" ? `…${l.count}` : l.op))).toEqual(["…8", " ", " ", "-", "+", " ", " ", "…7"]);
  });
});

describe("DAG layout", () => {
  it("puts each task in the column of its longest dependency chain, with one arrow per dependency", () => {
    const layout = layoutDag([
      { taskId: "extract", dependsOn: [] },
      { taskId: "transform", dependsOn: ["extract"] },
      { taskId: "validate", dependsOn: ["extract"] },
      { taskId: "load", dependsOn: ["transform", "validate", "extract"] },
    ]);
    expect(layout.nodes.map((n) => [n.id, n.level])).toEqual([
      ["extract", 0],
      ["transform", 1],
      ["validate", 1],
      ["load", 2],
    ]);
    const [, transform, validate] = layout.nodes;
    expect(transform!.x).toBe(validate!.x);
    expect(validate!.y).toBeGreaterThan(transform!.y);
    expect(layout.edges.map((e) => `${e.from}->${e.to}`).sort()).toEqual([
      "extract->load",
      "extract->transform",
      "extract->validate",
      "transform->load",
      "validate->load",
    ]);
    expect(layout.width).toBeGreaterThan(layout.nodes[3]!.x);
  });

  it("ignores unknown dependencies and does not loop on a cycle", () => {
    const layout = layoutDag([
      { taskId: "a", dependsOn: ["b", "ghost"] },
      { taskId: "b", dependsOn: ["a"] },
    ]);
    expect(layout.nodes).toHaveLength(2);
    expect(layout.edges.map((e) => e.from).sort()).toEqual(["a", "b"]);
  });

  it("draws nothing for no tasks", () => {
    expect(layoutDag([])).toEqual({ nodes: [], edges: [], width: 0, height: 0 });
  });
});

describe("routes", () => {
  const cases: [string, ReturnType<typeof parseRoute>][] = [
    ["", { page: "jobs" }],
    ["#/jobs", { page: "jobs" }],
    ["#/jobs/", { page: "jobs" }],
    ["#/jobs/new", { page: "new-job" }],
    ["#/jobs/job_1", { page: "job", jobId: "job_1" }],
    ["#/jobs/a%2Fb/edit", { page: "edit-job", jobId: "a/b" }],
    ["#/live", { page: "live" }],
    ["#/dead-letters", { page: "dead-letters" }],
    ["#/cluster", { page: "cluster" }],
    ["#/jobs/x/y/z", { page: "not-found", path: "/jobs/x/y/z" }],
    ["#/nope", { page: "not-found", path: "/nope" }],
  ];
  it.each(cases)("%j is %j", (hash, route) => expect(parseRoute(hash)).toEqual(route));
});

describe("the job form", () => {
  it("turns its fields into a job and a stored job back into the same fields", () => {
    const form = {
      ...emptyForm(),
      name: " nightly ",
      schedule: "0 2 * * *",
      timezone: "Europe/Belgrade",
      url: "https://x.test/run",
      method: "PUT",
      headers: "X-A: 1\nAuthorization: secret://tok",
      body: "{}",
      timeoutSeconds: "12.5",
      concurrency: ConcurrencyPolicy.REPLACE,
      maxAttempts: "3",
      retryOn: RetryOn.ALWAYS,
      tags: "team=data, tier",
    };
    const parsed = jobFromForm(form);
    if (!("job" in parsed)) throw new Error(JSON.stringify(parsed));
    expect(parsed.job).toMatchObject({
      name: "nightly",
      schedule: "0 2 * * *",
      tags: { team: "data", tier: "" },
      concurrencyPolicy: ConcurrencyPolicy.REPLACE,
    });
    expect(parsed.job.target).toMatchObject({
      url: "https://x.test/run",
      method: "PUT",
      headers: { "X-A": "1", Authorization: "secret://tok" },
      timeout: { seconds: 12n, nanos: 500_000_000 },
    });
    expect(parsed.job.retry).toMatchObject({ maxAttempts: 3, retryOn: RetryOn.ALWAYS });
    expect(formFromJob(parsed.job)).toEqual({ ...form, name: "nightly", headers: "X-A: 1\nAuthorization: secret://tok", tags: "team=data, tier" });
  });

  it("sends no target for a job that names a handler and no URL", () => {
    const parsed = jobFromForm({ ...emptyForm(), name: "h", schedule: "@daily", handler: "reminder" });
    expect("job" in parsed && parsed.job.target).toBeUndefined();
  });

  const refused: [string, Partial<ReturnType<typeof emptyForm>>, string][] = [
    ["a header line without a colon", { headers: "X-A 1" }, "target.headers"],
    ["a timeout that is not a number", { timeoutSeconds: "soon" }, "target.timeout"],
    ["negative attempts", { maxAttempts: "-1" }, "retry.max_attempts"],
  ];
  it.each(refused)("refuses %s naming the proto field", (_name, change, field) => {
    const parsed = jobFromForm({ ...emptyForm(), ...change });
    expect("problem" in parsed && parsed.problem.field).toBe(field);
  });

  it("parses tags and headers", () => {
    expect(parseTags(" a=1 ,b, c = x=y ")).toEqual({ a: "1", b: "", c: "x=y" });
    expect(parseHeaders("A: b: c\n\n  D:e ")).toEqual({ headers: { A: "b: c", D: "e" } });
  });

  it("sends only the fields whose inputs changed, as update mask paths", () => {
    const before = { ...emptyForm(), name: "a", url: "https://x.test", maxAttempts: "2" };
    expect(changedPaths(before, before)).toEqual([]);
    expect(changedPaths(before, { ...before, name: "b", url: "https://y.test", retryOn: RetryOn.NONE, enabled: false })).toEqual([
      "name",
      "target.url",
      "retry.retry_on",
    ]);
  });

  it("merges an edit into a stored job as the server's field mask does, keeping what the mask leaves out", () => {
    const stored = create(JobSchema, {
      name: "a",
      description: "theirs",
      schedule: "0 * * * *",
      target: { url: "https://x.test", method: "GET", auth: { kind: { case: "bearer", value: { token: "[redacted]" } } } },
    });
    const edit = create(JobSchema, {
      name: "b",
      description: "mine",
      schedule: "",
      target: { url: "https://y.test", method: "POST" },
      retry: { maxAttempts: 3 },
    });
    const merged = mergeEdits(stored, edit, ["description", "target.url", "retry.max_attempts"]);
    expect(merged).toMatchObject({ name: "a", description: "mine", schedule: "0 * * * *", retry: { maxAttempts: 3 } });
    expect(merged.target).toMatchObject({ url: "https://y.test", method: "GET", auth: { kind: { case: "bearer" } } });
    expect(stored.description).toBe("theirs");
  });

  it("leaves output-only fields out of the configuration it diffs", () => {
    const text = configText(create(JobSchema, { jobId: "j", name: "n", version: 7n, runCount: 3n, updatedBy: "bob" }));
    expect(JSON.parse(text)).toEqual({ name: "n" });
  });
});

describe("errors for people", () => {
  it("names the field of an InvalidArgument from the server's metadata key", () => {
    expect(FIELD_METADATA_KEY).toBe(SERVER_FIELD_KEY);
    const err = new ConnectError("schedule: expected 5 or 6 fields", Code.InvalidArgument, new Headers({ [SERVER_FIELD_KEY]: "schedule" }));
    const shown = describeError(err);
    expect(shown).toEqual({ title: "Invalid input", message: "schedule: expected 5 or 6 fields", field: "schedule", code: Code.InvalidArgument });
    expect(errorLine(shown)).toBe("Invalid input — schedule: expected 5 or 6 fields");
  });

  it("falls back to the field prefix of the message when the metadata is not readable", () => {
    expect(describeError(new ConnectError("target.url: must be http or https", Code.InvalidArgument)).field).toBe("target.url");
  });

  it("says a version conflict and a network failure in words", () => {
    expect(describeError(new ConnectError("job j is at version 4, not 3", Code.Aborted)).title).toBe("Changed by someone else");
    expect(describeError(new TypeError("Failed to fetch")).title).toBe("Cannot reach the server");
  });
});

describe("credentials", () => {
  const storage = () => {
    const m = new Map<string, string>();
    return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k) };
  };

  it("sends the stored token as a Bearer header and asks for one when a call answers Unauthenticated", async () => {
    const credentials = createCredentials(storage());
    let demanded = 0;
    credentials.onDemand(() => demanded++);
    const transport = createRouterTransport(
      (router) =>
        router.service(CronService, {
          getWhoAmI(_req, ctx) {
            if (ctx.requestHeader.get("authorization") !== "Bearer k1") throw new ConnectError("no token", Code.Unauthenticated);
            return { subject: "ops", roles: ["admin"], authMode: "api_key" };
          },
        }),
      { transport: { interceptors: [credentialsInterceptor(credentials)] } },
    );
    const cron = createClient(CronService, transport);
    await expect(cron.getWhoAmI({})).rejects.toMatchObject({ code: Code.Unauthenticated });
    expect(demanded).toBe(1);
    credentials.set(" k1 ");
    expect(await cron.getWhoAmI({})).toMatchObject({ subject: "ops" });
    credentials.clear();
    expect(credentials.get()).toBeUndefined();
    expect(demanded).toBe(1);
  });
});

describe("formatting", () => {
  it.each<[number, string]>([
    [0, "0 ms"],
    [850, "850 ms"],
    [1234, "1.23 s"],
    [12_340, "12.3 s"],
    [245_000, "4 min 05 s"],
    [7_380_000, "2 h 03 min"],
  ])("%d ms reads %s", (ms, text) => expect(formatDuration(ms)).toBe(text));

  it("writes times in a zone, across a DST change", () => {
    expect(formatTime(T0, "America/New_York")).toBe("2026-03-08 01:30:00");
    expect(formatTime(T0 + 3_600_000, "America/New_York")).toBe("2026-03-08 03:30:00");
    expect(formatTime(T0, "UTC")).toBe("2026-03-08 06:30:00");
    expect(formatTime(undefined)).toBe("—");
  });

  it("says how far away a time is", () => {
    expect(relativeTime(T0 + 5_500, T0)).toBe("in 5 s");
    expect(relativeTime(T0 - 180_000, T0)).toBe("3 min ago");
    expect(relativeTime(T0 + 200, T0)).toBe("now");
    expect(relativeTime(T0 + 3 * 86_400_000, T0)).toBe("in 3 d");
  });

  it.each([
    [T0 + 5_500, "in 5 s"],
    [T0 - 400, "now"],
    [T0 - 13_200, "overdue 13 s"],
    [T0 - 180_000, "overdue 3 min"],
    [undefined, ""],
  ])("says a due time %s past is overdue, not that it happened (%s)", (ms, words) => {
    expect(relativeDue(ms, T0)).toBe(words);
  });

  it("names run states, including ones this page does not know", () => {
    expect(runStatusLabel(7)).toBe("dead lettered");
    expect(runStatusLabel(42 as RunStatus)).toBe("unknown (42)");
  });

  it("puts cron expressions in words and gives up quietly on what cronstrue cannot read", () => {
    expect(scheduleInWords("*/2 * * * * *")).toBe("Every 2 seconds");
    expect(scheduleInWords("30 2 * * 1-5")).toBe("At 02:30, Monday through Friday");
    expect(scheduleInWords("@daily")).toBe("At 00:00");
    expect(scheduleInWords("every tuesday")).toBeUndefined();
  });
});

describe("the live run list", () => {
  const run = (runId: string, createdMs: number, status = 1) => create(RunSchema, { runId, status, createdAt: timestampFromMs(createdMs) });

  it("replaces a changed run in place, inserts a new one by creation time, and keeps at most the cap", () => {
    let list = [run("b", T0 + 2000), run("a", T0)];
    list = upsertRun(list, run("a", T0, 3), 10);
    expect(list.map((r) => [r.runId, r.status])).toEqual([
      ["b", 1],
      ["a", 3],
    ]);
    list = upsertRun(list, run("c", T0 + 1000), 10);
    expect(list.map((r) => r.runId)).toEqual(["b", "c", "a"]);
    expect(upsertRun(list, run("d", T0 + 5000), 2).map((r) => r.runId)).toEqual(["d", "b"]);
  });
});

describe("loadSummary", () => {
  const load = (fields: Partial<{ overloaded: boolean; queuedRuns: bigint; queueBound: bigint; startRate: number; shedTotal: bigint; ageMs: number }>) =>
    create(NodeLoadSchema, {
      overloaded: fields.overloaded ?? false,
      queuedRuns: fields.queuedRuns ?? 0n,
      queueBound: fields.queueBound ?? 5000n,
      startRate: fields.startRate ?? 0,
      shedTotal: fields.shedTotal ?? 0n,
      oldestQueuedAge: fields.ageMs === undefined ? undefined : durationFromMs(fields.ageMs),
    });
  it.each([
    [
      "an idle node before any measurement",
      load({}),
      false,
      { state: "normal", queue: "0 of 5,000 queued", oldest: "none waiting", rate: "not measured yet", shed: "0 shed since start" },
    ],
    [
      "a node shedding with a full queue",
      load({ overloaded: true, queuedRuns: 5000n, startRate: 4321.4, shedTotal: 12345n, ageMs: 1450 }),
      true,
      { state: "overloaded", queue: "5,000 of 5,000 queued", oldest: "oldest waiting 1.4 s", rate: "4,321 runs/s", shed: "12,345 shed since start" },
    ],
    [
      "a calm node in a cluster where another member sheds",
      load({ queuedRuns: 3n, startRate: 900 }),
      true,
      { state: "overloaded", queue: "3 of 5,000 queued" },
    ],
  ])("words %s", (_name, l, clusterOverloaded, expected) => {
    expect(loadSummary(l, clusterOverloaded)).toMatchObject(expected);
  });
  it("says nothing for a server that reports no load", () => {
    expect(loadSummary(undefined, false)).toBeUndefined();
  });
});
