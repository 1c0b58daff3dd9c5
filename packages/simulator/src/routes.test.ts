import { describe, expect, it } from 'vitest';
import { COMMAND_NAMES, COMMANDS, commandPathOf } from '@switchboard/core';
import { matchRoute } from './routes.js';

describe('the simulator serves every command of the table', () => {
  it.each(COMMAND_NAMES.map((name) => [name] as const))('%s has a route', (name) => {
    const spec = COMMANDS[name];
    const segments = commandPathOf(name, { callId: 'c1', participantId: 'p1' }).split('/').filter(Boolean);
    const route = matchRoute(spec.method, segments);
    if (spec.body !== 'none') expect(route.hasBody).toBe(true);
    expect(route.callId).toBe(spec.scope === 'collection' ? undefined : 'c1');
  });
});
