import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { NodeLoadSchema } from "../../gen/cronmesh/v1/cron_service_pb.js";
import { loadLine } from "../../src/cli/views/cluster.js";
import { CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import { FIELD_METADATA_KEY } from "../../src/api/error-codes.js";
import { parseDurationMs } from "../../src/cli/durations.js";
import { formatDuration } from "../../src/domain/duration.js";
import { enumFromWord, enumWord, enumWords } from "../../src/cli/enum-words.js";
import { ExitCode, failureOf } from "../../src/cli/exit-codes.js";
import { renderFields, renderTable, truncate } from "../../src/cli/table.js";
import { isoTime } from "../../src/cli/time-format.js";
import { CronError } from "../../src/domain/cron-error.js";
import { RunStatus } from "../../gen/cronmesh/v1/run_pb.js";

describe("durations written for people", () => {
  it.each([
    ["30s", 30_000],
    ["1.5s", 1500],
    ["500ms", 500],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["2h", 7_200_000],
    ["1m1.5s", 61_500],
    ["90s", 90_000],
    ["0", 0],
    ["0s", 0],
    [" 10s ", 10_000],
    ["1h0m5s", 3_605_000],
  ])("%s is %d ms", (text, ms) => expect(parseDurationMs(text)).toBe(ms));

  it.each(["", "30", "5 m", "-5s", "s", "1.s", "10sec", "1h 30m", "ms", "1y"])("%j is refused", (text) => {
    expect(() => parseDurationMs(text)).toThrow(/duration/);
  });

  it.each([
    [0, "0s"],
    [250, "250ms"],
    [1000, "1s"],
    [1500, "1.5s"],
    [61_500, "1m1.5s"],
    [90_000, "1m30s"],
    [3_600_000, "1h"],
    [5_400_000, "1h30m"],
    [3_605_000, "1h5s"],
    [86_400_000, "24h"],
  ])("%d ms is written %s and read back the same", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDurationMs(text)).toBe(ms);
  });
});

describe("times in ISO 8601 with the zone's offset", () => {
  const newYear = Date.UTC(2026, 0, 1, 8, 0, 0);
  const midsummer = Date.UTC(2026, 6, 1, 8, 0, 0, 999);
  it.each([
    [newYear, "Europe/Belgrade", "2026-01-01T09:00:00+01:00"],
    [midsummer, "Europe/Belgrade", "2026-07-01T10:00:00+02:00"],
    [newYear, "UTC", "2026-01-01T08:00:00+00:00"],
    [newYear, "Asia/Kolkata", "2026-01-01T13:30:00+05:30"],
    [newYear, "America/St_Johns", "2026-01-01T04:30:00-03:30"],
    [Date.UTC(2026, 0, 1, 0, 0, 0), "America/New_York", "2025-12-31T19:00:00-05:00"],
  ])("%d in %s is %s", (ms, zone, iso) => expect(isoTime(ms, zone)).toBe(iso));

  it("refuses an unknown zone", () => expect(() => isoTime(newYear, "Mars/Olympus")).toThrow(RangeError));
});

describe("aligned tables", () => {
  it("pads every column but the last to its widest cell, and ends no line in spaces", () => {
    expect(
      renderTable(
        ["ID", "NAME", "NOTE"],
        [
          ["a", "long name", ""],
          ["bbbb", "x", "last"],
        ],
      ),
    ).toBe("ID    NAME       NOTE\n" + "a     long name\n" + "bbbb  x          last\n");
  });

  it("keeps a cell on one line", () => {
    expect(
      renderTable(
        ["A", "B"],
        [
          ["x", "y"],
          ["line\r\n  one\ttab", "z"],
        ],
      ),
    ).toBe(`A${" ".repeat(15)}B\nx${" ".repeat(15)}y\nline ⏎ one tab  z\n`);
  });

  it("aligns label: value pairs and leaves out undefined values", () => {
    expect(
      renderFields([
        ["Name", "a"],
        ["Description", undefined],
        ["Time zone", "UTC"],
      ]),
    ).toBe("Name:       a\nTime zone:  UTC\n");
  });

  it.each([
    ["short", 10, "short"],
    ["exactly10!", 10, "exactly10!"],
    ["much longer text", 10, "much long…"],
  ])("truncates %j to %d", (text, max, out) => {
    expect(truncate(text, max)).toBe(out);
  });
});

describe("enum words", () => {
  it("writes values lower-case without prefix, 0 and unknown as -", () => {
    expect([enumWord(RunStatus, RunStatus.DEAD_LETTERED), enumWord(RunStatus, RunStatus.UNSPECIFIED), enumWord(RunStatus, 99)]).toEqual([
      "dead_lettered",
      "-",
      "-",
    ]);
  });
  it("lists the choices and reads them back", () => {
    expect(enumWords(RunStatus)).toEqual(["queued", "running", "succeeded", "failed", "skipped", "cancelled", "dead_lettered"]);
    expect([enumFromWord(RunStatus, "Failed"), enumFromWord(RunStatus, "nope")]).toEqual([RunStatus.FAILED, RunStatus.UNSPECIFIED]);
  });
});

