// Browser test of the live triage worklist: the page is opened first, then
// studies arrive at the DICOM node (sent by the C++ test with storescu); they
// must appear without a reload, most urgent first, and open the case view
// with the X-ray and its overlay side by side.
//   node worklist_test.mjs SERVER_URL EXPECTED_ROWS SCREENSHOT.png
import { check, withPage } from './browser.mjs';

const [url, expectedText, screenshot] = process.argv.slice(2);
const expected = Number(expectedText);
if (!url || !expected || !screenshot) {
  console.error('usage: node worklist_test.mjs SERVER_URL EXPECTED_ROWS SCREENSHOT.png');
  process.exit(2);
}

await withPage({ width: 1200, height: 1400 }, screenshot, async (page) => {
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('#worklist:not([hidden])', { timeout: 30000 });
  check(true, 'worklist shown when the server has a DICOM node');
  console.log('ready');  // the C++ test sends the studies now
  await page.waitForFunction((n) => document.querySelectorAll('#worklist-table tbody tr').length >= n, expected,
                             { timeout: 120000 });
  const rows = await page.$$eval('#worklist-table tbody tr', (trs) =>
      trs.map((tr) => ({ className: tr.className, cells: [...tr.cells].map((td) => td.textContent) })));
  check(rows.length === expected, `${expected} studies listed without a reload`);
  check(rows[0].className.includes('refuse'), `refused study first (${rows[0].cells.join(' | ')})`);
  check(rows[0].cells[4].includes('outside the model'), `refusal reason shown (${rows[0].cells[4]})`);
  for (const row of rows) check(!/SECRET/.test(row.cells.join(' ')), 'no patient name or ID in the list');
  const diagnosed = rows.findIndex((row) => /PNEUMONIA|NORMAL/.test(row.cells[2]));
  check(diagnosed > 0, 'a diagnosed study listed after the refused one');

  // Filters.
  await page.selectOption('#worklist-filter', 'attention');
  check((await page.$$('#worklist-table tbody tr')).length === 1, 'filter: refused only');
  await page.selectOption('#worklist-filter', 'all');

  // The refused study's case view: the reasons, no diagnosis.
  await page.click('#worklist-table tbody tr:nth-child(1)');
  await page.waitForSelector('#result:not([hidden])', { timeout: 30000 });
  check(await page.$eval('#gate', (el) => !el.hidden && el.className === 'refuse'), 'refusal shown in the case view');
  check(await page.$eval('#diagnosis', (el) => el.hidden), 'no diagnosis for a refused study');

  // The diagnosed study's case view: X-ray and overlay side by side, probability against the threshold.
  await page.click(`#worklist-table tbody tr:nth-child(${diagnosed + 1})`);
  await page.waitForFunction(() => !document.getElementById('diagnosis').hidden, null, { timeout: 30000 });
  await page.waitForFunction(() => ['xray-plain', 'heatmap'].every((id) => {
    const img = document.getElementById(id);
    return img.complete && img.naturalWidth > 0;
  }), null, { timeout: 30000 });
  const boxes = await page.$$eval('#xray-plain, #heatmap', (els) => els.map((el) => el.getBoundingClientRect().left));
  check(boxes[1] > boxes[0] + 50, 'X-ray and overlay side by side');
  const probability = Number(await page.textContent('#probability'));
  const threshold = Number(await page.textContent('#threshold'));
  const label = (await page.textContent('#label')).trim();
  check((probability >= threshold) === (label === 'PNEUMONIA'), `label agrees with the probability (${probability})`);
  check((await page.textContent('#uncertainty')).includes('ensemble members'), 'uncertainty shown');
});
