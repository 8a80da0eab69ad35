/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Finds the real programs (pwsh, Prometheus, …) once, checks their pinned versions and prints them.
  globalSetup: '<rootDir>/test/globalSetup.ts',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // Integration tests start real processes (exporter, Prometheus, pwsh); two workers suit the 2-core machines.
  maxWorkers: 2,
  testTimeout: 20000,
};
