import { describeTools, inspectAllTools, shareTools } from './helpers/testTools';

/** Finds the real programs once, says which ran, and shares them with the workers. */
export default function globalSetup(): void {
  const tools = inspectAllTools();
  shareTools(tools);
  process.stdout.write(`\ntest tools (scripts/test-tools.versions; CI=${process.env['CI'] ?? ''}):\n${describeTools(tools)}\n`);
}
