/**
 * Edits of a job's DAG tasks, one task at a time (AddTask, UpdateTask, DeleteTask). Each returns
 * the new task list or throws the CronError the caller gets; the whole list is validated after
 * (normalizeTasks: ids, dependencies, cycles).
 */
import { CronError } from "./cron-error.js";
import type { TaskSpec } from "./job.js";

/** A task edit by kind, as the API names them. */
export type TaskEdit = { kind: "add"; task: TaskSpec } | { kind: "update"; task: TaskSpec } | { kind: "delete"; taskId: string };

/** The tasks after `edit`: AlreadyExists for an id taken, NotFound for an id missing, FailedPrecondition for a task others depend on. */
export function applyTaskEdit(tasks: readonly TaskSpec[], edit: TaskEdit): TaskSpec[] {
  switch (edit.kind) {
    case "add":
      if (tasks.some((t) => t.taskId === edit.task.taskId)) throw new CronError("already_exists", `task ${edit.task.taskId} already exists`);
      return [...tasks, edit.task];
    case "update":
      if (!tasks.some((t) => t.taskId === edit.task.taskId)) throw CronError.notFound("task", edit.task.taskId);
      return tasks.map((t) => (t.taskId === edit.task.taskId ? edit.task : t));
    case "delete": {
      if (!tasks.some((t) => t.taskId === edit.taskId)) throw CronError.notFound("task", edit.taskId);
      const dependant = tasks.find((t) => t.dependsOn.includes(edit.taskId));
      if (dependant) throw new CronError("failed_precondition", `task ${dependant.taskId} depends on ${edit.taskId}`);
      return tasks.filter((t) => t.taskId !== edit.taskId);
    }
  }
}

/** The version reason recorded for an edit. */
export function taskEditReason(edit: TaskEdit): string {
  return `${edit.kind} task`;
}
