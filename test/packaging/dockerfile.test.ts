// No Docker engine runs where these tests run, so the image is never built here. What can be checked
// is checked: the Dockerfile passes a real Dockerfile linter (dockerfile-utils, the validator behind
// VS Code's Dockerfile support), and its structure keeps the promises docs/docker.md makes.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { runtimeSettingsOf } from '../../src/runtimeSettings';
import { freePort } from '../helpers/freePort';
import { describeWithTool, ensureBuilt, optionalRequire, repoPath, repoRoot } from './support';

const dockerfileText = fs.readFileSync(repoPath('Dockerfile'), 'utf8');
const dockerignoreText = fs.readFileSync(repoPath('.dockerignore'), 'utf8');

// ---- a small Dockerfile reader: enough for the structure below, not a general parser ---------------

interface Instruction {
  keyword: string;
  /** Text after the keyword, continuation lines joined. */
  argumentText: string;
  line: number;
}

interface Stage {
  baseImage: string;
  name: string | undefined;
  instructions: Instruction[];
}

function readInstructions(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  const lines = text.split(/\r?\n/);
  let pending: { text: string; line: number } | undefined;
  lines.forEach((rawLine, index) => {
    const trimmed = rawLine.trim();
    if (pending === undefined && (trimmed === '' || trimmed.startsWith('#'))) return;
    if (pending !== undefined && trimmed.startsWith('#')) return; // comments inside a continuation
    const continues = trimmed.endsWith('\\');
    const body = continues ? trimmed.slice(0, -1).trim() : trimmed;
    pending = pending === undefined ? { text: body, line: index + 1 } : { text: `${pending.text} ${body}`, line: pending.line };
    if (!continues) {
      const match = /^(\S+)\s*(.*)$/.exec(pending.text);
      if (match) instructions.push({ keyword: match[1]!.toUpperCase(), argumentText: match[2]!, line: pending.line });
      pending = undefined;
    }
  });
  return instructions;
}

const instructions = readInstructions(dockerfileText);

/** ARG defaults declared before the first FROM, used to resolve `FROM ${NODE_IMAGE}`. */
function globalArgDefaults(all: Instruction[]): Map<string, string> {
  const defaults = new Map<string, string>();
  for (const instruction of all) {
    if (instruction.keyword === 'FROM') break;
    if (instruction.keyword !== 'ARG') continue;
    const [name, value] = instruction.argumentText.split('=', 2);
    if (name !== undefined && value !== undefined) defaults.set(name.trim(), value.trim());
  }
  return defaults;
}

function substitute(text: string, variables: Map<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced?: string, bare?: string) => variables.get((braced ?? bare)!) ?? whole);
}

function readStages(all: Instruction[]): Stage[] {
  const defaults = globalArgDefaults(all);
  const stages: Stage[] = [];
  for (const instruction of all) {
    if (instruction.keyword === 'FROM') {
      const parts = instruction.argumentText.split(/\s+/).filter((part) => !part.startsWith('--'));
      const asIndex = parts.findIndex((part) => part.toUpperCase() === 'AS');
      stages.push({
        baseImage: substitute(parts[0]!, defaults),
        name: asIndex >= 0 ? parts[asIndex + 1] : undefined,
        instructions: [],
      });
    } else if (stages.length > 0) {
      stages[stages.length - 1]!.instructions.push(instruction);
    }
  }
  return stages;
}

const stages = readStages(instructions);
const runtimeStage = stages[stages.length - 1]!;
const buildStages = stages.slice(0, -1);

function stageText(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword).map((instruction) => instruction.argumentText);
}

function execForm(argumentText: string): string[] {
  const parsed: unknown = JSON.parse(argumentText);
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) {
    throw new Error(`not an exec-form JSON array: ${argumentText}`);
  }
  return parsed as string[];
}

/** Splits `COPY [--flags] src... dest` into flags, sources and destination. */
function readCopy(argumentText: string): { flags: string[]; sources: string[]; destination: string } {
  const words = argumentText.split(/\s+/);
  const flags = words.filter((word) => word.startsWith('--'));
  const paths = words.filter((word) => !word.startsWith('--'));
  return { flags, sources: paths.slice(0, -1), destination: paths[paths.length - 1]! };
}

