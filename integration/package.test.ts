/**
 * The package as users get it: `npm pack`, installed from the tarball into an empty project with no
 * dev tools, then type-checked by a strict TypeScript consumer (node10 under module commonjs, node16
 * and bundler resolution) and
 * run by a CommonJS and an ES module consumer against a real ZooKeeper (the primary is SIGKILLed and
 * the client keeps calling), plus the quota scenario of ha-start-failure.test.ts from the tarball.
 * The consumers live in integration/package-consumer/.
 */
import { expect } from 'chai';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { expectQuotaRejections, quotaRoot, releaseTempDir, runStartFailure, sharedZooKeeper, startQuotaZooKeeper, trackTempDir, uniqueRoot, within, type ZkCluster } from './support';

const run = promisify(execFile);
const REPO = path.join(__dirname, '..');
const CONSUMER = path.join(__dirname, 'package-consumer');
const TSC = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
const MAX_INSTALL_BYTES = 10 * 1024 * 1024;
/** What the tarball may hold: the build of lib/ and bin/, its ES module entries, and the docs. */
const ALLOWED = /^(package\.json|README\.md|LICENSE|dist\/(lib|bin)\/.+\.(js|d\.ts)|dist\/esm\/(index|blocks)\.(mjs|d\.mts))$/;

function duBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) total += duBytes(p);
    else if (entry.isFile()) total += fs.statSync(p).size;
  }
  return total;
}

function newestMtime(p: string): number {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...fs.readdirSync(p).map((f) => newestMtime(path.join(p, f))));
}

/** dist/ was built (scripts/build-esm.mjs writes last) after every input of the build last changed. */
function distIsFresh(): boolean {
  const built = path.join(REPO, 'dist', 'esm', 'blocks.mjs');
  if (!fs.existsSync(built)) return false;
  const inputs = ['lib', 'bin', 'types', 'package.json', 'tsconfig.json', 'tsconfig.build.json', path.join('scripts', 'build-esm.mjs')];
  return fs.statSync(built).mtimeMs > Math.max(...inputs.map((p) => newestMtime(path.join(REPO, p))));
}

