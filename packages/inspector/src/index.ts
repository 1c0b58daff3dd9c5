// The live console
export { createInspector, isLoopbackAddress } from './server/inspector.js';
export type { Inspector, InspectorOptions } from './server/inspector.js';
export type { AppendListener, ChangeSource } from './server/follow.js';

// The call page, shared with `switchboard replay --html`
export { renderCallSection, stateBadge } from './render/call-page.js';
export type { CallSectionOptions, RowWindow } from './render/call-page.js';
export { renderReplayHtml } from './render/replay-page.js';
export type { ReplayHtmlOptions } from './render/replay-page.js';
export { renderMachineSvg } from './render/machine-svg.js';
export type { MachineSvgOptions } from './render/machine-svg.js';
export { callPaths, callPath, visitedStates } from './render/path.js';
export type { CallPath, Transition } from './render/path.js';
export { escapeHtml } from './render/escape.js';
export { CSS } from './render/styles.js';

// The data behind the pages
export { describeCall } from './model/detail.js';
export type { CallRecord, CallDetail, RosterChange, RosterPoint, OperationTiming, CommandExchange } from './model/detail.js';
export { summarizeView, otherPartyOf, directionOf } from './model/summary.js';
export type { CallSummary } from './model/summary.js';
export { toExchangeLines, toExchangeLog, requestOf } from './model/exchange.js';
export type { ExchangeLine } from './model/exchange.js';
