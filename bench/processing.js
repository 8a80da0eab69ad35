'use strict';
// One processing scenario in a fresh process: node bench/processing.js <vms> <samples> <full|status>
// The real HostSampler (as main wires it for one host) takes prepared texts in collect.ps1's layout and
// runs each sample to its publication: decodeRawSample + parseDocument, buildHostModel, renderModel,
// the /metrics page (the model's text, the sampling metrics, prom-client's process metrics) and
// compressBody (UTF-8 encoding and gzip, on the thread pool). "status": a Full sample first (not
// counted), then Status samples, each completed from the last Full sample's model, as the exporter
// does between two Full samples. Prints one JSON line with per-sample durations (ms).
const { DocumentStream } = require('./lib/documents');
const { createSampling, instrument, sampleToPublication } = require('./lib/harness');
const { median, percentile, round } = require('./lib/stats');

async function main() {
  const vms = Number(process.argv[2] ?? 1024);
  const samples = Number(process.argv[3] ?? 30);
  const scope = process.argv[4] === 'status' ? 'status' : 'full';
  const warmup = Math.max(3, Math.round(samples / 4));

  const stages = instrument({
    decodeParse: [
      ['document/parse', 'decodeRawSample'],
      ['document/parse', 'parseDocument'],
    ],
    model: [['model/buildHostModel', 'buildHostModel']],
    render: [['metrics/renderModel', 'renderCollector']],
    gzip: [['sampling/currentSample', 'compressBody']],
  });
  const stream = new DocumentStream({ vms });
  let tick = null;
  let pageMs = 0;
  const { sampler, asked } = createSampling({
    next: (asked) => ({ text: asked === 'status' ? tick.status : tick.full }),
    fullIntervalMs: scope === 'full' ? 0 : 3_600_000,
    onPage: (ms) => (pageMs += ms),
  });

  const totals = [];
  const cpuTotals = [];
  const eventLoop = [];
  const cpuStage = { decodeParse: [], model: [], render: [], gzip: [] };
  const perStage = { decodeParse: [], model: [], render: [], page: [], gzip: [] };
  let documentBytes = 0;
  let expositionBytes = 0;
  let gzipBytes = 0;
  let fullAfterStart = 0;
  for (let i = 0; i < warmup + samples + (scope === 'status' ? 1 : 0); i++) {
    tick = stream.next(); // not timed: what the source hands over
    const text = scope === 'status' && i > 0 ? tick.status : tick.full;
    documentBytes = Buffer.byteLength(text);
    // Let the collector catch up with the generator's garbage, as it does in the 15 s between samples.
    await new Promise((resolve) => setTimeout(resolve, 20));
    stages.take();
    stages.takeCpu();
    pageMs = 0;
    const fullBefore = asked.full;
    const { started, published, cpuMs, current } = await sampleToPublication(sampler);
    const stage = stages.take();
    const stageCpu = stages.takeCpu();
    // Status: the first sample is the Full one the Status samples are completed from.
    if (scope === 'status' && i === 0) continue;
    if (i < warmup + (scope === 'status' ? 1 : 0)) continue;
    // A Status sample for which the sampler took a Full one (the simulator's VMs changed) is not counted.
    if (scope === 'status' && asked.full > fullBefore) {
      fullAfterStart++;
      continue;
    }
    totals.push(published - started);
    cpuTotals.push(cpuMs);
    for (const key of Object.keys(cpuStage)) cpuStage[key].push(stageCpu[key]);
    // Everything but the compression (encoding on the event loop, gzip on the thread pool).
    eventLoop.push(published - started - stage.gzip);
    for (const key of ['decodeParse', 'model', 'render', 'gzip']) perStage[key].push(stage[key]);
    perStage.page.push(pageMs);
    expositionBytes = current.body.identity.length;
    gzipBytes = current.body.gzip.length;
  }
  const summary = (values) => ({ median: round(median(values), 2), p95: round(percentile(values, 95), 2) });
  process.stdout.write(
    `${JSON.stringify({
      vms,
      scope,
      samples,
      documentBytes,
      expositionBytes,
      gzipBytes,
      // Status runs: samples for which the HostSampler took a Full sample instead (the VMs changed); left out.
      fullInsteadOfStatus: fullAfterStart,
      counted: totals.length,
      total: summary(totals),
      withoutGzip: summary(eventLoop),
      // The process's CPU time per sample (every thread), less sensitive to other jobs on the machine.
      cpu: summary(cpuTotals),
      cpuStages: Object.fromEntries(Object.entries(cpuStage).map(([key, values]) => [key, summary(values)])),
      stages: Object.fromEntries(Object.entries(perStage).map(([key, values]) => [key, summary(values)])),
      rssMB: round(process.memoryUsage().rss / 1048576, 0),
    })}\n`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