function events(stdout: string): Record<string, unknown>[] {
  return stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('the packed package, installed in an empty project (real npm, real ZooKeeper)', function () {
  this.timeout(120000);
  let tmp: string;
  let app: string;
  let packed: { filename: string; files: { path: string }[]; unpackedSize: number };
  let installLog: string;

  before(async function () {
    this.timeout(240000);
    const t0 = Date.now();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zk-ha-pkg-'));
    trackTempDir(tmp);
    // prepack builds dist/ afresh, so the tarball is what `npm publish` would upload; under `npm test`
    // the build has just run, so an up-to-date dist/ is packed as it is.
    const pack = ['pack', '--json', '--pack-destination', tmp, '--loglevel=error', ...(distIsFresh() ? ['--ignore-scripts'] : [])];
    const { stdout } = await run('npm', pack, { cwd: REPO, maxBuffer: 16 << 20 });
    packed = (JSON.parse(stdout.slice(stdout.indexOf('['))) as typeof packed[])[0]!;
    const packedAt = Date.now();
    app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    for (const f of fs.readdirSync(CONSUMER)) fs.copyFileSync(path.join(CONSUMER, f), path.join(app, f));
    // --prefer-offline: the npm cache already holds every dependency after the repository's own npm ci.
    const install = await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', path.join(tmp, packed.filename)], {
      cwd: app, maxBuffer: 16 << 20, env: { ...process.env, npm_config_loglevel: 'warn' },
    });
    installLog = `${install.stdout}\n${install.stderr}`;
    console.log(`      npm pack (with build) ${packedAt - t0} ms, npm install ${Date.now() - packedAt} ms`);
  });
  after(() => {
    if (tmp) { fs.rmSync(tmp, { recursive: true, force: true }); releaseTempDir(tmp); }
  });

  it('the tarball holds only the build, its ES module entries, README and LICENSE: no source maps, no sources, no examples', () => {
    const files = packed.files.map((f) => f.path);
    expect(files.filter((f) => !ALLOWED.test(f)), 'unexpected files').to.deep.equal([]);
    expect(files).to.include.members(['LICENSE', 'README.md', 'package.json', 'dist/lib/index.js', 'dist/lib/index.d.ts',
      'dist/lib/blocks.js', 'dist/esm/index.mjs', 'dist/esm/index.d.mts', 'dist/esm/blocks.mjs', 'dist/bin/zk-ha.js']);
    expect(fs.readFileSync(path.join(REPO, 'LICENSE'), 'utf8')).to.contain('Apache License').and.contain('Version 2.0');
  });

  it(`installs without scripts or peer warnings into ≤ ${MAX_INSTALL_BYTES / 1048576} MB of node_modules, with no dev tools`, () => {
    expect(installLog, installLog).to.not.match(/peer/i);
    // npm 11 lists packages whose install scripts it runs; msgpackr's optional native accelerator
    // (msgpackr-extract, prebuilt binaries) is the only one allowed, and never zk-ha itself.
    const warnings = installLog.split('\n').filter((l) => /npm (warn|error)/i.test(l))
      .filter((l) => !/install-scripts( +msgpackr-extract@[\d.]+ \(install: node-gyp-build-optional-packages\)|.*(package has install scripts|npm install-scripts ls)|\s*$)/.test(l));
    expect(warnings, installLog).to.deep.equal([]);
    const manifest = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', 'zk-ha', 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    for (const hook of ['preinstall', 'install', 'postinstall']) expect(manifest.scripts?.[hook], hook).to.equal(undefined);
    for (const devTool of ['typescript', 'tsx', 'mocha', 'patch-package', 'testcontainers', 'prom-client', 'pino']) {
      expect(fs.existsSync(path.join(app, 'node_modules', devTool)), devTool).to.equal(false);
    }
    const bytes = duBytes(path.join(app, 'node_modules'));
    console.log(`      consumer node_modules: ${(bytes / 1048576).toFixed(2)} MB; tarball unpacked ${(packed.unpackedSize / 1024).toFixed(0)} kB, ${packed.files.length} files`);
    expect(bytes).to.be.at.most(MAX_INSTALL_BYTES);
  });

  // The checks run at once (each checks all of @types/node: skipLibCheck is off).
  let typeChecks: Record<string, Promise<{ stdout: string }>> | undefined;
  for (const resolution of ['node10', 'node16', 'bundler']) {
    it(`a strict TypeScript consumer type-checks (moduleResolution ${resolution}, skipLibCheck false)`, async function () {
      // Checking all of @types/node takes ~10 s of CPU each; on a machine shared with other work, much longer.
      this.timeout(300000);
      typeChecks ??= Object.fromEntries(['node10', 'node16', 'bundler'].map((res) => [res,
        run(process.execPath, [TSC, '-p', `tsconfig.${res}.json`], { cwd: app }).catch((e: { stdout: string }) => e)]));
      const r = await typeChecks[resolution]!;
      expect(r.stdout.trim(), r.stdout).to.equal('');
    });
  }

  for (const flavour of ['cjs', 'mjs']) {
    it(`${flavour === 'cjs' ? 'a CommonJS' : 'an ES module'} consumer: two HaServers, an HaClient, the primary SIGKILLed, calls go on`, async () => {
      const { connectString } = await sharedZooKeeper();
      const { stdout, stderr } = await within(90000, `${flavour} consumer`, run(process.execPath, [`ha-consumer.${flavour}`, 'client', connectString, uniqueRoot(`pkg-${flavour}`)], {
        cwd: app, timeout: 90000,
      }).catch((e: { stdout: string; stderr: string }) => e));
      const result = events(stdout).find((e) => e.event === 'result') as { first: string; after: string[]; epochs: number[]; rpcError: string } | undefined;
      expect(result, `${stdout}\n${stderr}`).to.not.equal(undefined);
      const other = result!.first === 'a' ? 'b' : 'a';
      expect(result!.after).to.deep.equal([other, other, other, other, other]);
      expect(result!.epochs[1]).to.be.greaterThan(result!.epochs[0]!);
      expect(result!.rpcError).to.equal('function');
    });
  }

  it('the zk-ha command line runs from the install (commander is a dependency)', async () => {
    const { stdout } = await run(path.join(app, 'node_modules', '.bin', 'zk-ha'), ['--help'], { cwd: app });
    expect(stdout).to.contain('status');
  });

  describe('with ZooKeeper enforcing quotas', () => {
    let zk: ZkCluster;
    before(async () => { zk = await startQuotaZooKeeper(); });
    after(async () => { await zk?.close(); });

    it('from the tarball: members that do not fit reject with QUOTA_EXCEEDED and a report; the process exits by itself', async () => {
      const root = await quotaRoot(zk.connectString, 'pkg-quota', 4);
      const r = await within(45000, 'the process ends by itself', runStartFailure(['quota', zk.connectString, root], {}, app, path.join(app, 'start-failure.cjs')));
      expectQuotaRejections(r);
    });
  });
});
