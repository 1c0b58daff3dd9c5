export * from './stores/index.js';
export * from './runtime/index.js';
export { archiveEndedCalls, isArchivable, ARCHIVE_JOURNAL, DEFAULT_ARCHIVE_BATCH } from './archive/archive.js';
export type { ArchivableStore, ArchiveOptions, ArchiveResult, ArchiveStep } from './archive/archive.js';
