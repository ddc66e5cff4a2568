import { describe, expect, it } from "vitest";
import { IN_PROCESS_REACH, listingQuery, scansText, searchesText, walksHere } from "../../src/store/sqlite/job-listing.js";

describe("scansText: read the jobs in order, or gather every match of the text first", () => {
  const cases: { name: string; matches: number; jobs: number; reach: number; scan: boolean }[] = [
    { name: "a text in every job of a million, first page", matches: 1_000_000, jobs: 1_000_000, reach: 21, scan: true },
    { name: "a text in a tenth of a million jobs, first page", matches: 100_000, jobs: 1_000_000, reach: 21, scan: true },
    { name: "a text in a thousandth of a million jobs, first page", matches: 1000, jobs: 1_000_000, reach: 21, scan: false },
    { name: "a text in every job, a page half a million deep", matches: 1_000_000, jobs: 1_000_000, reach: 500_020, scan: false },
    { name: "a text in every job, a page a thousand deep", matches: 1_000_000, jobs: 1_000_000, reach: 1020, scan: true },
    { name: "a text in no job", matches: 0, jobs: 1_000_000, reach: 21, scan: false },
    { name: "a text in the only job", matches: 1, jobs: 1, reach: 0, scan: false },
    { name: "a text in all of ten jobs, first item", matches: 10, jobs: 10, reach: 1, scan: true },
    { name: "a text in a tenth of a million jobs, a page 50,000 deep", matches: 100_000, jobs: 1_000_000, reach: 50_020, scan: false },
  ];
  it.each(cases)("$name: scan $scan", ({ matches, jobs, reach, scan }) => {
    expect(scansText(matches, jobs, reach)).toBe(scan);
  });
});

describe("listingQuery", () => {
  it("matches a text holding NUL without the trigram index (FTS5 refused it as an unterminated string: a 500 found by the fuzz suite)", () => {
    const q = listingQuery({ text: "a\u0000b" });
    expect(q.params.fts).toBeUndefined();
    expect(q.params.text).toBe("a\u0000b");
    expect(listingQuery({ text: "abc" }).params.fts).toBe('"abc"');
  });
});

describe("walksHere: a listing's walk reads on the node's thread only when short and dense", () => {
  const cases: { name: string; filter: object; reach: number; here: boolean }[] = [
    { name: "no filter, first page", filter: {}, reach: 21, here: true },
    { name: "no filter, a thousand deep", filter: {}, reach: IN_PROCESS_REACH, here: true },
    { name: "no filter, past a thousand", filter: {}, reach: IN_PROCESS_REACH + 1, here: false },
    { name: "a status", filter: { status: "paused" }, reach: 21, here: true },
    { name: "a project and a status (one index)", filter: { projectId: "p", status: "active" }, reach: 21, here: true },
    { name: "a creator", filter: { owner: "alice" }, reach: 21, here: true },
    { name: "a creator and a status (the index holds non-matching jobs)", filter: { owner: "alice", status: "paused" }, reach: 21, here: false },
    { name: "a tag", filter: { tag: "team=a" }, reach: 21, here: true },
    { name: "a tag and a status", filter: { tag: "team=a", status: "paused" }, reach: 21, here: false },
    { name: "a text (every match gathered first)", filter: { text: "abc" }, reach: 21, here: false },
    { name: "a short text (read in each job)", filter: { text: "ab" }, reach: 21, here: false },
  ];
  it.each(cases)("$name, reach $reach: $here", ({ filter, reach, here }) => {
    expect(walksHere(listingQuery(filter), reach)).toBe(here);
  });

  it("sums the totals of project and status filters from job_counts, and counts any other", () => {
    expect([{}, { status: "paused" }, { projectId: "p", status: "active" }].map((f) => listingQuery(f).summed)).toEqual([true, true, true]);
    expect([{ owner: "a" }, { tag: "t" }, { text: "abc" }, { text: "ab" }].map((f) => listingQuery(f).summed)).toEqual([false, false, false, false]);
  });
});

describe("searchesText: the trigram index drives the listing", () => {
  const cases: { name: string; text?: string; tag?: string; searches: boolean }[] = [
    { name: "no text", searches: false },
    { name: "a text of three characters", text: "abc", searches: true },
    { name: "a text of two characters (no trigram)", text: "ab", searches: false },
    { name: "three characters, one of them astral", text: "a😀b", searches: true },
    { name: "a text holding NUL (matched by reading the jobs)", text: "abc\u0000def", searches: false },
    { name: "a text with a tag (the tag drives)", text: "abc", tag: "team=a", searches: false },
  ];
  it.each(cases)("$name: $searches", ({ text, tag, searches }) => {
    expect(searchesText({ ...(text === undefined ? {} : { text }), ...(tag === undefined ? {} : { tag }) })).toBe(searches);
  });
});
