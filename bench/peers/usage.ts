// CPU and memory of the processes of a contestant, read from /proc: each role's processes and all
// their descendants (PostgreSQL's backends, a shell's children), summed per role.
import { readdirSync, readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";

/** What one role used over a window. */
export interface RoleUsage {
  /** CPU seconds (user + system) of its processes in the window. */
  cpuSeconds: number;
  /** The highest sum of their resident set sizes seen, in MB (sampled). */
  rssPeakMb: number;
  /** Processes counted (the roots and their descendants, at any sample). */
  processes: number;
}

/** Root process ids per role, read at every sample (a role's process may be replaced). */
export type Roles = () => Record<string, number[]>;

/** Clock ticks per second of /proc's CPU times; page size of its RSS. */
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
const PAGE_BYTES = Number(execFileSync("getconf", ["PAGESIZE"], { encoding: "utf8" }).trim()) || 4096;

/** How often resident memory is sampled: often enough to see a burst's peak, cheap at a few dozen processes. */
const SAMPLE_MS = 250;

interface ProcStat {
  ppid: number;
  ticks: number;
  rssBytes: number;
}

/** /proc/<pid>/stat of every process now (the command name may hold spaces: fields count from its closing paren). */
function readAll(): Map<number, ProcStat> {
  const out = new Map<number, ProcStat>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = readFileSync(`/proc/${name}/stat`, "latin1");
      const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
      // After the name: state(0) ppid(1) … utime(11) stime(12) … rss(21).
      out.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), rssBytes: Number(f[21]) * PAGE_BYTES });
    } catch {
      // gone between the listing and the read
    }
  }
  return out;
}

/** The roots and every descendant of them in `all`. */
function treeOf(roots: number[], all: Map<number, ProcStat>): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, s] of all) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  const out: number[] = [];
  const stack = roots.filter((p) => all.has(p));
  while (stack.length > 0) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** A usage meter running from `start()` to `stop()`. */
export interface UsageMeter {
  start(): void;
  /** Stops sampling; usage per role over the window. */
  stop(): Record<string, RoleUsage>;
}

/**
 * Meters the roles' process trees: CPU as the difference of their CPU times between start and
 * stop (a process that appears in between counts from zero; one that exits counts up to the last
 * sample that saw it), resident memory as the peak of the per-role sum over samples.
 */
export function createUsageMeter(roles: Roles): UsageMeter {
  const startTicks = new Map<number, number>();
  const lastTicks = new Map<number, number>();
  const pidsOf = new Map<string, Set<number>>();
  const peaks = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  const sample = (first: boolean) => {
    const all = readAll();
    for (const [role, roots] of Object.entries(roles())) {
      const pids = pidsOf.get(role) ?? new Set<number>();
      pidsOf.set(role, pids);
      let rss = 0;
      for (const pid of treeOf(roots, all)) {
        const s = all.get(pid)!;
        pids.add(pid);
        if (first) startTicks.set(pid, s.ticks);
        lastTicks.set(pid, s.ticks);
        rss += s.rssBytes;
      }
      peaks.set(role, Math.max(peaks.get(role) ?? 0, rss));
    }
  };
  return {
    start() {
      sample(true);
      timer = setInterval(() => sample(false), SAMPLE_MS);
    },
    stop() {
      clearInterval(timer);
      sample(false);
      const out: Record<string, RoleUsage> = {};
      for (const [role, pids] of pidsOf) {
        let ticks = 0;
        for (const pid of pids) ticks += (lastTicks.get(pid) ?? 0) - (startTicks.get(pid) ?? 0);
        out[role] = { cpuSeconds: ticks / CLK_TCK, rssPeakMb: (peaks.get(role) ?? 0) / 2 ** 20, processes: pids.size };
      }
      return out;
    },
  };
}
