/**
 * `@switchboard/core/testing`: fast-check arbitraries for Graph notifications and delivery
 * schedules, so bot authors can property-test their own handlers. Needs `fast-check` (a peer
 * dependency).
 */
export { arbCallScenario, arbDeliverySchedule, arbMeetingRoster, arbStateNoise, arbToggleScenario } from './arbitraries.js';
export type { CallScenario, MeetingRoster, ToggleScenario } from './arbitraries.js';
export {
  notificationBody,
  callStateBody,
  participantResource,
  rosterBody,
  operationBody,
  toneBody,
  contentSharingBody,
} from './scenarios.js';
export type { ParticipantSpec } from './scenarios.js';
export { seededRandom } from '../util/random.js';
