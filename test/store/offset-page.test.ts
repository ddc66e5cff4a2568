import { describe, expect, it } from "vitest";
import { offsetStart, offsetWindow, type OffsetWindow } from "../../src/store/offset-page.js";

describe("offset window", () => {
  const cases: [string, number, number, number, OffsetWindow][] = [
    ["the first page is read from the front", 1000, 0, 20, { descending: false, skip: 0, take: 20 }],
    ["a page before the middle is read from the front", 1000, 380, 20, { descending: false, skip: 380, take: 20 }],
    ["a page past the middle is read from the end", 1000, 580, 20, { descending: true, skip: 400, take: 20 }],
    ["the last full page is read from the end, skipping nothing", 1000, 980, 20, { descending: true, skip: 0, take: 20 }],
    ["a short last page takes what is left", 1010, 1000, 20, { descending: true, skip: 0, take: 10 }],
    ["an offset between pages is read from where it says", 1000, 7, 20, { descending: false, skip: 7, take: 20 }],
    ["an offset between pages past the middle is read from the end", 1000, 973, 20, { descending: true, skip: 7, take: 20 }],
    ["the page ending exactly in the middle is read from the front", 40, 0, 20, { descending: false, skip: 0, take: 20 }],
    ["a page beyond the end takes nothing", 1000, 1000, 20, { descending: false, skip: 1000, take: 0 }],
    ["an empty listing takes nothing", 0, 0, 20, { descending: false, skip: 0, take: 0 }],
    ["a limit of 0 takes nothing", 1000, 0, 0, { descending: false, skip: 0, take: 0 }],
    ["a negative start is read as the first", 1000, -20, 20, { descending: false, skip: 0, take: 20 }],
    ["a single item is read from the front", 1, 0, 20, { descending: false, skip: 0, take: 1 }],
  ];
  it.each(cases)("%s", (_name, total, start, limit, expected) => {
    expect(offsetWindow(total, start, limit)).toEqual(expected);
  });

  it("walks no more than half the entries, and reads exactly the page's items from either end", () => {
    for (const total of [0, 1, 2, 7, 100, 101]) {
      for (const limit of [1, 3, 10]) {
        for (let start = 0; start <= total + 1; start++) {
          const w = offsetWindow(total, start, limit);
          const items = Array.from({ length: total }, (_, i) => i);
          const read = w.descending
            ? [...items]
                .reverse()
                .slice(w.skip, w.skip + w.take)
                .reverse()
            : items.slice(w.skip, w.skip + w.take);
          expect(read).toEqual(items.slice(start, start + limit));
          if (w.take > 0) expect(w.skip).toBeLessThanOrEqual(total / 2);
        }
      }
    }
  });
});

describe("offset start", () => {
  const cases: [string, { page: number; limit: number; offset?: number }, number][] = [
    ["page 1 starts at 0", { page: 1, limit: 20 }, 0],
    ["page 3 starts after two pages", { page: 3, limit: 20 }, 40],
    ["page 0 is read as the first", { page: 0, limit: 20 }, 0],
    ["an offset wins over the page", { page: 3, limit: 20, offset: 7 }, 7],
    ["an offset of 0 wins over the page", { page: 3, limit: 20, offset: 0 }, 0],
    ["a negative offset is read as 0", { page: 1, limit: 20, offset: -5 }, 0],
  ];
  it.each(cases)("%s", (_name, query, expected) => {
    expect(offsetStart(query)).toBe(expected);
  });
});
