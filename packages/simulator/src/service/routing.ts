import type { SimCall } from '../call.js';
import { badRequest } from '../http.js';
import type { Json } from '../types.js';
import { asObject, checkOneOf } from '../validate.js';
import type { Reply, ServiceContext } from './context.js';
import { requireActive } from './operations.js';

/** Audio routing groups: which participants hear which (app-hosted media), by participant id. */

/** POST /calls/{id}/audioRoutingGroups: 201 with the group; sources and receivers must be participants of the call. */
export function createAudioRoutingGroup(ctx: ServiceContext, call: SimCall, body: unknown): Reply {
  requireActive(call, 'create an audio routing group');
  const b = asObject(body);
  const routingMode = checkOneOf(b['routingMode'], ['oneToOne', 'multicast'] as const, 'routingMode');
  const sources = participantIds(call, b['sources'], 'sources');
  const receivers = participantIds(call, b['receivers'], 'receivers');
  if (routingMode === 'oneToOne' && sources.length !== 1) throw badRequest('A oneToOne audio routing group has exactly one source.');
  const id = typeof b['id'] === 'string' && b['id'].length > 0 ? b['id'] : call.rng.uuid();
  if (call.audioRoutingGroups.has(id)) throw badRequest(`The audio routing group '${id}' already exists.`);
  const group: Json = { '@odata.type': '#microsoft.graph.audioRoutingGroup', id, routingMode, sources, receivers };
  call.audioRoutingGroups.set(id, group);
  return {
    status: 201,
    body: group,
    headers: { Location: `${ctx.o.baseUrl()}/${call.apiVersion}/communications/calls/${call.id}/audioRoutingGroups/${id}` },
  };
}

/** GET /calls/{id}/audioRoutingGroups. */
export function listAudioRoutingGroups(ctx: ServiceContext, call: SimCall): Json {
  return {
    '@odata.context': `${ctx.o.baseUrl()}/${call.apiVersion}/$metadata#communications/calls('${call.id}')/audioRoutingGroups`,
    value: [...call.audioRoutingGroups.values()],
  };
}

function participantIds(call: SimCall, value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string')) {
    throw badRequest(`${field} is required: a list of participant ids.`);
  }
  for (const id of value as string[]) {
    if (!call.participants.has(id)) throw badRequest(`${field}: '${id}' is not a participant of the call.`);
  }
  return value as string[];
}
