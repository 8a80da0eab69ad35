'use strict';
// A host whose VMs come and go: at every sample some VMs are deleted and as many created (each from
// the same simulated template as the VM it replaces, so the number of series should stay exactly the
// same), and some renamed. Texts are Full documents in collect.ps1's layout (one class per line),
// assembled from instances serialized once, so that thousands of samples take seconds to generate.
const path = require('node:path');

const dist = path.join(__dirname, '..', '..', 'dist');
const { SimulatedHost } = require(path.join(dist, 'sources/simulator/simulatedHost'));
const { DOCUMENT_CLASSES, COMPUTER_SYSTEM_CLASS } = require(path.join(dist, 'document/classes'));
const { randomGuid, seededRandom } = require(path.join(dist, 'sources/simulator/random'));
const { START, INTERVAL_MS } = require('./documents');

const CLASS_NAMES = Object.keys(DOCUMENT_CLASSES);

function guidOfInstance(record) {
  if (typeof record.Name === 'string') return record.Name;
  if (typeof record.SystemName === 'string') return record.SystemName;
  const match = /^Microsoft:([^\\]+)\\/.exec(record.InstanceID ?? '');
  return match ? match[1] : null;
}

class ChurnHost {
  constructor({ vms, seed = 7, deletes = 2, renames = 2 }) {
    this.random = seededRandom(seed);
    this.deletes = deletes;
    this.renames = renames;
    this.tick = 0;
    this.created = 0;
    // One template per simulated VM: its instances by class, as records.
    const document = new SimulatedHost({ vms, seed, now: () => START }).next();
    const byGuid = new Map();
    this.hostLine = JSON.stringify(document.classes[COMPUTER_SYSTEM_CLASS][0]);
    for (const className of CLASS_NAMES) {
      for (const record of document.classes[className]) {
        const guid = guidOfInstance(record);
        // The host's own computer system is written as it is (hostLine).
        if (guid === null || guid === document.computerName) continue;
        if (!byGuid.has(guid)) byGuid.set(guid, { guid, records: new Map() });
        const template = byGuid.get(guid);
        if (!template.records.has(className)) template.records.set(className, []);
        template.records.get(className).push(record);
      }
    }
    this.templates = [...byGuid.values()];
    this.vms = this.templates.map((template) => this.instantiate(template));
  }

  /** A new VM made from a template: new GUID, new name; its lines built once. */
  instantiate(template) {
    const guid = randomGuid(this.random);
    const name = `churn-${String(this.created++).padStart(6, '0')}`;
    const lines = new Map();
    let system = null;
    for (const [className, records] of template.records) {
      if (className === COMPUTER_SYSTEM_CLASS) {
        system = { ...records[0], Name: guid, ElementName: name };
        continue;
      }
      lines.set(
        className,
        records.map((record) => JSON.stringify(record).split(template.guid).join(guid)),
      );
    }
    return { template, guid, system, lines, bornAt: this.tick };
  }

  /** Deletes, creates and renames VMs, then writes the next sample document. */
  nextText() {
    const tick = ++this.tick;
    for (let i = 0; i < this.deletes; i++) {
      const index = Math.floor(this.random() * this.vms.length);
      this.vms[index] = this.instantiate(this.vms[index].template);
    }
    for (let i = 0; i < this.renames; i++) {
      const vm = this.vms[Math.floor(this.random() * this.vms.length)];
      vm.system = { ...vm.system, ElementName: `${vm.system.ElementName.split('~')[0]}~${tick}` };
    }
    const collectedAt = new Date(START + tick * INTERVAL_MS).toISOString();
    const blocks = CLASS_NAMES.map((className) => {
      const lines = [];
      if (className === COMPUTER_SYSTEM_CLASS) {
        lines.push(this.hostLine);
        for (const vm of this.vms) {
          const uptime = vm.system.OnTimeInMilliseconds > 0 ? vm.system.OnTimeInMilliseconds + (tick - vm.bornAt) * INTERVAL_MS : 0;
          lines.push(JSON.stringify({ ...vm.system, OnTimeInMilliseconds: uptime }));
        }
      } else {
        for (const vm of this.vms) for (const line of vm.lines.get(className) ?? []) lines.push(line);
      }
      return `${JSON.stringify(className)}:[${lines.join(',')}]`;
    });
    return `{"schemaVersion":1,"scope":"full","computerName":"HV-CHURN","collectedAt":"${collectedAt}","classes":{\n${blocks.join(',\n')}\n}}`;
  }
}

module.exports = { ChurnHost };
