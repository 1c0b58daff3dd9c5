// The event stores behind core's `EventStore` port, and the contract they are held to.

export { describeEventStoreContract } from './contract.js';
export type { ContractRunner, MakeEventStore } from './contract.js';
export type { EndedStream } from './shared.js';

export { SqliteEventStore, DEFAULT_SQLITE_PATH } from './sqlite/sqlite-store.js';
export type { SqliteEventStoreOptions, SqliteSettings, AppendedSince } from './sqlite/sqlite-store.js';
export type { SqliteDriver } from './sqlite/driver.js';

export { PgEventStore } from './postgres/pg-store.js';
export type { PgAppendOptions, PgEventStoreOptions } from './postgres/pg-store.js';
export { DEFAULT_PG_SCHEMA, PG_SCHEMA_VERSION } from './postgres/schema.js';
export { ShardedPgEventStore, shardOf } from './postgres/sharded.js';
export type { ShardedPgEventStoreOptions } from './postgres/sharded.js';
