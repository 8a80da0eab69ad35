import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { createRequestListener } from '../../../src/app';
import { parseCommandLine } from '../../../src/cli/flags';
import { sampleManyHosts, type Sampling } from '../../../src/hosts';
import { parseExposition, valueOf } from '../../helpers/exposition';
import { waitFor } from '../../helpers/waitFor';
import { memoryLogger } from '../../sampling/support';
import { FIXTURE_DOCUMENTS, STAND_IN_MODULE, StandInWorkspace, describeWithPwsh, pwshPath } from './pwshHarness';

/**
 * A whole failover cluster from one exporter: the nodes come from root/MSCluster MSCluster_Node (the
 * stand-ins serve them from the control file), each node is sampled through a CIM session of its own
 * through the shared pool of PowerShell processes, and nodes that join or leave become or stop being
 * hosts. A node that a configured host already samples is left to it.
 */

const SINGLE = join(FIXTURE_DOCUMENTS, 'single-vm.json');
const MIXED = join(FIXTURE_DOCUMENTS, 'mixed-states.json');

describeWithPwsh('cluster discovery through the PowerShell pool', () => {
  jest.setTimeout(60_000);
  const workspace = new StandInWorkspace();
  let dir: string;
  let sampling: Sampling | null = null;

  beforeAll(() => {
    process.env.HYPERV_IC_STANDIN_CONTROL = workspace.controlPath;
    dir = mkdtempSync(join(tmpdir(), 'cluster-'));
  });
  afterAll(async () => {
    await sampling?.stop();
    workspace.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  test('nodes become hosts, each sampled through its own CIM session; joins and leaves are followed', async () => {
    const nodes = (...names: string[]): Array<{ Name: string; State: number }> => names.map((Name) => ({ Name, State: 0 }));
    workspace.control({ fixture: SINGLE, hosts: { HV01: SINGLE, HV02: MIXED, HV03: SINGLE, 'hv04.corp.example': MIXED }, clusterNodes: nodes('HV01', 'HV02', 'HV04') });
    const file = join(dir, 'hosts.yml');
    // hv04 is configured by its address: the discovered node HV04 is the same host and is left to it.
    writeFileSync(file, 'hosts:\n  - name: hv04\n    address: hv04.corp.example\ncluster:\n  discover: true\n  refresh-interval: 500ms\n');
    const parsed = parseCommandLine([`--config.file=${file}`, `--powershell.path=${pwshPath()}`, '--sample.interval=1s', '--sample.concurrency=2'], 'linux');
    if (parsed.kind !== 'run') throw new Error('no config');
    const log = memoryLogger('info');
    sampling = await sampleManyHosts({ config: parsed.config, exporter: { version: 'test', source: 'config', processMetrics: null }, logger: log.logger, preloadModules: [STAND_IN_MODULE] }, file);
    const app = createRequestListener({ telemetryPath: '/metrics', version: 'test', logger: log.logger, ...sampling.view });
    const targets = async (): Promise<string[]> => (JSON.parse((await request(app).get('/targets')).text) as Array<{ targets: string[] }>).flatMap((group) => group.targets);

    expect(await targets()).toEqual(['HV01', 'HV02', 'hv04']);
    await waitFor('every host sampled', () => sampling!.view.ready(), { timeoutMs: 30_000 });
    const hv01 = parseExposition((await request(app).get('/probe?target=hv01').expect(200)).text);
    expect(valueOf(hv01, 'hyperv_up')).toBe(1);
    expect(hv01.series.filter((s) => s.name === 'hyperv_vm_info')).toHaveLength(1);
    const hv02 = parseExposition((await request(app).get('/probe?target=HV02').expect(200)).text);
    expect(hv02.series.filter((s) => s.name === 'hyperv_vm_info').length).toBeGreaterThan(1);
    const sessions = workspace.calls().filter((call) => call.command === 'New-CimSession').map((call) => String(call.ComputerName).toLowerCase());
    expect(new Set(sessions)).toEqual(new Set(['hv01', 'hv02', 'hv04.corp.example']));
    const exporter = parseExposition((await request(app).get('/metrics').expect(200)).text);
    expect(valueOf(exporter, 'hyperv_cluster_discovery_success')).toBe(1);

    // HV03 joins, HV01 leaves.
    workspace.control({ fixture: SINGLE, hosts: { HV01: SINGLE, HV02: MIXED, HV03: SINGLE, 'hv04.corp.example': MIXED }, clusterNodes: nodes('HV02', 'HV03', 'HV04') });
    await waitFor('the new node list', async () => (await targets()).join() === 'HV02,HV03,hv04', { timeoutMs: 10_000 });
    // Until its first sample ends, a new host's /probe answers 503 "Starting", which is no exposition.
    const hv03Up = async (): Promise<boolean> => {
      const response = await request(app).get('/probe?target=hv03');
      return response.status === 200 && valueOf(parseExposition(response.text), 'hyperv_up') === 1;
    };
    await waitFor('HV03 sampled', hv03Up, { timeoutMs: 15_000 });
    await request(app).get('/probe?target=hv01').expect(404);

    // The cluster cannot be read: the hosts of the last good read are kept, and the exporter says so.
    workspace.control({ fixture: SINGLE, hosts: { HV02: MIXED, HV03: SINGLE, 'hv04.corp.example': MIXED }, clusterNodes: nodes('HV02', 'HV03', 'HV04'), fault: 'access_denied', faultClass: 'MSCluster_Node' });
    await waitFor('discovery failing', async () => /hyperv_cluster_discovery_success 0/.test((await request(app).get('/metrics')).text), { timeoutMs: 10_000 });
    expect(await targets()).toEqual(['HV02', 'HV03', 'hv04']);
  });
});