// ---- .dockerignore, with Docker's rules: last matching pattern wins, a match on a parent folder
// counts for everything inside it, `!` re-includes. -----------------------------------------------

function dockerignorePatterns(text: string): { regex: RegExp; include: boolean; source: string }[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const include = line.startsWith('!');
      const cleaned = (include ? line.slice(1) : line).replace(/^\/+/, '').replace(/\/+$/, '');
      const regexText = cleaned
        .split(/(\*\*\/?|\*|\?)/)
        .map((part) => {
          if (part === '**/') return '(?:.*/)?';
          if (part === '**') return '.*';
          if (part === '*') return '[^/]*';
          if (part === '?') return '[^/]';
          return part.replace(/[.+^${}()|[\]\\]/g, '\\$&');
        })
        .join('');
      return { regex: new RegExp(`^${regexText}$`), include, source: line };
    });
}

function isExcludedFromContext(relativePath: string, patterns: ReturnType<typeof dockerignorePatterns>): boolean {
  const segments = relativePath.split('/');
  const candidates = segments.map((_, index) => segments.slice(0, index + 1).join('/'));
  let excluded = false;
  for (const pattern of patterns) {
    if (candidates.some((candidate) => pattern.regex.test(candidate))) excluded = !pattern.include;
  }
  return excluded;
}

const ignorePatterns = dockerignorePatterns(dockerignoreText);

// ---- the tests --------------------------------------------------------------------------------------

interface DockerfileUtils {
  validate(content: string, settings?: Record<string, number>): { message: string; range: { start: { line: number } } }[];
  format(content: string, options: { tabSize: number; insertSpaces: boolean }): unknown[];
}
const dockerfileUtils = optionalRequire<DockerfileUtils>('dockerfile-utils');
// Every optional check raised to an error: casing, JSON in single quotes, relative WORKDIR, several
// CMD/ENTRYPOINT/HEALTHCHECK, empty continuation lines, MAINTAINER.
const strictness = {
  deprecatedMaintainer: 2,
  directiveCasing: 2,
  emptyContinuationLine: 2,
  instructionCasing: 2,
  instructionCmdMultiple: 2,
  instructionEntrypointMultiple: 2,
  instructionHealthcheckMultiple: 2,
  instructionJSONInSingleQuotes: 2,
  instructionWorkdirRelative: 2,
};

describeWithTool(
  'Dockerfile lint (dockerfile-utils)',
  dockerfileUtils === undefined ? 'the dev dependency dockerfile-utils is not installed (npm ci)' : undefined,
  () => {
    test('the Dockerfile has no findings at the strictest settings', () => {
      const findings = dockerfileUtils!
        .validate(dockerfileText, strictness)
        .map((finding) => `line ${finding.range.start.line + 1}: ${finding.message}`);
      expect(findings).toEqual([]);
    });

    test('the Dockerfile is formatted as dockerfile-utils formats it', () => {
      expect(dockerfileUtils!.format(dockerfileText, { tabSize: 4, insertSpaces: true })).toEqual([]);
    });

    test('the linter reports a broken Dockerfile (it can fail)', () => {
      const broken = 'from node:20-bookworm-slim\nHEALTHCHECK --interval=5 CMD true\nEXPOSE port\nWORKDIR app\nCMD [\'node\']\n';
      const messages = dockerfileUtils!.validate(broken, strictness).map((finding) => finding.message);
      expect(messages.length).toBeGreaterThanOrEqual(4);
    });
  },
);

