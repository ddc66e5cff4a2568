import { Option, type Command } from "commander";
import { RunStatus } from "../../../gen/cronmesh/v1/run_pb.js";
import { RedriveVersion } from "../../../gen/cronmesh/v1/run_service_pb.js";
import { countArg } from "../arguments.js";
import { actionOf, DEFAULT_PAGE_SIZE, showPage } from "../command-kit.js";
import type { Session } from "../context.js";
import { enumFromWord, enumWords } from "../enum-words.js";
import { cancelled, deadLettersTable, redriven, replayed, runDetails, runsTable, watchHeader, watchLine } from "../views/runs.js";
import { addWaitOptions, showRunStart } from "./run-start.js";

interface ListOptions {
  job?: string;
  project?: string;
  limit: number;
  pageToken?: string;
}

function listOptions(command: Command): Command {
  return command
    .option("--job <job_id>", "only runs of this job")
    .option("--project <id>", "only runs of this project")
    .option("--limit <n>", "runs per page", countArg, DEFAULT_PAGE_SIZE)
    .option("--page-token <token>", "the page after the one that printed this token");
}

/** Registers `cronmesh runs …`: list, read, watch, cancel and replay runs. */
export function registerRunCommands(program: Command, session: Session): void {
  const runs = program.command("runs").description("read and steer runs");

  listOptions(runs.command("ls").alias("list").description("list runs, newest first"))
    .addOption(new Option("--status <status>", "only runs in this state").choices(enumWords(RunStatus)))
    .action(
      actionOf<ListOptions & { status?: string }>(session, async (ctx, _args, o) => {
        const status = o.status ? enumFromWord(RunStatus, o.status) : RunStatus.UNSPECIFIED;
        const res = await ctx.clients.runs.listRuns({ jobId: o.job, projectId: o.project, status, pageSize: o.limit, pageToken: o.pageToken });
        showPage(ctx, res, res.runs.length, "runs", () => runsTable(res.runs));
      }),
    );

  runs
    .command("get")
    .description("show a run with its attempts")
    .argument("<run_id>")
    .action(
      actionOf(session, async (ctx, [runId]) => {
        const res = await ctx.clients.runs.getRun({ runId });
        ctx.show(res, () => runDetails(res.run!));
      }),
    );

  runs
    .command("watch")
    .description("print runs as they change, until interrupted (--json: one JSON object per line)")
    .option("--job <job_id>", "only runs of this job")
    .option("--project <id>", "only runs of this project")
    .action(
      actionOf<{ job?: string; project?: string }>(session, async (ctx, _args, o) => {
        if (!ctx.json) ctx.print(watchHeader());
        for await (const res of ctx.clients.watch.watchRuns({ jobId: o.job, projectId: o.project })) {
          if (ctx.json) ctx.showLine(res);
          else if (res.run) ctx.print(watchLine(res.run));
        }
      }),
    );

  runs
    .command("cancel")
    .description("cancel a queued or running run (a running request is aborted)")
    .argument("<run_id>")
    .option("--reason <text>", "why (kept with the run)")
    .action(
      actionOf<{ reason?: string }>(session, async (ctx, [runId], o) => {
        const res = await ctx.clients.runs.cancelRun({ runId, reason: o.reason });
        ctx.show(res, () => cancelled(res.run!));
      }),
    );

  addWaitOptions(runs.command("replay").description("run the same request as an earlier run again").argument("<run_id>")).action(
    actionOf<{ wait?: boolean; waitTimeout: number }>(session, async (ctx, [runId], o) => {
      const res = await ctx.clients.runs.replayRun({ runId });
      await showRunStart(ctx, res, o, () => replayed(res));
    }),
  );

  registerDeadLetterCommands(program, session);
}

/** Registers `cronmesh dlq …`: the dead-letter queue, listed and redriven. */
function registerDeadLetterCommands(program: Command, session: Session): void {
  const dlq = program.command("dlq").description("the dead-letter queue: runs whose last attempt failed");

  listOptions(dlq.command("ls").alias("list").description("list dead letters, newest first"))
    .option("--include-redriven", "also list dead letters already redriven")
    .action(
      actionOf<ListOptions & { includeRedriven?: boolean }>(session, async (ctx, _args, o) => {
        const res = await ctx.clients.runs.listDeadLetters({
          jobId: o.job,
          projectId: o.project,
          pageSize: o.limit,
          pageToken: o.pageToken,
          includeRedriven: o.includeRedriven === true,
        });
        showPage(ctx, res, res.runs.length, "dead letters", () => deadLettersTable(res.runs));
      }),
    );

  addWaitOptions(dlq.command("redrive").description("run a dead letter again and mark it redriven").argument("<run_id>"))
    .addOption(
      new Option("--version <which>", "the job version to run: the one that failed, or the job as it is now (server default)").choices(["original", "current"]),
    )
    .action(
      actionOf<{ version?: string; wait?: boolean; waitTimeout: number }>(session, async (ctx, [runId], o) => {
        const version = o.version ? enumFromWord(RedriveVersion, o.version) : RedriveVersion.UNSPECIFIED;
        const res = await ctx.clients.runs.redriveRun({ runId, version });
        await showRunStart(ctx, res, o, () => redriven(res));
      }),
    );
}
