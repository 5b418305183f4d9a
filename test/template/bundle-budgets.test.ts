/**
 * Each function's package holds at most its budget of JavaScript (sdk-floors.ts, bundleBudget): the
 * functions that make no AWS call 100 KiB, every other one its floor bundle (the SDK clients and
 * commands its calls need, alone, bundled the same way) plus 150 KiB. Sizes are of the packaged
 * zips' JavaScript, uncompressed, source maps aside: what Lambda loads at a cold start.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { handlerModule } from '../../lib/local/bundles';
import { packagedProd } from '../support/package';
import {
  buildFloors,
  bundleBudget,
  EXPLAINED_GAPS,
  type FunctionFloor,
  functionFloors,
  GAP_SLACK_KIB,
  gapKey,
  NO_AWS_CALL_FUNCTIONS,
} from './sdk-floors';

const ROOT = process.cwd();
const KiB = 1024;

let dir: string;
let owned = false;
let floorDir: string;
let floors: Map<string, FunctionFloor>;
let floorBytes: Map<string, { bytes: number }>;
let packaged: Array<{ name: string; handler: string; artifact: string }>;

/** The uncompressed size of the JavaScript in a zip (`unzip -l`), source maps aside. */
function packagedJavaScript(zip: string): number {
  const listing = execFileSync('unzip', ['-l', zip], { encoding: 'utf8' });
  let bytes = 0;
  for (const line of listing.split('\n')) {
    const entry = /^\s*(\d+)\s+\S+\s+\S+\s+(\S.*)$/.exec(line);
    if (entry && /\.[cm]?js$/.test(entry[2] as string)) bytes += Number(entry[1]);
  }
  return bytes;
}

beforeAll(async () => {
  ({ dir, owned } = await packagedProd());
  const state = JSON.parse(readFileSync(join(dir, 'serverless-state.json'), 'utf8')) as {
    service: { functions: Record<string, { handler: string; package?: { artifact?: string } }> };
  };
  const functions = Object.entries(state.service.functions).map(([name, fn]) => ({
    name,
    handler: handlerModule(fn.handler),
    artifact: join(dir, basename(fn.package?.artifact ?? `${name}.zip`)),
  }));
  packaged = functions;
  floors = functionFloors(ROOT, functions);
  floorDir = mkdtempSync(join(tmpdir(), 'slipway-floors-'));
  floorBytes = await buildFloors(ROOT, floors, floorDir);
});

afterAll(() => {
  if (floorDir) rmSync(floorDir, { recursive: true, force: true });
  if (owned) rmSync(dir, { recursive: true, force: true });
});

describe('bundle budgets (stage prod)', () => {
  it('every packaged function has a floor', () => {
    expect(packaged.length).toBeGreaterThan(30);
    expect(packaged.filter(({ name }) => !floorBytes.has(name))).toEqual([]);
  });

  it('the functions budgeted as making no AWS call make none, by their call graph', () => {
    // given the call graph from each handler / then the fixed-size budget is theirs by right
    const calling = NO_AWS_CALL_FUNCTIONS.map((name) => ({ name, operations: floors.get(name)?.operations })).filter(
      ({ operations }) => operations === undefined || operations.length > 0,
    );
    expect(calling).toEqual([]);
  });

  function weighed() {
    return packaged.map((fn) => {
      const bytes = packagedJavaScript(fn.artifact);
      const budget = bundleBudget(fn.name, floorBytes.get(fn.name)?.bytes ?? 0);
      return {
        name: fn.name,
        gap: EXPLAINED_GAPS[gapKey(fn)],
        kib: Math.ceil(bytes / KiB),
        budgetKib: Math.floor(budget / KiB),
        overKib: (bytes - budget) / KiB,
      };
    });
  }

  it("no function's packaged JavaScript exceeds its budget, or the gap explained for it", () => {
    // given each package and its floor / when its JavaScript is weighed
    const over = weighed()
      .filter(({ gap, overKib }) => overKib > (gap?.kib ?? 0))
      .map(
        ({ name, gap, kib, budgetKib }) =>
          `${name}: ${kib} KiB, budget ${budgetKib} KiB${gap ? ` + explained gap ${gap.kib} KiB` : ''}`,
      );
    // then none is over
    expect(over).toEqual([]);
  });

  it('every explained gap is still needed, and no looser than the function it explains', () => {
    // given the gaps / when each function is weighed against its own
    const stale = weighed()
      .filter(({ gap, overKib }) => gap !== undefined && (overKib <= 0 || gap.kib - overKib > GAP_SLACK_KIB))
      .map(({ name, gap, overKib }) =>
        overKib <= 0
          ? `${name} is within its budget now: remove its gap`
          : `${name} is ${Math.ceil(overKib)} KiB over its budget: lower its gap from ${gap?.kib} KiB`,
      );
    const unknown = Object.keys(EXPLAINED_GAPS).filter((key) => !packaged.some((fn) => gapKey(fn) === key));
    // then the list only ever shrinks
    expect([...stale, ...unknown.map((name) => `${name} names no packaged function`)]).toEqual([]);
  });
});
