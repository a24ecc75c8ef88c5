/**
 * docker/Dockerfile builds: there is no Docker engine here, so its build stage is replayed on a
 * temporary directory holding exactly the files its COPY lines bring in (minus what the
 * .dockerignore drops), running its RUN lines there, and the runtime stage's commands are checked
 * against the result. `npm ci` is replaced by a link to this checkout's node_modules (same lock).
 */
import { expect } from 'chai';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { releaseTempDir, trackTempDir } from './support';

const run = promisify(execFile);
const REPO = path.join(__dirname, '..');

interface Stage { copies: { from?: string; sources: string[]; dest: string }[]; runs: string[]; cmd?: string[] }

/** The Dockerfile's stages: COPY, RUN and CMD lines (continuation lines joined). */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const line of lines) {
    const [instr, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (instr === 'FROM') stages.push({ copies: [], runs: [] });
    const stage = stages[stages.length - 1]!;
    if (instr === 'COPY') {
      const words = rest.filter((w) => !w.startsWith('--') || w.startsWith('--from='));
      const from = words[0]?.startsWith('--from=') ? words.shift()!.slice('--from='.length) : undefined;
      stage.copies.push({ from, sources: words.slice(0, -1), dest: words[words.length - 1]! });
    }
    if (instr === 'RUN') stage.runs.push(args);
    if (instr === 'CMD') stage.cmd = JSON.parse(args) as string[];
  }
  return stages;
}

describe('docker/Dockerfile builds from exactly the files it copies', function () {
  this.timeout(240000);
  const dockerfile = fs.readFileSync(path.join(REPO, 'docker', 'Dockerfile'), 'utf8');
  const stages = parseDockerfile(dockerfile);
  const ignored = fs.readFileSync(path.join(REPO, 'docker', 'Dockerfile.dockerignore'), 'utf8')
    .split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zk-ha-docker-'));
    trackTempDir(tmp);
  });
  after(() => {
    if (tmp) { fs.rmSync(tmp, { recursive: true, force: true }); releaseTempDir(tmp); }
  });

  it('two stages: a build stage and a runtime stage that installs only production dependencies', () => {
    expect(stages).to.have.length(2);
    expect(stages[1]!.runs.some((r) => /^npm ci\b.*--omit=dev/.test(r)), 'runtime npm ci --omit=dev').to.equal(true);
  });

  it('the build stage\'s RUN lines succeed on its COPY list, and the runtime stage finds every file it runs', async () => {
    const app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    const [build, runtime] = stages as [Stage, Stage];
    for (const { sources, dest } of build.copies) {
      for (const src of sources) {
        expect(ignored.some((pattern) => src === pattern || src.startsWith(`${pattern}/`)), `${src} is in the .dockerignore`).to.equal(false);
        const target = dest.endsWith('/') || sources.length > 1 ? path.join(app, dest, path.basename(src)) : path.join(app, dest);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.cpSync(path.join(REPO, src), target, { recursive: true });
      }
    }
    for (const cmd of build.runs) {
      if (/^npm ci\b/.test(cmd)) {
        fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(app, 'node_modules'), 'dir');
        continue;
      }
      await run('sh', ['-c', cmd], { cwd: app, maxBuffer: 16 << 20 }).catch((e: { stdout: string; stderr: string }) => {
        throw new Error(`RUN ${cmd} failed:\n${e.stdout}\n${e.stderr}`);
      });
    }
    // Runtime stage: COPY --from=build /app/dist ./dist, then the CMD and the compose file's commands.
    for (const { from, sources } of runtime.copies) {
      if (from) for (const src of sources) expect(fs.existsSync(path.join(app, path.relative('/app', src))), src).to.equal(true);
    }
    const compose = fs.readFileSync(path.join(REPO, 'docker', 'docker-compose.yml'), 'utf8');
    const runs = [runtime.cmd!.slice(1), ...[...compose.matchAll(/"(dist\/[^"]+\.js)"/g)].map((m) => [m[1]!])];
    for (const [file] of runs) expect(fs.existsSync(path.join(app, file!)), file).to.equal(true);
    const { stdout } = await run(process.execPath, ['dist/bin/zk-ha.js', '--help'], { cwd: app });
    expect(stdout).to.contain('status');
  });
});
