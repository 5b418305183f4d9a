import { readdirSync, readFileSync } from 'node:fs';

/**
 * A process and everything below it, read from /proc (proc(5): /proc/<pid>/stat and statm), so that
 * the memory of a command that starts others (serverless, its esbuild service, its worker threads'
 * process) is measured whole, not as its largest process.
 */
export interface ProcessInfo {
  pid: number;
  parent: number;
  /** The executable's name as the kernel keeps it (comm, at most 15 characters). */
  name: string;
  rssBytes: number;
  /** CPU time of the process and of its children it has waited for, in seconds. */
  cpuSeconds: number;
}

const PAGE_BYTES = 4096;
/** sysconf(_SC_CLK_TCK) on Linux: /proc/<pid>/stat counts CPU time in these ticks. */
const TICKS_PER_SECOND = 100;

function readProcess(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The name may hold spaces and parentheses; the fields after its last closing parenthesis are fixed.
    const close = stat.lastIndexOf(')');
    const name = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // statm's second field is the resident set, in pages.
    const resident = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    // utime, stime, cutime and cstime: fields 14 to 17 of stat, 12 to 15 after the name.
    const ticks = [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index]), 0);
    return {
      pid,
      parent: Number(fields[1]),
      name,
      rssBytes: resident * PAGE_BYTES,
      cpuSeconds: ticks / TICKS_PER_SECOND,
    };
  } catch {
    // Gone between the listing and the read.
    return undefined;
  }
}

function allProcesses(): ProcessInfo[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map((entry) => readProcess(Number(entry)))
    .filter((info): info is ProcessInfo => info !== undefined);
}

/** Every live process below `root` (not `root` itself), parents before children. */
export function descendantsOf(root: number, processes: ProcessInfo[] = allProcesses()): ProcessInfo[] {
  const children = new Map<number, ProcessInfo[]>();
  for (const info of processes) children.set(info.parent, [...(children.get(info.parent) ?? []), info]);
  const found: ProcessInfo[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift() as number) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/** `root` and its descendants as they are now. */
export function processTree(root: number): ProcessInfo[] {
  const processes = allProcesses();
  const self = processes.find((info) => info.pid === root);
  return [...(self ? [self] : []), ...descendantsOf(root, processes)];
}

export interface TreeUsage {
  /** The highest sum of the tree's RSS seen in one sample. */
  peakBytes: number;
  /** The highest sum, per process name, in one sample (e.g. every `esbuild` of the tree together). */
  peakByName: Map<string, number>;
  /** The tree's CPU time at the last sample: its live processes' own and that of the children they reaped. */
  cpuSeconds: number;
  samples: number;
}

/**
 * Samples the tree below and including `root` every `everyMs` until stopped. Shared pages (node's
 * binary, in each process) are counted once per process, as RSS counts them: an upper bound. A
 * process that started and ended between two samples is missed; its CPU time is not, once reaped.
 */
export function sampleTree(root: number, everyMs = 100): { stop: () => TreeUsage; now: () => TreeUsage } {
  const memory: TreeUsage = { peakBytes: 0, peakByName: new Map(), cpuSeconds: 0, samples: 0 };
  const sample = () => {
    const tree = processTree(root);
    if (tree.length === 0) return;
    memory.samples += 1;
    memory.cpuSeconds = tree.reduce((sum, info) => sum + info.cpuSeconds, 0);
    memory.peakBytes = Math.max(
      memory.peakBytes,
      tree.reduce((sum, info) => sum + info.rssBytes, 0),
    );
    const byName = new Map<string, number>();
    for (const info of tree) byName.set(info.name, (byName.get(info.name) ?? 0) + info.rssBytes);
    for (const [name, bytes] of byName) memory.peakByName.set(name, Math.max(memory.peakByName.get(name) ?? 0, bytes));
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    now: () => {
      sample();
      return { ...memory, peakByName: new Map(memory.peakByName) };
    },
    stop: () => {
      clearInterval(timer);
      sample();
      return { ...memory, peakByName: new Map(memory.peakByName) };
    },
  };
}