describe('Dockerfile structure', () => {
  test('is multi-stage: a build stage and a runtime stage, both on an official Node 20 image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) {
      expect(stage.baseImage).toMatch(/^node:20-(bookworm-slim|alpine)(\d+(\.\d+)*)?(@sha256:[0-9a-f]{64})?$/);
    }
    expect(runtimeStage.name).toBe('runtime');
  });

  test('the build stage installs dev dependencies with npm ci and runs npm run build', () => {
    const buildRuns = buildStages.flatMap((stage) => stageText(stage, 'RUN'));
    expect(buildRuns.some((run) => /\bnpm ci\b/.test(run) && !/--omit=dev|--production/.test(run))).toBe(true);
    expect(buildRuns.some((run) => /\bnpm run build\b/.test(run))).toBe(true);
  });

  test('the runtime stage installs production dependencies only and copies dist/ from the build stage', () => {
    const runtimeRuns = stageText(runtimeStage, 'RUN');
    const installs = runtimeRuns.filter((run) => /\bnpm (ci|install|i)\b/.test(run));
    expect(installs.length).toBeGreaterThan(0);
    for (const install of installs) expect(install).toMatch(/\bnpm ci\b.*--omit=dev/);
    expect(runtimeRuns.some((run) => /npm run build|\btsc\b/.test(run))).toBe(false);

    const copies = stageText(runtimeStage, 'COPY').map(readCopy);
    const buildStageNames = buildStages.map((stage) => stage.name);
    const fromBuild = copies.filter((copy) => copy.flags.some((flag) => buildStageNames.includes(flag.replace(/^--from=/, ''))));
    expect(fromBuild.flatMap((copy) => copy.sources)).toContain('/src/dist/');
    // Sources never reach the runtime image.
    expect(copies.filter((copy) => copy.flags.length === 0).flatMap((copy) => copy.sources)).not.toContain('src/');
  });

  test('the runtime stage runs as a non-root user, set before the entrypoint', () => {
    const users = stageText(runtimeStage, 'USER');
    expect(users.length).toBeGreaterThan(0);
    const finalUser = users[users.length - 1]!.split(':')[0]!;
    expect(['root', '0', '']).not.toContain(finalUser);
    const userLine = runtimeStage.instructions.filter((instruction) => instruction.keyword === 'USER').pop()!.line;
    const entrypointLine = runtimeStage.instructions.find((instruction) => instruction.keyword === 'ENTRYPOINT')!.line;
    expect(userLine).toBeLessThan(entrypointLine);
  });

  test('exposes 10062 and health-checks /-/healthy with node (no curl in the slim image)', () => {
    expect(stageText(runtimeStage, 'EXPOSE').join(' ').split(/\s+/)).toContain('10062');

    const healthchecks = stageText(runtimeStage, 'HEALTHCHECK');
    expect(healthchecks).toHaveLength(1);
    const commandStart = healthchecks[0]!.indexOf('CMD ');
    const command = execForm(healthchecks[0]!.slice(commandStart + 4));
    expect(command[0]).toBe('node');

    const environment = new Map<string, string>();
    for (const env of stageText(runtimeStage, 'ENV')) {
      const [name, value] = env.split('=', 2);
      if (name !== undefined && value !== undefined) environment.set(name, value);
    }
    const probedUrl = command.join(' ').includes('process.env.HEALTHCHECK_URL') ? environment.get('HEALTHCHECK_URL') : command.join(' ');
    expect(probedUrl).toMatch(/^http:\/\/127\.0\.0\.1:10062\/-\/healthy$/);
  });

  test('the exporter is the exec-form entrypoint, so flags pass through, and the default source is the simulator', () => {
    const entrypoints = stageText(runtimeStage, 'ENTRYPOINT');
    expect(entrypoints).toHaveLength(1);
    // With the runtime settings of src/main.ts's first line: its node options, and its environment.
    const settings = runtimeSettingsOf(repoPath('src', 'main.ts'));
    expect(settings.nodeOptions.length).toBeGreaterThan(0);
    expect(execForm(entrypoints[0]!)).toEqual(['node', ...settings.nodeOptions, 'dist/main.js']);
    const environment: Record<string, string> = {};
    for (const env of stageText(runtimeStage, 'ENV')) for (const [, name, value] of env.matchAll(/(\w+)=(\S+)/g)) environment[name!] = value!;
    expect(environment).toMatchObject(settings.env);
    const commands = stageText(runtimeStage, 'CMD');
    expect(commands).toHaveLength(1);
    expect(execForm(commands[0]!)).toEqual(['--source=simulator']);
  });

  test('every file copied from the build context exists and is not excluded by .dockerignore', () => {
    const contextSources = stages
      .flatMap((stage) => stageText(stage, 'COPY').map(readCopy))
      .filter((copy) => !copy.flags.some((flag) => flag.startsWith('--from=')))
      .flatMap((copy) => copy.sources);
    expect(contextSources.length).toBeGreaterThan(0);
    for (const source of contextSources) {
      const relative = source.replace(/\/+$/, '');
      expect({ source, exists: fs.existsSync(path.join(repoRoot, relative)) }).toEqual({ source, exists: true });
      expect({ source, excluded: isExcludedFromContext(relative, ignorePatterns) }).toEqual({ source, excluded: false });
    }
    // Copied folders are sent whole: nothing inside src/ may be excluded either.
    expect(isExcludedFromContext('src/sources/powershell/collect.ps1', ignorePatterns)).toBe(false);
  });

  test('.dockerignore keeps local build output, tools, tests and git data out of the build context', () => {
    for (const local of ['node_modules/jest/package.json', 'dist/main.js', '.tools/pwsh/pwsh', '.git/config', 'test/packaging/dockerfile.test.ts', 'hyperv-ic-exporter-0.1.0.tgz', '.env']) {
      expect({ local, excluded: isExcludedFromContext(local, ignorePatterns) }).toEqual({ local, excluded: true });
    }
  });

  test('the .dockerignore matcher follows Docker semantics (it can fail)', () => {
    const patterns = dockerignorePatterns('*\n!src/\nsrc/**/*.test.ts\n!keep.md\n');
    expect(isExcludedFromContext('README.md', patterns)).toBe(true);
    expect(isExcludedFromContext('keep.md', patterns)).toBe(false);
    expect(isExcludedFromContext('src/main.ts', patterns)).toBe(false);
    expect(isExcludedFromContext('src/a/b.test.ts', patterns)).toBe(true);
    expect(isExcludedFromContext('node_modules/x/index.js', patterns)).toBe(true);
  });
});

