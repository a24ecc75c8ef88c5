/**
 * `zk-ha dashboard` in a real headless browser (Debian's Chromium through puppeteer-core): the page
 * shows the primary of a live group, shows the new one after the primary is SIGKILLed, and puts
 * data from ZooKeeper into the page as text, never as markup. Saves a screenshot to
 * .tmp/charts/dashboard.png (docs/dashboard.png with ZKHA_DOCS_SCREENSHOT=1).
 */
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { HaClient, HaServer } from '../lib';
import { spawnTracked } from './harness';
import { launchChromium, findChromium, type HeadlessChromium } from './support/browser';
import { startServer } from './support/ha-fixtures';
import { sharedZooKeeper } from './support/shared-zookeeper';
import { eventually, sleep, uniqueRoot } from './support/wait';
import type { Worker } from './support/worker';

const REPO = path.join(__dirname, '..');

describe('zk-ha dashboard (headless Chromium)', function () {
  this.timeout(120000);
  const workers: Worker[] = [];
  let dashboard: ChildProcess | undefined;
  let chromium: HeadlessChromium | undefined;
  let client: HaClient | undefined;
  let hostile: HaServer | undefined;
  let load = false;
  let loop: Promise<void> | undefined;
  before(() => { findChromium(); });
  after(async () => {
    load = false;
    await loop;
    await chromium?.close();
    if (dashboard && dashboard.exitCode === null) {
      dashboard.kill('SIGTERM');
      await Promise.race([new Promise((r) => dashboard!.once('exit', r)), sleep(3000)]);
      dashboard.kill('SIGKILL');
    }
    await client?.close();
    await hostile?.close({ graceMs: 0 });
    await Promise.all(workers.map((w) => w.kill()));
  });

  it('shows the primary, then the new one after a SIGKILL; ZooKeeper data stays text', async () => {
    const { connectString: connect } = await sharedZooKeeper();
    const root = uniqueRoot('dash');
    const service = 'orders';
    for (const [i, zone] of ['eu-1a', 'eu-1b', 'eu-1c'].entries()) {
      workers.push(await startServer({ connect, root, service, mode: 'primary-backup', id: `orders-${i + 1}`, sessionTimeoutMs: 2000, zone, metrics: true, logRuns: false }));
    }
    client = new HaClient({ zk: { connect }, service, root });
    await client.start();
    load = true;
    loop = (async () => {
      while (load) {
        await client!.call('whoami', {}, { idempotent: true }).catch(() => undefined);
        await sleep(5);
      }
    })();

    dashboard = spawnTracked(process.execPath, ['-r', 'tsx/cjs', path.join(REPO, 'bin', 'zk-ha.ts'), '--connect', connect, '--root', root, '--json', 'dashboard', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO });
    const stderr: string[] = [];
    createInterface({ input: dashboard.stderr! }).on('line', (l) => stderr.push(l));
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: dashboard!.stdout! }).once('line', (l) => resolve((JSON.parse(l) as { url: string }).url));
      dashboard!.once('exit', () => reject(new Error(`dashboard exited: ${stderr.join('\n')}`)));
    });

    chromium = await launchChromium();
    const page = await chromium.browser.newPage();
    await page.setViewport({ width: 1280, height: 820 });
    await page.goto(url);
    // Browser-side code as strings: this project compiles without the DOM library.
    const PRIMARY = `document.querySelector('[data-service="orders"] [data-primary]')?.getAttribute('data-primary') ?? null`;
    const shownPrimary = (): Promise<string | null> => page.evaluate(PRIMARY) as Promise<string | null>;
    await page.waitForFunction(`(${PRIMARY}) === 'orders-1'`, { timeout: 45000 });
    expect(await page.$$eval('[data-service="orders"] tr[data-member]', (rows) => rows.length)).to.equal(3);
    // Lease state and call rates come from the members' own /primary and /metrics.
    await page.waitForFunction(`document.querySelector('tr[data-member="orders-1"] .lease-holds') !== null`, { timeout: 45000 });
    await page.waitForFunction(`Array.from(document.querySelectorAll('tr[data-member="orders-1"] td')).some((td) => /^\\d+\\.\\d$/.test(td.textContent) && Number(td.textContent) > 0)`, { timeout: 45000 });

    const killedAt = Date.now();
    workers[0]!.signal('SIGKILL');
    await page.waitForFunction(`(${PRIMARY}) === 'orders-2'`, { timeout: 45000 }).catch(async (error: Error) => {
      const state = await fetch(`${url}state`).then((r) => r.text(), (e: Error) => e.message);
      throw new Error(`${error.message}; page shows ${String(await shownPrimary())}; dashboard state: ${state.slice(0, 1500)}; stderr: ${stderr.join(' | ')}`);
    });
    expect(await shownPrimary()).to.equal('orders-2');
    console.log(`      SIGKILL -> the page shows the new primary: ${Date.now() - killedAt} ms (session timeout 2000 ms; not asserted)`);
    await eventually('the timeline shows two epochs', async () => (await page.$$eval('[data-service="orders"] ol.timeline li', (l) => l.length)) >= 2, 10000);
    await page.waitForFunction(`document.querySelector('tr[data-member="orders-2"] .lease-holds') !== null`, { timeout: 45000 });
    await sleep(1500); // a second of call rates on the new primary, for the picture
    expect(await page.$$eval('[data-service="orders"] tr[data-member]', (rows) => rows.length)).to.equal(2);

    await page.setViewport({ width: 1280, height: 360 });
    const dir = process.env.ZKHA_DOCS_SCREENSHOT === '1' ? path.join(REPO, 'docs') : path.join(REPO, '.tmp', 'charts');
    fs.mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: path.join(dir, 'dashboard.png') as `${string}.png`, fullPage: true });

    // A member whose id is markup: the page shows it as text and runs nothing.
    const evil = '<img id="pwn" src="x" onerror="document.title=\'pwned\'">';
    hostile = new HaServer({ zk: { connect, sessionTimeoutMs: 2000 }, service, mode: 'primary-backup', root, id: evil });
    await hostile.start();
    await page.waitForFunction(`document.querySelectorAll('[data-service="orders"] tr[data-member]').length === 3 && document.body.textContent.includes('<img id="pwn"')`, { timeout: 45000 });
    expect(await page.$('#pwn')).to.equal(null);
    expect(await page.title()).to.equal('zk-ha dashboard');
  });
});
