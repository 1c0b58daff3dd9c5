// The Graph HTTP client
export { createGraphClient } from './client.js';
export { GRAPH_CLIENT_DEFAULTS } from './defaults.js';
export { parseRetryAfter } from './retry.js';
export type { RetryOptions } from './retry.js';
export type { GraphResult } from './send.js';
export type {
  GraphClient,
  GraphClientOptions,
  RequestOptions,
  SendParams,
  CallResource,
  CommsOperation,
  Collection,
  GraphClientCommand,
  GraphCommandMethods,
} from './client.js';

// Commands and their routes
export { COMMAND_ROUTES, IDEMPOTENT_COMMANDS, isCommandName } from './commands.js';
export type { CommandRoute } from './commands.js';

// Errors
export { GraphError, RequestValidationError, codeForStatus } from './errors.js';
export type { GraphErrorCode, GraphErrorDetails, Violation } from './errors.js';

// Auth
export { createMsalTokenProvider, clearMsalApplications, UndiciNetworkModule } from './auth.js';
export type { GetToken, MsalTokenProvider, MsalTokenProviderOptions, ClientCertificate, TokenNetworkFailure } from './auth.js';

// Request builders
export { buildCreateCall, validateCallRequest, parseTeamsJoinUrl, requiredPermissions, scenarioOf } from './builders.js';
export type {
  CreateCallSpec,
  PeerToPeerCallSpec,
  GroupCallSpec,
  PstnCallSpec,
  JoinMeetingSpec,
  MeetingRef,
  MediaSpec,
  UserRef,
  AppRef,
  TeamsJoinInfo,
  ValidationOptions,
  RequiredPermissions,
  CallScenario,
} from './builders.js';

// Validation of every command's body
export { validateCommandBody } from './validate.js';

// Logger and body types
export { silentGraphLogger } from './logger.js';
export type { GraphLogger } from './logger.js';
export type * from './types.js';