describe("exit statuses and error lines", () => {
  const server = "http://127.0.0.1:8080";
  const field = (name: string) => new Headers({ [FIELD_METADATA_KEY]: name });
  const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8080"), { code: "ECONNREFUSED" });
  it.each<[string, unknown, ExitCode, string]>([
    [
      "a server invalid argument naming its field",
      new ConnectError("schedule: bad", Code.InvalidArgument, field("schedule")),
      ExitCode.InvalidInput,
      "invalid argument: schedule: bad",
    ],
    [
      "an invalid argument whose message lacks the field",
      new ConnectError("must be positive", Code.InvalidArgument, field("count")),
      ExitCode.InvalidInput,
      "invalid argument: count: must be positive",
    ],
    ["a local invalid job file", CronError.invalid("target.url", "is required"), ExitCode.InvalidInput, "invalid argument: target.url: is required"],
    [
      "a file error naming the field after the file",
      new CronError("invalid_argument", "job.yaml: tags: expected a JSON object", "tags"),
      ExitCode.InvalidInput,
      "invalid argument: job.yaml: tags: expected a JSON object",
    ],
    ["not found", new ConnectError('job "x" not found', Code.NotFound), ExitCode.NotFound, 'not found: job "x" not found'],
    ["a version conflict", new ConnectError("job j is at version 3, not 1", Code.Aborted), ExitCode.Conflict, "conflict: job j is at version 3, not 1"],
    ["already exists", new ConnectError("job j exists", Code.AlreadyExists), ExitCode.Conflict, "already exists: job j exists"],
    [
      "a failed precondition",
      new ConnectError("job j is cancelled", Code.FailedPrecondition),
      ExitCode.FailedPrecondition,
      "failed precondition: job j is cancelled",
    ],
    ["unauthenticated", new ConnectError("no token", Code.Unauthenticated), ExitCode.Unauthenticated, "unauthenticated: no token"],
    ["permission denied", new ConnectError("reader", Code.PermissionDenied), ExitCode.PermissionDenied, "permission denied: reader"],
    ["a server not ready", new ConnectError("store down", Code.Unavailable), ExitCode.Unavailable, "unavailable: store down"],
    [
      "a refused connection",
      new ConnectError("connect ECONNREFUSED 127.0.0.1:8080", Code.Unavailable, undefined, undefined, refused),
      ExitCode.Unavailable,
      `cannot reach the server at ${server}: connect ECONNREFUSED 127.0.0.1:8080`,
    ],
    ["rate limiting", new ConnectError("slow down", Code.ResourceExhausted), ExitCode.Unavailable, "resource exhausted: slow down"],
    ["a deadline", new ConnectError("the operation timed out", Code.DeadlineExceeded), ExitCode.Timeout, "deadline exceeded: the operation timed out"],
    ["a server fault", new ConnectError("internal error", Code.Internal), ExitCode.Failure, "internal: internal error"],
    ["anything else thrown", new TypeError("boom\n  at x"), ExitCode.Failure, "unknown: boom at x"],
  ])("%s", (_name, err, exitCode, message) => {
    expect(failureOf(err, server)).toEqual({ exitCode, message });
  });

  it("treats commander's errors as usage errors already printed, and asked-for help as success", () => {
    expect(failureOf(new CommanderError(1, "commander.unknownOption", "x"), server)).toEqual({ exitCode: ExitCode.Usage, message: "" });
    expect(failureOf(new CommanderError(0, "commander.helpDisplayed", "x"), server)).toEqual({ exitCode: ExitCode.Ok, message: "" });
  });
});

describe("cluster load line", () => {
  const load = (o: Partial<{ overloaded: boolean; queuedRuns: bigint; queueBound: bigint; startRate: number; shedTotal: bigint; ageMs: number }>) =>
    create(NodeLoadSchema, {
      overloaded: o.overloaded ?? false,
      queuedRuns: o.queuedRuns ?? 0n,
      queueBound: o.queueBound ?? 256n,
      startRate: o.startRate ?? 0,
      shedTotal: o.shedTotal ?? 0n,
      oldestQueuedAge: o.ageMs === undefined ? undefined : durationFromMs(o.ageMs),
    });
  it.each([
    ["a calm node", false, load({ queuedRuns: 3n, startRate: 812.4 }), "normal; queue 3/256, 812 runs/s started, 0 shed"],
    [
      "an overloaded node with runs waiting",
      true,
      load({ overloaded: true, queuedRuns: 256n, startRate: 20, shedTotal: 4321n, ageMs: 1250 }),
      "OVERLOADED (runs past their start deadline are decided by their misfire policy); queue 256/256, oldest waiting 1.3s, 20 runs/s started, 4321 shed",
    ],
    ["a server that reports no load", false, undefined, "normal"],
  ])("%s", (_name, overloaded, l, expected) => {
    expect(loadLine({ overloaded, load: l })).toBe(expected);
  });
});
