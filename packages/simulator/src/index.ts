// The simulator
export { createSimulator } from './simulator.js';
export type { Simulator } from './simulator.js';

// Options, scripts and ground-truth shapes
export type {
  AppRegistration,
  AttendeeSpec,
  CallerSpec,
  DeliveryFault,
  DeliveryRecord,
  FaultOptions,
  GraphTimings,
  GroundTruthCall,
  IncomingCallOptions,
  Json,
  NotificationRecord,
  OperationTruth,
  ParticipantTruth,
  RawDeliveryOptions,
  RemoteBehaviour,
  RemoteScript,
  RequestRecord,
  Script,
  ScriptStep,
  SimulatorLogger,
  SimulatorOptions,
} from './types.js';

// Constants a receiver needs to verify webhook tokens
export { WEBHOOK_ISSUER, GRAPH_AUDIENCES } from './identity.js';
