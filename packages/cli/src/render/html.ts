/**
 * `switchboard replay --html`: the page is the live console's call page, one per call, so a
 * log from a user's machine reads the same way as the console (`switchboard inspect`). The
 * rendering lives in `@switchboard/inspector`; this module names it for the CLI.
 */
export { renderReplayHtml as renderHtml, escapeHtml } from '@switchboard/inspector';
