/**
 * Debian's Chromium, headless, driven by puppeteer-core (never a downloaded browser): a fresh
 * profile in a temp dir, no network beyond what the page asks for, closed (and the profile
 * removed) by close() — call it in `finally`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'puppeteer-core' with { 'resolution-mode': 'import' };
import { releaseTempDir, trackTempDir } from '../harness/processes';

export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

export function findChromium(): string {
  const found = CHROMIUM_CANDIDATES.find((p) => fs.existsSync(p));
  if (!found) throw new Error('Chromium is not installed: run `apt-get install chromium` as root (or `npm run setup -- --ops`)');
  return found;
}

export interface HeadlessChromium {
  readonly browser: Browser;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<HeadlessChromium> {
  const executablePath = findChromium();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'zkha-chromium-'));
  trackTempDir(profile);
  // puppeteer-core is an ES module; this file is CommonJS.
  const { default: puppeteer } = await import('puppeteer-core');
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', `--user-data-dir=${profile}`],
  });
  return {
    browser,
    close: async () => {
      const child = browser.process();
      await browser.close().catch(() => undefined);
      if (child && child.exitCode === null) child.kill('SIGKILL');
      fs.rmSync(profile, { recursive: true, force: true });
      releaseTempDir(profile);
    },
  };
}

/** Renders a local file (SVG or HTML) and saves a PNG of it. */
export async function screenshotFile(file: string, png: string, viewport = { width: 1120, height: 480 }): Promise<void> {
  const chromium = await launchChromium();
  try {
    const page = await chromium.browser.newPage();
    await page.setViewport(viewport);
    await page.goto(`file://${path.resolve(file)}`);
    await page.screenshot({ path: png as `${string}.png` });
  } finally {
    await chromium.close();
  }
}
