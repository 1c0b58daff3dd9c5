import { describe, it } from 'vitest';
import { endedAtOf, InMemoryEventStore } from '@switchboard/core';
import { describeEventStoreContract } from './contract.js';

// The reference implementation passes its own contract: the durable stores are held to it.
describeEventStoreContract('InMemoryEventStore', () => new InMemoryEventStore({ endedAt: endedAtOf }), { describe, it });
