import { readFileSync } from 'node:fs';

/** How the exporter is meant to be started: environment variables and node options. */
export interface RuntimeSettings {
  readonly env: Readonly<Record<string, string>>;
  readonly nodeOptions: readonly string[];
}

/**
 * The runtime settings in a `#!/usr/bin/env -S NAME=value … node --option …` line: the one place they
 * are written (the first line of src/main.ts), read by `npm start`, the bench and the tests that keep
 * the Dockerfile and the Windows service in step.
 */
export function parseShebang(line: string): RuntimeSettings {
  const match = /^#!\/usr\/bin\/env -S (.*)$/.exec(line.trimEnd());
  if (match === null) throw new Error(`not a "#!/usr/bin/env -S" line: ${line}`);
  const words = match[1]!.split(/\s+/).filter((word) => word !== '');
  const env: Record<string, string> = {};
  let i = 0;
  for (; i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]!); i++) {
    const word = words[i]!;
    const equals = word.indexOf('=');
    env[word.slice(0, equals)] = word.slice(equals + 1);
  }
  if (words[i] !== 'node') throw new Error(`the line does not run node: ${line}`);
  return { env, nodeOptions: words.slice(i + 1) };
}

/** The runtime settings of a script file, from its first line. */
export function runtimeSettingsOf(file: string): RuntimeSettings {
  const text = readFileSync(file, 'utf8');
  return parseShebang(text.slice(0, text.indexOf('\n')));
}

/**
 * The settings this process was not started with: node options missing from `execArgv`, and, on
 * Linux (the glibc settings mean nothing elsewhere), environment variables not set to their values.
 */
export function missingSettings(
  settings: RuntimeSettings,
  running: { readonly execArgv: readonly string[]; readonly env: NodeJS.ProcessEnv; readonly platform: NodeJS.Platform },
): string[] {
  const missing = settings.nodeOptions.filter((option) => !running.execArgv.includes(option));
  if (running.platform === 'linux') {
    for (const [name, value] of Object.entries(settings.env)) if (running.env[name] !== value) missing.push(`${name}=${value}`);
  }
  return missing;
}

