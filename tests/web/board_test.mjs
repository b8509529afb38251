// Browser test of the training page (`pneumoscan board`): headless Chromium
// (Debian's /usr/bin/chromium) driven by playwright-core.
//   node board_test.mjs BOARD_URL SCREENSHOT.png '[[cmd, arg, ...], [cmd, arg, ...]]'
// Opens the page on an empty log folder, runs the first command (a short
// training run writing events), waits until the page shows its validation-loss
// chart, runs the second (the run resumed for more epochs) and checks that
// the same chart gains points without a reload; then the run table, the
// Grad-CAM images and the smoothing slider. Exit code 0 = pass.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { check, withPage } from './browser.mjs';

const [url, screenshot, commandsJson] = process.argv.slice(2);
if (!url || !screenshot || !commandsJson) {
  console.error("usage: node board_test.mjs BOARD_URL SCREENSHOT.png '[[cmd, ...], [cmd, ...]]'");
  process.exit(2);
}
const commands = JSON.parse(commandsJson);
const run = promisify(execFile);

const chartPoints = (page, tag) =>
  page.$eval(`canvas[data-tag="${tag}"]`, (c) => Number(c.dataset.points || 0)).catch(() => 0);

await withPage({ width: 1280, height: 1400 }, screenshot, async (page) => {
  await page.goto(url, { waitUntil: 'load' });
  check((await page.title()) === 'PneumoScan training board', 'page title');
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('0 runs'), null,
                             { timeout: 20000 });
  check(await page.isVisible('#no-runs'), 'empty log folder explained');
  await page.evaluate(() => { window.loadedOnce = true; });  // gone if the page reloads

  const first = await run(commands[0][0], commands[0].slice(1), { maxBuffer: 1 << 24 });
  console.log(first.stdout.split('\n').filter((l) => l.startsWith('epoch')).join('\n'));
  await page.waitForFunction(() => {
    const c = document.querySelector('canvas[data-tag="epoch/val_loss"]');
    return c && Number(c.dataset.points) >= 2;
  }, null, { timeout: 30000 });
  const before = await chartPoints(page, 'epoch/val_loss');
  check(before === 2, `validation-loss chart drawn with the first run's 2 epochs (${before})`);

  const second = run(commands[1][0], commands[1].slice(1), { maxBuffer: 1 << 24 });
  await page.waitForFunction((n) => {
    const c = document.querySelector('canvas[data-tag="epoch/val_loss"]');
    return c && Number(c.dataset.points) > n;
  }, before, { timeout: 120000 });
  const during = await chartPoints(page, 'epoch/val_loss');
  check(during > before, `chart gained points while the run went on (${before} -> ${during})`);
  await second;
  await page.waitForFunction(() => {
    const c = document.querySelector('canvas[data-tag="epoch/val_loss"]');
    return c && Number(c.dataset.points) === 4;
  }, null, { timeout: 30000 });
  check(await page.evaluate(() => window.loadedOnce === true), 'no page reload');

  check(await chartPoints(page, 'step/train_loss') > 0, 'per-step loss chart has points');
  const rows = await page.$$eval('#runs tbody tr', (trs) => trs.map((tr) => tr.textContent));
  check(rows.length === 1 && rows[0].includes('model') && rows[0].includes('small-cnn'),
        `run table lists the run with its architecture (${rows.length} rows)`);
  await page.waitForFunction(() => [...document.querySelectorAll('#images img')]
      .some((img) => img.complete && img.naturalWidth > 0 && img.alt.startsWith('gradcam/')), null, { timeout: 20000 });
  check(true, 'Grad-CAM overlay image shown');
  check(await page.isVisible('#images h3:has-text("curves/roc")'), 'ROC curve image shown');

  await page.$eval('#smoothing', (el) => {
    el.value = '0';
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
  check((await page.textContent('#smoothing-value')) === '0.00', 'smoothing slider');
});
