import { describe, expect, it } from "vitest";
import type { TaskSpec } from "../../src/domain/job.js";
import { applyTaskEdit, taskEditReason, type TaskEdit } from "../../src/domain/task-edits.js";

const task = (taskId: string, dependsOn: string[] = []): TaskSpec => ({ taskId, name: taskId, dependsOn }) as TaskSpec;
const tasks = [task("a"), task("b", ["a"])];

describe("applyTaskEdit: one DAG task edit", () => {
  it.each<[string, TaskEdit, string[]]>([
    ["adds a new task at the end", { kind: "add", task: task("c", ["b"]) }, ["a", "b", "c"]],
    ["replaces a task in place", { kind: "update", task: task("a", []) }, ["a", "b"]],
    ["deletes a task nothing depends on", { kind: "delete", taskId: "b" }, ["a"]],
  ])("%s", (_name, edit, ids) => {
    expect(applyTaskEdit(tasks, edit).map((t) => t.taskId)).toEqual(ids);
    expect(tasks.map((t) => t.taskId)).toEqual(["a", "b"]);
  });

  it.each<[string, TaskEdit, string, RegExp]>([
    ["an id already taken", { kind: "add", task: task("a") }, "already_exists", /task a already exists/],
    ["an update of a missing task", { kind: "update", task: task("z") }, "not_found", /z/],
    ["a delete of a missing task", { kind: "delete", taskId: "z" }, "not_found", /z/],
    ["a delete of a task another depends on", { kind: "delete", taskId: "a" }, "failed_precondition", /task b depends on a/],
  ])("refuses %s", (_name, edit, code, message) => {
    expect(() => applyTaskEdit(tasks, edit)).toThrow(expect.objectContaining({ code, message: expect.stringMatching(message) }));
  });

  it("names the version it writes after the edit", () => {
    expect([taskEditReason({ kind: "add", task: task("c") }), taskEditReason({ kind: "delete", taskId: "a" })]).toEqual(["add task", "delete task"]);
  });
});
