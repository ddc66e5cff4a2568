import { describe, expect, it } from "vitest";
import { offsetWindow, type OffsetWindow } from "../../src/store/offset-page.js";

describe("offset window", () => {
  const cases: [string, number, number, number, OffsetWindow][] = [
    ["the first page is read from the front", 1000, 1, 20, { descending: false, skip: 0, take: 20 }],
    ["a page before the middle is read from the front", 1000, 20, 20, { descending: false, skip: 380, take: 20 }],
    ["a page past the middle is read from the end", 1000, 30, 20, { descending: true, skip: 400, take: 20 }],
    ["the last full page is read from the end, skipping nothing", 1000, 50, 20, { descending: true, skip: 0, take: 20 }],
    ["a short last page takes what is left", 1010, 51, 20, { descending: true, skip: 0, take: 10 }],
    ["the page ending exactly in the middle is read from the front", 40, 1, 20, { descending: false, skip: 0, take: 20 }],
    ["a page beyond the end takes nothing", 1000, 51, 20, { descending: false, skip: 1000, take: 0 }],
    ["an empty listing takes nothing", 0, 1, 20, { descending: false, skip: 0, take: 0 }],
    ["a limit of 0 takes nothing", 1000, 1, 0, { descending: false, skip: 0, take: 0 }],
    ["page 0 is read as the first", 1000, 0, 20, { descending: false, skip: 0, take: 20 }],
    ["a single item is read from the front", 1, 1, 20, { descending: false, skip: 0, take: 1 }],
  ];
  it.each(cases)("%s", (_name, total, page, limit, expected) => {
    expect(offsetWindow(total, page, limit)).toEqual(expected);
  });

  it("walks no more than half the entries, and reads exactly the page's items from either end", () => {
    for (const total of [0, 1, 2, 7, 100, 101]) {
      for (const limit of [1, 3, 10]) {
        for (let page = 1; page <= Math.ceil(total / limit) + 1; page++) {
          const w = offsetWindow(total, page, limit);
          const items = Array.from({ length: total }, (_, i) => i);
          const read = w.descending ? [...items].reverse().slice(w.skip, w.skip + w.take).reverse() : items.slice(w.skip, w.skip + w.take);
          expect(read).toEqual(items.slice((page - 1) * limit, page * limit));
          if (w.take > 0) expect(w.skip).toBeLessThanOrEqual(total / 2);
        }
      }
    }
  });
});
