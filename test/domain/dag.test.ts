import { describe, expect, it } from "vitest";
import { topologicalOrder } from "../../src/domain/dag.js";

const t = (taskId: string, ...dependsOn: string[]) => ({ taskId, dependsOn });

describe("DAG ordering", () => {
  it("puts every task after its dependencies, keeping input order for ties", () => {
    const order = topologicalOrder([t("report", "load"), t("extract"), t("load", "extract", "schema"), t("schema")]);
    expect(order.map((x) => x.taskId)).toEqual(["extract", "schema", "load", "report"]);
  });

  const refused: [string, ReturnType<typeof t>[], RegExp][] = [
    ["a two-task cycle is refused", [t("a", "b"), t("b", "a")], /cycle among tasks a, b/],
    ["a self-dependency is refused", [t("a", "a")], /depends on itself/],
    ["an unknown dependency is refused", [t("a", "ghost")], /unknown task "ghost"/],
    ["a duplicate id is refused", [t("a"), t("a")], /duplicate task_id/],
    ["a dependency listed twice is refused", [t("a"), t("b", "a", "a")], /twice/],
  ];
  it.each(refused)("%s", (_name, tasks, message) => {
    expect(() => topologicalOrder(tasks)).toThrow(message);
  });
});
