import { create } from "@bufbuild/protobuf";
import { Option, type Command } from "commander";
import { GetJobResponseSchema } from "../../../gen/cronmesh/v1/cron_service_pb.js";
import { JobStatus } from "../../../gen/cronmesh/v1/job_pb.js";
import { applyJob } from "../apply.js";
import { countArg, timeArg, versionArg } from "../arguments.js";
import { actionOf, DEFAULT_PAGE_SIZE, readInput, showPage } from "../command-kit.js";
import type { Session } from "../context.js";
import { editJob, systemEditor } from "../edit.js";
import { enumFromWord, enumWords } from "../enum-words.js";
import { jobToYaml, parseJobYaml } from "../job-file.js";
import { backfilled, deleted, jobChanged, jobDetails, jobsTable, rolledBack, triggered, versionsTable, versionYaml } from "../views/jobs.js";
import { addWaitOptions, showRunStart } from "./run-start.js";
import { registerTaskCommands } from "./tasks.js";

/** Registers `cronmesh jobs …`: reads, changes, runs and the DAG tasks of jobs. */
export function registerJobCommands(program: Command, session: Session): void {
  const jobs = program.command("jobs").description("manage jobs");
  registerJobReads(jobs, session);
  registerJobChanges(jobs, session);
  registerJobRuns(jobs, session);
  registerTaskCommands(jobs, session);
}

/** `jobs ls`, `jobs get` and `jobs versions`. */
function registerJobReads(jobs: Command, session: Session): void {
  jobs
    .command("ls")
    .alias("list")
    .description("list jobs")
    .addOption(new Option("--status <status>", "only jobs in this state").choices(enumWords(JobStatus)))
    .option("--tag <tag>", "only jobs with this tag (key=value or key)")
    .option("--search <text>", "only jobs whose name or description contains this")
    .option("--project <id>", "only jobs of this project")
    .option("--limit <n>", "jobs per page", countArg, DEFAULT_PAGE_SIZE)
    .option("--page-token <token>", "the page after the one that printed this token")
    .action(
      actionOf<{ status?: string; tag?: string; search?: string; project?: string; limit: number; pageToken?: string }>(session, async (ctx, _args, o) => {
        const res = await ctx.clients.cron.listJobs({
          status: o.status ? enumFromWord(JobStatus, o.status) : JobStatus.UNSPECIFIED,
          tag: o.tag,
          text: o.search,
          projectId: o.project,
          pageSize: o.limit,
          pageToken: o.pageToken,
        });
        showPage(ctx, res, res.data.length, "jobs", () => jobsTable(res.data));
      }),
    );

  jobs
    .command("get")
    .description("show a job")
    .argument("<job_id>")
    .option("--yaml", "print the job as a job file (for apply -f)")
    .action(
      actionOf<{ yaml?: boolean }>(session, async (ctx, [jobId], o) => {
        const res = await ctx.clients.cron.getJob({ jobId });
        if (o.yaml && !ctx.json) return ctx.print(jobToYaml(res.job!));
        ctx.show(res, () => jobDetails(res.job!));
      }),
    );

  jobs
    .command("versions")
    .description("list a job's versions, or show one")
    .argument("<job_id>")
    .argument("[version]", "show this version's configuration (YAML)", versionArg)
    .option("--limit <n>", "versions per page", countArg, DEFAULT_PAGE_SIZE)
    .option("--page-token <token>", "the page after the one that printed this token")
    .action(
      actionOf<{ limit: number; pageToken?: string }>(session, async (ctx, args, o) => {
        const [jobId, version] = args as unknown as [string, bigint | undefined];
        if (version !== undefined) {
          const res = await ctx.clients.cron.getJobVersion({ jobId, version });
          return ctx.show(res, () => versionYaml(res.version!));
        }
        const res = await ctx.clients.cron.listJobVersions({ jobId, pageSize: o.limit, pageToken: o.pageToken });
        showPage(ctx, res, res.versions.length, "versions", () => versionsTable(res.versions));
      }),
    );
}

