'use strict';
// Sample documents for the benchmark: the simulator's hosts written as text in the layout collect.ps1
// writes with -OutFile (one class per line, each instance projected to the class's properties in the
// order of DOCUMENT_CLASSES / STATUS_CLASSES), so that the exporter parses what PowerShell hands over.
// A Status document is the same tick's Full document without setting data and KVP items
// (test/sampling/hostSampler.test.ts statusOf() derives it the same way).
const path = require('node:path');

const dist = path.join(__dirname, '..', '..', 'dist');
const { SimulatedHost } = require(path.join(dist, 'sources/simulator/simulatedHost'));
const { DOCUMENT_CLASSES, STATUS_CLASSES } = require(path.join(dist, 'document/classes'));

const START = Date.parse('2026-11-24T10:00:00Z');
const INTERVAL_MS = 15_000;

/** A flat one-byte string, as text read from a file is (a rope would be flattened inside the timed code). */
function flat(text) {
  return Buffer.from(text, 'utf8').toString('utf8');
}

/** One class as collect.ps1 writes it: `"Name":[{…},{…}]` on one line, properties in the table's order. */
function classLine(className, properties, rows) {
  const projected = rows.map((row) => {
    const out = {};
    for (const name of properties) out[name] = row[name] === undefined ? null : row[name];
    return out;
  });
  return `${JSON.stringify(className)}:${JSON.stringify(projected)}`;
}

/** A document object (the simulator's) as the text collect.ps1 writes for `scope`. */
function documentText(document, scope) {
  const table = scope === 'status' ? STATUS_CLASSES : DOCUMENT_CLASSES;
  const lines = Object.entries(table).map(([className, properties]) => classLine(className, properties, document.classes[className] ?? []));
  const head = `{"schemaVersion":1,"scope":"${scope}","computerName":${JSON.stringify(document.computerName)},"collectedAt":${JSON.stringify(document.collectedAt)},"classes":{\n`;
  return flat(`${head}${lines.join(',\n')}\n}}`);
}

/** Successive sample documents of one simulated host (the simulator changes uptime, flapping VMs and so on). */
class DocumentStream {
  constructor({ vms, seed = 1, computerName } = {}) {
    let now = START;
    this.host = new SimulatedHost({ vms, seed, computerName, now: () => (now += INTERVAL_MS) });
  }

  /** The next tick: its Full text, and (made on demand) its Status text. */
  next() {
    const document = this.host.next();
    let status = null;
    return {
      document,
      full: documentText(document, 'full'),
      get status() {
        status ??= documentText(document, 'status');
        return status;
      },
    };
  }

  /** The next tick's Full text. */
  nextText() {
    return this.next().full;
  }
}

module.exports = { DocumentStream, documentText, flat, START, INTERVAL_MS, dist };
