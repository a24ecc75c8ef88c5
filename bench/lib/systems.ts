import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CandidateCommand } from './candidate';

export type SystemName = 'zk-ha' | 'curator' | 'kazoo';

const REPO = path.join(__dirname, '..', '..');
const JAVA_LIB = '/usr/share/java';
const CURATOR_JARS = [
  'curator-recipes.jar', 'curator-framework.jar', 'curator-client.jar', 'zookeeper.jar', 'zookeeper-jute.jar',
  'guava.jar', 'slf4j-api.jar', 'slf4j-simple.jar',
];
// Small heap, serial GC, client compiler: what the harness uses for ZooKeeper too — quick to start on 2 cores.
const JVM_FLAGS = ['-Xmx96m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-XX:-UsePerfData', '-Djava.net.preferIPv4Stack=true',
  '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-Dorg.slf4j.simpleLogger.logFile=System.err'];
/** Debian's python3 carries python3-kazoo; a pyenv or venv python3 earlier on PATH does not. */
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export interface Peers {
  readonly curatorClasspath: string;
  readonly curatorVersion: string;
  readonly kazooVersion: string;
  readonly javaVersion: string;
  /** Removes the temp dir with the compiled classes. */
  dispose(): void;
}

/** Compiles bench/peers/CuratorCandidate.java with the machine's javac into a temp dir; checks kazoo. */
export function preparePeers(): Peers {
  const jars = CURATOR_JARS.map((j) => path.join(JAVA_LIB, j));
  const missing = jars.filter((j) => !fs.existsSync(j));
  if (missing.length) throw new Error(`missing ${missing.join(', ')}: run bash scripts/setup.sh --peers`);
  const classes = fs.mkdtempSync(path.join(os.tmpdir(), 'zk-ha-bench-curator-'));
  execFileSync('javac', ['-nowarn', '-d', classes, '-cp', jars.join(':'), path.join(REPO, 'bench', 'peers', 'CuratorCandidate.java')], { stdio: 'pipe' });
  const kazooVersion = execFileSync(PYTHON, ['-c', 'from kazoo.version import __version__ as v; print(v)'], { encoding: 'utf8' }).trim();
  const javaVersion = spawnSync('java', ['-version'], { encoding: 'utf8' }).stderr.split('\n')[0]?.trim() ?? 'unknown';
  const curatorJar = fs.realpathSync(path.join(JAVA_LIB, 'curator-recipes.jar'));
  return {
    curatorClasspath: [...jars, classes].join(':'),
    curatorVersion: /curator-recipes-(.+)\.jar$/.exec(curatorJar)?.[1] ?? 'unknown',
    kazooVersion,
    javaVersion,
    dispose: () => fs.rmSync(classes, { recursive: true, force: true }),
  };
}

/**
 * How to start one candidate of a system. `election` is the system's own election path (zk-ha: the
 * root under which service "bench" lives).
 */
export function candidateCommand(system: SystemName, peers: Peers | undefined, connect: string, election: string, sessionTimeoutMs: number, id: string): CandidateCommand {
  switch (system) {
    case 'zk-ha':
      return {
        cmd: process.execPath,
        args: ['-r', 'tsx/cjs', path.join(REPO, 'integration', 'workers', 'candidate-worker.ts'), connect, election, 'bench', String(sessionTimeoutMs), id],
        encode: (c) => JSON.stringify({ cmd: c === 'ping' ? 'stats' : 'leave' }),
      };
    case 'curator':
      if (!peers) throw new Error('curator needs preparePeers()');
      return {
        cmd: 'java',
        args: [...JVM_FLAGS, '-cp', peers.curatorClasspath, 'CuratorCandidate', connect, election, String(sessionTimeoutMs), id],
        encode: (c) => c,
      };
    case 'kazoo':
      return {
        cmd: PYTHON,
        args: ['-u', path.join(REPO, 'bench', 'peers', 'kazoo_candidate.py'), connect, election, String(sessionTimeoutMs), id],
        encode: (c) => c,
      };
  }
}