describe('Dockerfile health check, run as Docker would run it', () => {
  // The check is a JavaScript one-liner inside JSON inside the Dockerfile: only running it shows that
  // it parses and tells a live exporter from a dead one. Docker runs it with the image's ENV.
  const healthcheck = stageText(runtimeStage, 'HEALTHCHECK')[0]!;
  const [program, ...args] = execForm(healthcheck.slice(healthcheck.indexOf('CMD ') + 4));

  function runCheck(url: string): number | null {
    const executable = program === 'node' ? process.execPath : program!;
    return spawnSync(executable, args, { env: { ...process.env, HEALTHCHECK_URL: url }, timeout: 10_000 }).status;
  }

  test('exits 0 against a running exporter and 1 when nothing listens', async () => {
    ensureBuilt();
    const port = await freePort();
    const exporter = spawn(process.execPath, [repoPath('dist', 'main.js'), '--source=simulator', `--web.listen-address=127.0.0.1:${port}`], {
      stdio: 'ignore',
    });
    try {
      const deadline = Date.now() + 15_000;
      let listening = false;
      while (!listening && Date.now() < deadline) {
        listening = await new Promise<boolean>((resolve) => {
          http.get(`http://127.0.0.1:${port}/-/healthy`, (response) => resolve(response.statusCode === 200)).on('error', () => resolve(false));
        });
        if (!listening) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(listening).toBe(true);
      expect(runCheck(`http://127.0.0.1:${port}/-/healthy`)).toBe(0);
      expect(runCheck(`http://127.0.0.1:${port}/no-such-path`)).toBe(1);
    } finally {
      exporter.kill('SIGTERM');
    }
    expect(runCheck(`http://127.0.0.1:${await freePort()}/-/healthy`)).toBe(1);
  }, 30_000);
});
