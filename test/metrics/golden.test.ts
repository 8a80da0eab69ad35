import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sampleOf } from '../helpers/pipeline';
import { describeWithTools, toolPath } from '../helpers/testTools';

/**
 * Golden files: each sample document in test/fixtures/documents is rendered and diffed against
 * test/fixtures/golden/<name>.prom. After a deliberate change: UPDATE_GOLDEN=1 npx jest test/metrics/golden
 * and review the diff of the .prom files.
 */
const documents = join(__dirname, '..', 'fixtures', 'documents');
const golden = join(__dirname, '..', 'fixtures', 'golden');
const cases = readdirSync(documents)
  .filter((file) => file.endsWith('.json'))
  .map((file) => file.replace(/\.json$/, ''));

/** The golden files are rendered with these KVP items allow-listed (--kvp.export-keys). */
const EXPORT_KEYS = { keys: /^(?:AppState|ProvisioningState|Environment)$/, maxPerVm: 32 };

/** A document through the sampler's sample step (runSample): the collectors' text and what was dropped. */
async function render(name: string): Promise<{ text: string; dropped: Record<string, number> }> {
  const sampled = await sampleOf({ text: readFileSync(join(documents, `${name}.json`), 'utf8') }, { kvpExport: EXPORT_KEYS });
  expect(sampled.collectorRuns.every((run) => run.success)).toBe(true);
  return { text: sampled.modelText, dropped: Object.fromEntries(sampled.dropped.map((e) => [e.reason, e.count])) };
}

describe('golden exposition', () => {
  test('there are fixtures', () => {
    expect(cases.length).toBeGreaterThanOrEqual(4);
  });

  test.each(cases)('%s renders as its golden file', async (name) => {
    const { text, dropped } = await render(name);
    const goldenFile = join(golden, `${name}.prom`);
    const output = `${text}# dropped: ${JSON.stringify(dropped)}\n`;
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(goldenFile)) {
      if (process.env.CI === 'true') throw new Error(`golden file ${goldenFile} missing in CI`);
      writeFileSync(goldenFile, output);
    }
    expect(output).toBe(readFileSync(goldenFile, 'utf8'));
  });
});

describeWithTools(['promtool'], 'golden exposition passes promtool check metrics', () => {
  const promtool = toolPath('promtool');
  test.each(cases)('%s', async (name) => {
    const { text } = await render(name);
    // promtool exits non-zero and prints the problems on any complaint.
    const output = execFileSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(output).toBe('');
  });
});
