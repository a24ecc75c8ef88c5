import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Every child a test starts (JVMs, node workers) goes through spawnTracked, so that nothing
 * survives the test process: tracked children are SIGKILLed synchronously in process 'exit' and
 * on SIGINT/SIGTERM, and a detached reaper (reaper.js) kills them when this process dies by
 * SIGKILL, when no hook of ours can run.
 */

interface Tracked {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly start: string | undefined;
}

const tracked = new Map<number, Tracked>();
const tempDirs = new Set<string>();
let stateFile: string | undefined;
let reaper: ChildProcess | undefined;
let hooksInstalled = false;

/** Like child_process.spawn, but the child is killed whatever way this process ends. */
export function spawnTracked(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  ensureSafetyNet();
  const child = spawn(cmd, args, opts);
  const pid = child.pid;
  if (pid === undefined) return child; // spawn failed; the 'error' event tells the caller
  tracked.set(pid, { child, pid, start: processStartTime(pid) });
  writeState();
  child.once('exit', () => {
    tracked.delete(pid);
    writeState();
  });
  return child;
}

/** Synchronous SIGKILL of every tracked child (paused ones too). */
export function killAllTracked(): void {
  for (const { pid } of tracked.values()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  tracked.clear();
  writeState();
}

/** A temp dir removed on exit (and by the reaper) unless released earlier. */
export function trackTempDir(dir: string): void {
  ensureSafetyNet();
  tempDirs.add(dir);
  writeState();
}

export function releaseTempDir(dir: string): void {
  tempDirs.delete(dir);
  writeState();
}

/** Pids of the tracked children still running (for tests and diagnostics). */
export function trackedPids(): number[] {
  return [...tracked.keys()];
}

/** Start time of a pid from /proc (clock ticks since boot), so a recycled pid is never killed. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** True while the pid names a live (possibly stopped) process that is not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return true;
  }
}

function ensureSafetyNet(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanUpSync);
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    process.on(signal, () => {
      cleanUpSync();
      process.exit(code);
    });
  }
  startReaper();
}

function startReaper(): void {
  try {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zk-ha-reaper-'));
    stateFile = path.join(dir, 'state.json');
    writeState();
    reaper = spawn(process.execPath, [path.join(__dirname, 'reaper.js'), String(process.pid), stateFile], {
      detached: true,
      stdio: 'ignore',
    });
    reaper.on('error', () => undefined); // the exit hooks still cover every other way out
    reaper.unref();
  } catch {
    stateFile = undefined; // no reaper: the exit hooks still run on every non-SIGKILL exit
  }
}

function writeState(): void {
  if (stateFile === undefined) return;
  const state = {
    pids: [...tracked.values()].map(({ pid, start }) => ({ pid, start })),
    dirs: [...tempDirs],
  };
  try {
    const tmp = `${stateFile}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(state));
    fs.renameSync(tmp, stateFile);
  } catch {
    /* the state dir may be gone during exit */
  }
}

function cleanUpSync(): void {
  killAllTracked();
  for (const dir of tempDirs) {
    try {
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
    } catch {
      /* best effort */
    }
  }
  tempDirs.clear();
  if (stateFile !== undefined) {
    // Removing the state file tells the reaper to leave quietly.
    try {
      fs.rmSync(path.dirname(stateFile), { recursive: true, force: true });
    } catch {
      /* best effort */
    }
    stateFile = undefined;
  }
  if (reaper?.pid !== undefined) {
    try {
      process.kill(reaper.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}
