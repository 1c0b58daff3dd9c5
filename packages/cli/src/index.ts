export { main, HELP } from './main.js';
export { replayCommand, renderTimeline, REPLAY_HELP } from './commands/replay.js';
export { redecodeCommand, REDECODE_HELP } from './commands/redecode.js';
export { archiveCommand, ARCHIVE_HELP } from './commands/archive.js';
export { UsageError } from './output.js';
export type { Output } from './output.js';
export { simulateCommand, SIMULATE_HELP, FAULT_PRESETS } from './commands/simulate.js';
export { inspectCommand, INSPECT_HELP } from './commands/inspect.js';
export type { InspectHooks } from './commands/inspect.js';