/** `jobs create`, `apply`, `edit`, `rm` and `rollback`. */
function registerJobChanges(jobs: Command, session: Session): void {
  jobs
    .command("create")
    .description("create a job from a job file")
    .requiredOption("-f, --file <path>", "job file (YAML); - reads stdin")
    .action(
      actionOf<{ file: string }>(session, async (ctx, _args, o, command) => {
        const { text, source } = readInput(command, o.file);
        const res = await ctx.clients.cron.createJob({ job: parseJobYaml(text, source) });
        ctx.show(res, () => jobChanged("created", res.job!));
      }),
    );

  jobs
    .command("apply")
    .description("create a job, or update it to match the file (found by job_id, else by name in its project)")
    .requiredOption("-f, --file <path>", "job file (YAML); - reads stdin")
    .action(
      actionOf<{ file: string }>(session, async (ctx, _args, o, command) => {
        const { text, source } = readInput(command, o.file);
        const { action, job } = await applyJob(ctx.clients, parseJobYaml(text, source));
        ctx.show(create(GetJobResponseSchema, { job }), () => jobChanged(action, job));
      }),
    );

  jobs
    .command("edit")
    .description("edit a job as YAML in $VISUAL or $EDITOR, and apply the change if the job has not changed meanwhile")
    .argument("<job_id>")
    .action(
      actionOf(session, async (ctx, [jobId]) => {
        const { action, job } = await editJob(ctx.clients, jobId!, systemEditor(process.env));
        ctx.show(create(GetJobResponseSchema, { job }), () => (action === "updated" ? jobChanged("updated", job) : `job ${job.jobId} unchanged\n`));
      }),
    );

  jobs
    .command("rm")
    .alias("delete")
    .description("delete a job (its queued runs are cancelled)")
    .argument("<job_id>")
    .action(
      actionOf(session, async (ctx, [jobId]) => {
        const res = await ctx.clients.cron.deleteJob({ jobId });
        ctx.show(res, () => deleted(res));
      }),
    );

  jobs
    .command("rollback")
    .description("make an earlier version's configuration current (as a new version)")
    .argument("<job_id>")
    .argument("<version>", "the version to go back to", versionArg)
    .action(
      actionOf(session, async (ctx, args) => {
        const [jobId, version] = args as unknown as [string, bigint];
        const res = await ctx.clients.cron.rollbackJob({ jobId, version });
        ctx.show(res, () => rolledBack(res, version));
      }),
    );
}

/** `jobs trigger`, `pause`, `resume` and `backfill`. */
function registerJobRuns(jobs: Command, session: Session): void {
  addWaitOptions(jobs.command("trigger").description("run a job now").argument("<job_id>")).action(
    actionOf<{ wait?: boolean; waitTimeout: number }>(session, async (ctx, [jobId], o) => {
      const res = await ctx.clients.cron.triggerJob({ jobId });
      await showRunStart(ctx, res, o, () => triggered(res));
    }),
  );

  for (const [name, enabled] of [
    ["pause", false],
    ["resume", true],
  ] as const) {
    jobs
      .command(name)
      .description(enabled ? "let a paused job fire again" : "stop a job from firing")
      .argument("<job_id>")
      .option("--note <text>", "why (kept with the job)", "")
      .action(
        actionOf<{ note: string }>(session, async (ctx, [jobId], o) => {
          const req = { jobId, note: o.note };
          const res = enabled ? await ctx.clients.cron.resumeJob(req) : await ctx.clients.cron.pauseJob(req);
          ctx.show(res, () => jobChanged(enabled ? "resumed" : "paused", res.job!));
        }),
      );
  }

  jobs
    .command("backfill")
    .description("create a run for every slot of a job in [--from, --to)")
    .argument("<job_id>")
    .requiredOption("--from <time>", "first slot, RFC 3339", timeArg)
    .requiredOption("--to <time>", "end (excluded), RFC 3339", timeArg)
    .action(
      actionOf<{ from: ReturnType<typeof timeArg>; to: ReturnType<typeof timeArg> }>(session, async (ctx, [jobId], o) => {
        const res = await ctx.clients.cron.backfillJob({ jobId, startTime: o.from, endTime: o.to });
        ctx.show(res, () => backfilled(jobId!, res));
      }),
    );
}
