import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COLLECTORS } from '../../src/metrics/collectors';
import { CONFIG_RELOAD_FAMILIES } from '../../src/metrics/configReload';
import { CLUSTER_DISCOVERY_FAMILY } from '../../src/metrics/pages';
import { BUILD_INFO_FAMILY, SAMPLING_FAMILIES } from '../../src/metrics/samplingMetrics';
import { SEEN_SINCE_FAMILY } from '../../src/metrics/seenSince';

/** The metrics reference is what users read first: it must name every metric and nothing else. */
describe('docs/metrics.md', () => {
  const reference = readFileSync(join(__dirname, '..', '..', 'docs', 'metrics.md'), 'utf8');
  const tableRows = reference.split('\n').filter((line) => line.startsWith('| `hyperv_'));
  const documented = new Set(tableRows.map((line) => /^\| `(hyperv_\w+)`/.exec(line)?.[1]));

  test('documents every metric the exporter exposes, with its type', () => {
    const exposed = [...COLLECTORS.flatMap((collector) => collector.families), ...SAMPLING_FAMILIES, BUILD_INFO_FAMILY, SEEN_SINCE_FAMILY, CLUSTER_DISCOVERY_FAMILY, ...CONFIG_RELOAD_FAMILIES].map((family) => ({ name: family.name, type: family.type }));
    for (const { name, type } of exposed) {
      const row = tableRows.find((line) => line.startsWith(`| \`${name}\` |`));
      expect(row).toBeDefined();
      expect(row?.split('|')[2]?.trim().startsWith(type)).toBe(true);
    }
    expect([...documented].sort()).toEqual(exposed.map((m) => m.name).sort());
  });
});
