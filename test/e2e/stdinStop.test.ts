import { startExporter } from '../helpers/exporterProcess';

/**
 * The Windows service host stops the exporter by closing its stdin (a service has no console for
 * Ctrl+C, and Windows has no SIGTERM). The same code runs on every platform; here it is driven from
 * Linux, and under Wine by test/windows/.
 */
describe('stop on the end of stdin (HYPERV_IC_EXPORTER_STOP_ON_STDIN_EOF=1)', () => {
  test('closing stdin shuts the exporter down cleanly: its shutdown is logged and it exits 0', async () => {
    const exporter = await startExporter(['--source=simulator'], { env: { HYPERV_IC_EXPORTER_STOP_ON_STDIN_EOF: '1' } });
    const exited = new Promise<number | null>((resolve) => exporter.process.once('exit', (code) => resolve(code)));
    exporter.process.stdin.end();
    expect(await exited).toBe(0);
    const messages = exporter.logLines.map((line) => (JSON.parse(line) as { msg: string; signal?: string }));
    expect(messages).toContainEqual(expect.objectContaining({ msg: 'shutting down', signal: 'stdin closed' }));
    expect(messages.at(-1)?.msg).toBe('stopped');
  });

  test('without the variable, the end of stdin changes nothing (a plain `node main.js < /dev/null` keeps running)', async () => {
    const exporter = await startExporter(['--source=simulator']);
    exporter.process.stdin.end();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(exporter.process.exitCode).toBeNull();
    expect((await fetch(`${exporter.baseUrl}/-/healthy`)).status).toBe(200);
    expect((await exporter.stop()).code).toBe(0);
  });
});
