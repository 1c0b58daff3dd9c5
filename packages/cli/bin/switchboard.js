#!/usr/bin/env node
// The `switchboard` command. This file is committed (dist/ is not), so that installing a
// workspace can link the command before the package is built; it runs the built CLI, or says
// how to build it.
import { existsSync } from 'node:fs';

const built = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(built)) {
  process.stderr.write(
    '@switchboard/cli is not built: run `pnpm build` in the Switchboard workspace root ' + '(or in packages/cli) first.\n',
  );
  process.exit(1);
}
await import(built.href);
