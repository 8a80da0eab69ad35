'use strict';
// Label churn in a fresh process (run with --expose-gc): node --expose-gc bench/churn.js <vms> <samples>
// Every sample deletes, creates and renames VMs; the real HostSampler (as main wires it for one host)
// parses, models, renders, compresses and publishes it. Prints one JSON line with RSS, heap after a full
// GC and the number of series of the /metrics body at checkpoints.
const { ChurnHost } = require('./lib/churn');
const { createSampling, sampleToPublication } = require('./lib/harness');
const { round } = require('./lib/stats');

// prom-client's GC histogram gains a kind label value the first time a kind of GC happens (at most a
// few); the other series are exactly as many as the VMs make.
const GC_FAMILY = 'nodejs_gc_duration_seconds';

function seriesIn(text) {
  let series = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (end > start && text.charCodeAt(start) !== 0x23 && !text.startsWith(GC_FAMILY, start)) series++;
    start = end + 1;
  }
  return series;
}

async function main() {
  const vms = Number(process.argv[2] ?? 48);
  const samples = Number(process.argv[3] ?? 10_000);
  if (typeof global.gc !== 'function') throw new Error('run with --expose-gc');
  const host = new ChurnHost({ vms });
  let text = '';
  const { sampler } = createSampling({ next: () => ({ text }), fullIntervalMs: 0 });
  await sampler.publishInitial();
  const checkpoints = [];
  const every = Math.max(1, Math.round(samples / 10));
  const started = performance.now();
  for (let i = 1; i <= samples; i++) {
    text = host.nextText();
    const { current } = await sampleToPublication(sampler);
    if (i === Math.round(samples / 20) || i % every === 0) {
      const body = current.body.identity.toString('utf8');
      global.gc();
      const memory = process.memoryUsage();
      checkpoints.push({
        sample: i,
        rssMB: round(memory.rss / 1048576, 1),
        heapUsedMB: round(memory.heapUsed / 1048576, 2),
        series: seriesIn(body),
        vms: (body.match(/^hyperv_vm_info\{/gm) ?? []).length,
      });
    }
  }
  process.stdout.write(
    `${JSON.stringify({ vms, samples, created: host.created, seconds: round((performance.now() - started) / 1000, 1), checkpoints })}\n`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
