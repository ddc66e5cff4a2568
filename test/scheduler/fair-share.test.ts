import { describe, expect, it } from "vitest";
import { takeFairly } from "../../src/scheduler/fair-share.js";

/** Items written `job:n`. */
const jobOf = (item: string) => item.split(":")[0]!;

const cases: [string, string[], number, string[]][] = [
  ["everything fits: all taken, in order", ["a:1", "b:1", "a:2"], 3, ["a:1", "b:1", "a:2"]],
  ["a job offering many does not crowd out the others", ["a:1", "a:2", "a:3", "a:4", "b:1", "c:1"], 3, ["a:1", "b:1", "c:1"]],
  ["rounds go on while room is left, each job's items in order", ["a:1", "a:2", "a:3", "b:1", "b:2"], 4, ["a:1", "a:2", "b:1", "b:2"]],
  ["one job alone takes the room, oldest first", ["a:1", "a:2", "a:3"], 2, ["a:1", "a:2"]],
  ["no room: nothing taken", ["a:1", "b:1"], 0, []],
  ["jobs take turns in the order they first appear", ["c:1", "c:2", "a:1", "b:1", "a:2"], 2, ["c:1", "a:1"]],
];

describe("takeFairly: the offers a replica has room for", () => {
  it.each(cases)("%s", (_name, items, limit, taken) => {
    const out = takeFairly(items, limit, jobOf);
    expect(out.taken).toEqual(taken);
    expect(out.left).toEqual(items.filter((i) => !taken.includes(i)));
  });

  it.each([
    [
      "projects take turns before jobs do: a project of many jobs does not crowd out another",
      ["p:a:1", "p:b:1", "p:c:1", "p:d:1", "q:e:1"],
      2,
      ["p:a:1", "q:e:1"],
    ],
    ["within a project, its jobs take turns", ["p:a:1", "p:a:2", "p:b:1", "q:e:1", "q:e:2"], 4, ["p:a:1", "p:b:1", "q:e:1", "q:e:2"]],
    ["a project offering nothing more leaves the rotation", ["p:a:1", "q:e:1", "q:e:2", "q:f:1"], 3, ["p:a:1", "q:e:1", "q:f:1"]],
  ])("%s", (_name, items, limit, taken) => {
    const out = takeFairly(
      items,
      limit,
      (i) => i.split(":")[1]!,
      (i) => i.split(":")[0]!,
    );
    expect(out.taken).toEqual(taken);
    expect(out.left).toEqual(items.filter((i) => !taken.includes(i)));
  });

  it("stays linear with one job of many and many jobs of one", () => {
    const items = [...Array.from({ length: 50_000 }, (_, i) => `big:${i}`), ...Array.from({ length: 5000 }, (_, i) => `j${i}:0`)];
    const started = performance.now();
    const { taken } = takeFairly(items, 10_000, jobOf);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(taken.filter((t) => !t.startsWith("big:"))).toHaveLength(5000);
    expect(taken).toHaveLength(10_000);
  });
});
