'use strict';
// Label churn in a fresh process (run with --expose-gc): node --expose-gc bench/churn.js <vms> <samples>
// Every sample deletes, creates and renames VMs; the real Sampler processes, renders and publishes it
// (compression awaited, as it completes long before the next sample in a running exporter). Prints one
// JSON line with RSS, heap after a full GC and the number of series at checkpoints.
const { ChurnHost } = require('./lib/churn');
const { createSampling, dist } = require('./lib/harness');
const { textOf } = require(`${dist}/metrics/familyText`);
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
  const { sampler, body, metrics } = createSampling({ next: () => ({ text }) });
  let modelText = '';
  const publish = body.publish.bind(body);
  body.publish = (rendered) => {
    modelText = typeof rendered === 'string' ? rendered : textOf(rendered);
    return publish(rendered);
  };
  const signal = new AbortController().signal;
  const checkpoints = [];
  const every = Math.max(1, Math.round(samples / 10));
  const started = performance.now();
  for (let i = 1; i <= samples; i++) {
    text = host.nextText();
    await sampler.sample(signal);
    sampler.succeeded(0.01);
    await body.lastCompressed;
    if (i === Math.round(samples / 20) || i % every === 0) {
      global.gc();
      const exporterText = await metrics.render();
      const vmInfo = (modelText.match(/^hyperv_vm_info\{/gm) ?? []).length;
      checkpoints.push({
        sample: i,
        rssMB: round(process.memoryUsage().rss / 1048576, 1),
        heapUsedMB: round(process.memoryUsage().heapUsed / 1048576, 2),
        series: seriesIn(modelText) + seriesIn(exporterText),
        vms: vmInfo,
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
