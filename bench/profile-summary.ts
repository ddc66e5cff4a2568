// Summarises a V8 CPU profile (BENCH_PROFILE of the benches): self time by function, by file and
// by package, and the total time of the functions whose name matches an optional pattern.
//   npx tsx bench/profile-summary.ts file.cpuprofile [top=25] [pattern]
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg, pattern] = process.argv.slice(2);
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file!, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);

/** Where a frame's code lives: a package, a file of the service, or the runtime. */
function packageOf(url: string): string {
  if (!url) return "(native/idle/gc)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith("node:")) return "node:" + (url.split(":")[1]?.split("/")[0] ?? "");
  const src = url.indexOf("/src/");
  return src >= 0 ? url.slice(src + 1) : url;
}

function table(title: string, key: (n: ProfileNode) => string): void {
  const sums = new Map<string, number>();
  for (const [id, t] of self) {
    const k = key(byId.get(id)!);
    sums.set(k, (sums.get(k) ?? 0) + t);
  }
  console.log(`\n${title}`);
  for (const [k, t] of [...sums].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * t) / total).toFixed(1).padStart(5)}%  ${(t / 1000).toFixed(0).padStart(6)} ms  ${k}`);
  }
}

console.log(`total ${(total / 1000).toFixed(0)} ms`);
table("self time by package", (n) => packageOf(n.callFrame.url));
table("self time by function", (n) => `${n.callFrame.functionName || "(anonymous)"} ${packageOf(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`);

if (pattern) {
  // Inclusive time of matching frames (each sample counted once, however deep the recursion).
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const re = new RegExp(pattern);
  const sums = new Map<string, number>();
  for (const [id, t] of self) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      const k = `${f.functionName || "(anonymous)"} ${packageOf(f.url)}:${f.lineNumber + 1}`;
      if (re.test(k) && !seen.has(k)) {
        seen.add(k);
        sums.set(k, (sums.get(k) ?? 0) + t);
      }
    }
  }
  console.log(`\ninclusive time of frames matching /${pattern}/`);
  for (const [k, t] of [...sums].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * t) / total).toFixed(1).padStart(5)}%  ${(t / 1000).toFixed(0).padStart(6)} ms  ${k}`);
  }
}
