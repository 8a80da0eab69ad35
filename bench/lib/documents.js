'use strict';
// Sample documents for the benchmark: the simulator's, written as text in the one-instance-per-line
// layout the collection script writes, so that the exporter parses them as it parses PowerShell output.
const path = require('node:path');

const dist = path.join(__dirname, '..', '..', 'dist');
const { SimulatedHost } = require(path.join(dist, 'sources/simulator/simulatedHost'));
const { kvpItemXml } = require(path.join(dist, 'sources/simulator/kvpItems'));
const { seededRandom } = require(path.join(dist, 'sources/simulator/random'));
const { serializeDocument } = require(path.join(dist, 'document/serialize'));

const START = Date.parse('2026-11-24T10:00:00Z');
const INTERVAL_MS = 15_000;

/** A flat one-byte string, as text read from a pipe or a file is (a rope would be flattened inside the timed code). */
function flat(text) {
  return Buffer.from(text, 'utf8').toString('utf8');
}

/**
 * Successive sample documents of one simulated host. `changing` is the share of VMs whose KVP items or
 * heartbeat change at each sample on top of what the simulator changes itself (uptime, flapping VMs).
 */
class DocumentStream {
  constructor({ vms, seed = 1, changing = 0 }) {
    let now = START;
    this.host = new SimulatedHost({ vms, seed, now: () => (now += INTERVAL_MS) });
    this.random = seededRandom(seed + 1000);
    this.changing = changing;
    this.tick = 0;
  }

  /** The next document as an object. */
  nextDocument() {
    const document = this.host.next();
    if (this.changing > 0) this.mutate(document);
    this.tick++;
    return document;
  }

  /** The next document as text in the line layout. */
  nextText() {
    return flat(serializeDocument(this.nextDocument()));
  }

  mutate(document) {
    const classes = document.classes;
    const kvp = classes.Msvm_KvpExchangeComponent;
    const heartbeat = classes.Msvm_HeartbeatComponent;
    const changes = Math.max(1, Math.round(kvp.length * this.changing));
    for (let i = 0; i < changes; i++) {
      const device = kvp[Math.floor(this.random() * kvp.length)];
      const items = device.GuestIntrinsicExchangeItems;
      if (items.length === 0) continue;
      // A new address: one intrinsic item changes, the others stay the same strings.
      const changed = kvpItemXml('NetworkAddressIPv4', `10.99.${this.tick % 256}.${i % 256}`, 2);
      device.GuestIntrinsicExchangeItems = items.map((item) => (item.includes('NetworkAddressIPv4') ? changed : item));
    }
    // Application health flips for a few VMs.
    const flips = Math.max(1, Math.round(heartbeat.length * this.changing * 0.4));
    for (let i = 0; i < flips; i++) {
      const device = heartbeat[Math.floor(this.random() * heartbeat.length)];
      device.OperationalStatus = [2, this.tick % 2 === 0 ? 32782 : 2];
    }
  }
}

module.exports = { DocumentStream, flat, START, INTERVAL_MS };
