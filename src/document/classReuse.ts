import { COMPONENT_CLASSES, COMPUTER_SYSTEM_CLASS, SCHEMA_VERSION, type ComponentName } from './classes';
import { Diagnostics, type DropReason } from './diagnostics';
import { DEFAULT_LIMITS, type Limits } from './limits';
import { parseDocument, type ComponentInstance, type ParsedDocument, type SettingInstance } from './parse';

interface Drop {
  readonly reason: DropReason;
  readonly example: string;
  readonly count: number;
}

/** What parseDocument made of one instance record. */
interface RecordResult {
  readonly instance: ComponentInstance | SettingInstance | null;
  readonly drops: readonly Drop[];
}

/** What parseDocument made of one class of the last sample. */
interface ClassResult {
  /** The class array it was made from: frozen, so the same array means the same instances. */
  readonly source: unknown;
  readonly instances: readonly ComponentInstance[] | readonly SettingInstance[];
  readonly drops: readonly Drop[];
  /** Record by record, where the class was read that way (see parseRecords). */
  readonly records: ReadonlyMap<unknown, RecordResult> | null;
}

/** Diagnostics that keep each drop as well, to be counted again when the result is reused. */
class Recorder extends Diagnostics {
  readonly drops: Drop[] = [];

  override drop(reason: DropReason, example: string, count = 1): void {
    this.drops.push({ reason, example, count });
    super.drop(reason, example, count);
  }
}

function replay(drops: readonly Drop[], diagnostics: Diagnostics): void {
  for (const drop of drops) diagnostics.drop(drop.reason, drop.example, drop.count);
}

/**
 * A class read record by record: a record (a frozen object from the line cache) that was in the last
 * sample keeps what it parsed to, the others are parsed one by one. The same as parseDocument of the
 * whole class when every element is an object and there are no more than the limit (each record is
 * then read on its own, and the drops come in record order).
 */
function parseRecords(source: readonly unknown[], before: ReadonlyMap<unknown, RecordResult> | null, parseOne: (record: unknown) => RecordResult): ClassResult {
  const records = new Map<unknown, RecordResult>();
  const instances: Array<ComponentInstance | SettingInstance> = [];
  const drops: Drop[] = [];
  for (const record of source) {
    let result = records.get(record) ?? before?.get(record);
    if (result === undefined) result = parseOne(record);
    records.set(record, result);
    if (result.instance !== null) instances.push(result.instance);
    for (const drop of result.drops) drops.push(drop);
  }
  return { source, instances: instances as readonly ComponentInstance[] | readonly SettingInstance[], drops, records };
}

/** Frozen, with its arrays: an instance that may be handed out again stays as it was made. */
function freezeInstance<T extends object>(instance: T): T {
  for (const value of Object.values(instance)) if (Array.isArray(value)) Object.freeze(value);
  return Object.freeze(instance);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * parseDocument, class by class, reusing the result for a class whose instances are the very same
 * frozen array as in the last sample (InstanceLineCache hands out the same array for a class whose
 * lines did not change). parseDocument reads each class on its own, so the result is the same as
 * parseDocument of the whole document, diagnostics included: the drops of a reused class are counted
 * again, in the order parseDocument would have counted them.
 *
 * A document whose class arrays are not frozen (plain JSON.parse, the simulator's objects) gains
 * nothing from this and goes through parseDocument whole. One instance per running exporter; only the
 * classes of the last sample are kept.
 */
export class ClassParseCache {
  private previous = new Map<string, ClassResult>();
  private limits: Limits | null = null;

  /** Classes whose result the last parse reused (for tests and the bench). */
  lastReused = 0;

  parse(value: unknown, diagnostics: Diagnostics, limits: Limits = DEFAULT_LIMITS): ParsedDocument {
    const classes = isRecord(value) ? value['classes'] : undefined;
    if (!isRecord(value) || !isRecord(classes) || !Object.values(classes).some((v) => Array.isArray(v) && Object.isFrozen(v))) {
      this.previous = new Map();
      this.lastReused = 0;
      return parseDocument(value, diagnostics, limits);
    }
    if (this.limits !== limits) {
      this.previous = new Map();
      this.limits = limits;
    }

    // The document's own properties and its computer systems; this also throws for whatever makes
    // the whole document invalid, as parseDocument of the whole would.
    const base = parseDocument({ ...value, classes: { [COMPUTER_SYSTEM_CLASS]: classes[COMPUTER_SYSTEM_CLASS] } }, diagnostics, limits);

    const next = new Map<string, ClassResult>();
    const components = new Map<ComponentName, readonly ComponentInstance[]>();
    const settings = new Map<ComponentName, readonly SettingInstance[]>();
    let reused = 0;
    for (const componentClass of COMPONENT_CLASSES) {
      for (const [className, isSetting] of [
        [componentClass.deviceClass, false],
        [componentClass.settingClass, true],
      ] as const) {
        const source = Object.prototype.hasOwnProperty.call(classes, className) ? classes[className] : undefined;
        let result = this.previous.get(className);
        if (result !== undefined && result.source === source && typeof source === 'object' && source !== null && Object.isFrozen(source)) {
          replay(result.drops, diagnostics);
          reused++;
        } else {
          const read = (records: unknown): ParsedDocument => {
            const recorder = new Recorder();
            const parsed = parseDocument({ schemaVersion: SCHEMA_VERSION, classes: { [COMPUTER_SYSTEM_CLASS]: [], [className]: records } }, recorder, limits);
            drops = recorder.drops;
            return parsed;
          };
          let drops: readonly Drop[] = [];
          const stable = Array.isArray(source) && Object.isFrozen(source);
          if (stable && source.length <= limits.maxInstancesPerClass && source.every((record) => isRecord(record) && Object.isFrozen(record))) {
            result = parseRecords(source, result?.records ?? null, (record) => {
              const parsed = read([record]);
              const instance = (isSetting ? parsed.settings : parsed.components).get(componentClass.component)?.[0] ?? null;
              return { instance: instance === null ? null : freezeInstance(instance), drops };
            });
            result = { ...result, instances: Object.freeze(result.instances) };
          } else {
            const parsed = read(source);
            const instances = (isSetting ? parsed.settings : parsed.components).get(componentClass.component) ?? [];
            // Frozen like its source: the same array again means the same instances (HostModelMemo).
            result = { source, instances: stable ? Object.freeze(instances) : instances, drops, records: null };
          }
          replay(result.drops, diagnostics);
        }
        // Only what can come again is kept: a class array that is not frozen never does.
        if (Object.isFrozen(result.instances)) next.set(className, result);
        if (isSetting) settings.set(componentClass.component, result.instances as readonly SettingInstance[]);
        else components.set(componentClass.component, result.instances as readonly ComponentInstance[]);
      }
    }
    this.previous = next;
    this.lastReused = reused;
    return { computerName: base.computerName, collectedAt: base.collectedAt, computerSystems: base.computerSystems, components, settings };
  }
}
