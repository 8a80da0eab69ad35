#!/usr/bin/env node
'use strict';
// `npm start`: runs dist/main.js with the runtime settings of its first line (as the Docker image and
// the Windows service do), on any platform (npm runs scripts with cmd.exe on Windows, where the
// shebang means nothing). Arguments are passed on; signals are forwarded; the exit code is kept.
const { spawn } = require('node:child_process');
const { constants } = require('node:os');
const path = require('node:path');
const { runtimeSettingsOf } = require('../dist/runtimeSettings');

const main = path.join(__dirname, '..', 'dist', 'main.js');
const { env, nodeOptions } = runtimeSettingsOf(main);
const child = spawn(process.execPath, [...nodeOptions, main, ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, ...env } });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
// A child ended by a signal: 128 + its number, as a shell reports it.
child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0))));
