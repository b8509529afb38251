// Browser test of the PneumoScan web page: headless Chromium (Debian's
// /usr/bin/chromium) driven by playwright-core.
//   node ui_test.mjs SERVER_URL XRAY_FILE SCREENSHOT.png
// Uploads the X-ray through the page's file input, waits for the result and
// checks what the page shows: the label, the probability against the
// threshold, the X-ray with its heatmap overlay, and that the opacity slider
// changes the overlay. Exit code 0 = pass.
import { check, withPage } from './browser.mjs';

const [url, xray, screenshot] = process.argv.slice(2);
if (!url || !xray || !screenshot) {
  console.error('usage: node ui_test.mjs SERVER_URL XRAY_FILE SCREENSHOT.png');
  process.exit(2);
}

await withPage({ width: 1100, height: 1200 }, screenshot, async (page) => {
  await page.goto(url, { waitUntil: 'load' });
  check((await page.title()) === 'PneumoScan', 'page title');
  await page.waitForFunction(() => document.getElementById('model-info').textContent.startsWith('Model:'),
                             null, { timeout: 30000 });

  await page.setInputFiles('#file-input', xray);
  await page.waitForSelector('#result:not([hidden])', { timeout: 60000 });
  await page.waitForFunction(() => {
    const img = document.getElementById('heatmap');
    return img.complete && img.naturalWidth > 0;
  }, null, { timeout: 30000 });

  const label = (await page.textContent('#label')).trim();
  check(label === 'PNEUMONIA' || label === 'NORMAL', `label shown (${label})`);
  const probability = Number(await page.textContent('#probability'));
  const threshold = Number(await page.textContent('#threshold'));
  check(probability >= 0 && probability <= 1, `probability shown (${probability})`);
  check(threshold > 0 && threshold < 1, `threshold shown (${threshold})`);
  check((probability >= threshold) === (label === 'PNEUMONIA'), 'label agrees with probability vs threshold');
  const status = await page.textContent('#status');
  check(!(await page.$eval('#status', (el) => el.classList.contains('error'))), `no error (${status})`);

  const images = await page.$$eval('#xray, #heatmap', (els) =>
      els.map((el) => ({ src: el.src.slice(0, 22), width: el.naturalWidth, visible: el.offsetWidth > 0 })));
  for (const image of images) {
    check(image.src === 'data:image/png;base64,' && image.width > 0 && image.visible, 'X-ray/overlay image shown');
  }
  await page.$eval('#opacity', (el) => {
    el.value = '80';
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
  const opacity = await page.$eval('#heatmap', (el) => getComputedStyle(el).opacity);
  check(Math.abs(Number(opacity) - 0.8) < 1e-6, `opacity slider sets overlay opacity (${opacity})`);
  check(await page.$eval('#similar-cases', (el) => el.hidden), 'no similar-cases panel without results');
});
