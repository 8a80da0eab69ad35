'use strict';
// One processing scenario in a fresh process: node bench/processing.js <vms> <samples> <changing share>
// Prints one JSON line with per-sample durations (ms) of the whole sample and of each stage.
const { DocumentStream } = require('./lib/documents');
const { createSampling, instrument } = require('./lib/harness');
const { median, percentile, round } = require('./lib/stats');

async function main() {
  const vms = Number(process.argv[2] ?? 1024);
  const samples = Number(process.argv[3] ?? 30);
  const changing = Number(process.argv[4] ?? 0);
  const warmup = Math.max(3, Math.round(samples / 5));

  const stages = instrument({
    decode: ['document/parse', 'decodeRawSampleInSlices'],
    document: ['document/classReuse', 'ClassParseCache.prototype.parse'],
    model: ['model/buildHostModel', 'buildHostModel'],
    render: ['metrics/renderModel', 'renderModel'],
  });
  const stream = new DocumentStream({ vms, changing });
  let text = '';
  const { sampler, body } = createSampling({ next: () => ({ text }) });
  const signal = new AbortController().signal;

  const totals = [];
  const compressed = [];
  const perStage = { decode: [], document: [], model: [], render: [], publish: [] };
  let documentBytes = 0;
  for (let i = 0; i < warmup + samples; i++) {
    text = stream.nextText(); // not timed: what the source hands over
    documentBytes = text.length;
    // Let the collector catch up with the generator's garbage, as it does in the 15 s between samples.
    await new Promise((resolve) => setTimeout(resolve, 20));
    stages.take();
    const started = performance.now();
    await sampler.sample(signal);
    const ended = performance.now();
    const compressedAt = await body.lastCompressed;
    const stage = stages.take();
    if (i < warmup) continue;
    totals.push(ended - started);
    compressed.push(compressedAt - started);
    for (const key of ['decode', 'document', 'model', 'render']) perStage[key].push(stage[key]);
    perStage.publish.push(body.lastPublishMs);
  }
  const summary = (values) => ({ median: round(median(values), 2), p95: round(percentile(values, 95), 2) });
  process.stdout.write(
    `${JSON.stringify({
      vms,
      changing,
      samples,
      documentBytes,
      expositionBytes: body.modelBytes,
      total: summary(totals),
      gzipReady: summary(compressed),
      stages: Object.fromEntries(Object.entries(perStage).map(([key, values]) => [key, summary(values)])),
      rssMB: round(process.memoryUsage().rss / 1048576, 0),
    })}\n`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
