// What the browser tests share: headless Chromium (Debian's /usr/bin/chromium
// or $CHROMIUM_PATH) through playwright-core, a page that records its
// JavaScript errors, checks that log what passed, and the screenshot kept as
// an artifact.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
  console.log(`ok: ${message}`);
}

// Runs `test(page, pageErrors)` on a fresh page, then saves a full-page
// screenshot to `screenshot`; the browser is closed whatever happens.
export async function withPage(viewport, screenshot, test) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage({ viewport });
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await test(page, pageErrors);
    check(pageErrors.length === 0, `no JavaScript errors (${pageErrors.join('; ')})`);
    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`screenshot: ${screenshot}`);
  } finally {
    await browser.close();
  }
}
