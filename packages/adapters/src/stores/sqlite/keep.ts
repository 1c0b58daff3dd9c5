/**
 * Keeps better-sqlite3's objects (connections, statements) away from the garbage collector.
 * On Node 24, better-sqlite3 12's objects (`node::ObjectWrap`) remove an environment cleanup
 * hook when the collector frees them, and Node aborts the whole process when that happens at a
 * moment no environment is current: `Assertion failed: (env) != nullptr` in
 * `node::RemoveEnvironmentCleanupHook`, from `Statement::~Statement()`, SIGABRT. A CI run on
 * Node 24 lost a test file that way, and a loop opening and closing stores with their writer
 * threads aborted in 4 of 10 runs. better-sqlite3 13 has no ObjectWrap, but needs Node 22, and
 * Switchboard runs on Node 20 too.
 *
 * A kept object is freed by Node's own cleanup hook when its thread (or the process) ends,
 * with the environment still there. The cost: a few small objects per connection opened,
 * never freed before the thread ends (the connection and its statements are closed as
 * before; only their JavaScript shells stay). Kept on every Node version: the same shells,
 * and no version to guess.
 */
import type BetterSqlite3 from 'better-sqlite3';

const kept: object[] = [];

/** Keeps a better-sqlite3 connection or statement until the thread ends; returns it. */
export function keep<T extends object>(object: T): T {
  kept.push(object);
  return object;
}

/** A pragma's value (`db.pragma()` would make a statement the collector frees). */
export function pragmaValue(db: BetterSqlite3.Database, name: string): unknown {
  return keep(db.prepare(`PRAGMA ${name}`))
    .pluck()
    .get();
}

/** Sets a pragma (`PRAGMA name = value`), with no statement object at all. */
export function setPragma(db: BetterSqlite3.Database, assignment: string): void {
  db.exec(`PRAGMA ${assignment}`);
}
