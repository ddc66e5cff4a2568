import type { Command } from "commander";
import { TaskSchema } from "../../../gen/cronmesh/v1/job_pb.js";
import { actionOf, readInput } from "../command-kit.js";
import type { Session } from "../context.js";
import { parseMessageYaml } from "../proto-yaml.js";
import { tasksTable } from "../views/jobs.js";

/** Registers `cronmesh jobs tasks …`: a DAG job's tasks, listed, added, replaced and removed. */
export function registerTaskCommands(jobs: Command, session: Session): void {
  const tasks = jobs.command("tasks").description("manage the DAG tasks of a job");

  tasks
    .command("ls")
    .alias("list")
    .description("list a job's tasks in dependency order")
    .argument("<job_id>")
    .action(
      actionOf(session, async (ctx, [jobId]) => {
        const res = await ctx.clients.cron.listTasks({ jobId });
        ctx.show(res, () => (res.tasks.length ? tasksTable(res.tasks) : ""));
        if (!ctx.json && res.tasks.length === 0) ctx.note("no tasks");
      }),
    );

  for (const [name, description] of [
    ["add", "add a task from a task file (YAML)"],
    ["update", "replace a task (named by task_id in the file)"],
  ] as const) {
    tasks
      .command(name)
      .description(description)
      .argument("<job_id>")
      .requiredOption("-f, --file <path>", "task file (YAML); - reads stdin")
      .action(
        actionOf<{ file: string }>(session, async (ctx, [jobId], o, command) => {
          const { text, source } = readInput(command, o.file);
          const req = { jobId, task: parseMessageYaml(TaskSchema, text, source) };
          const res = name === "add" ? await ctx.clients.cron.addTask(req) : await ctx.clients.cron.updateTask(req);
          ctx.show(res, () => tasksTable(res.job!.tasks));
        }),
      );
  }

  tasks
    .command("rm")
    .alias("delete")
    .description("remove a task no other task depends on")
    .argument("<job_id>")
    .argument("<task_id>")
    .action(
      actionOf(session, async (ctx, [jobId, taskId]) => {
        const res = await ctx.clients.cron.deleteTask({ jobId, taskId });
        ctx.show(res, () => (res.job!.tasks.length ? tasksTable(res.job!.tasks) : `job ${jobId} has no tasks left\n`));
      }),
    );
}
