import { sessionJson, type SimCall, type SimOperation } from '../call.js';
import { badRequest, notFound } from '../http.js';
import { RESULTS, resultInfo } from '../notifications.js';
import type { Json } from '../types.js';
import { asObject, checkOneOf, checkPrompts, checkTones, clientContextOf } from '../validate.js';
import type { Reply, ServiceContext } from './context.js';
import { completeOperation, newOperation, operationReply, requireActive } from './operations.js';
import { emit, rosterChanged, startSharing, stopSharing, timer } from './plumbing.js';

/**
 * Media (IVR) operations: prompts and recordings queue per call and run one after another,
 * tones, mute, recording status, and content sharing.
 */

/** POST /calls/{id}/playPrompt: queued behind the call's other media operations; `loop` plays until cancelled. */
export function playPrompt(ctx: ServiceContext, call: SimCall, body: unknown): Reply {
  requireActive(call, 'play a prompt');
  const b = asObject(body);
  const prompts = checkPrompts(b['prompts'], true);
  const op = newOperation(call, 'playPromptOperation', 'running', { prompts }, clientContextOf(b).clientContext);
  const duration = b['loop'] === true ? undefined : ctx.o.timings.promptMs * prompts.length;
  enqueueMedia(ctx, call, op, duration, () =>
    completeOperation(ctx, call, op, 'completed', RESULTS.actionCompleted(), { completionReason: 'completedSuccessfully' }),
  );
  return operationReply(ctx, call, op, 200);
}

/** POST /calls/{id}/recordResponse: queued like a prompt; ends at its maximum duration or a stop tone. */
export function record(ctx: ServiceContext, call: SimCall, body: unknown): Reply {
  requireActive(call, 'record a response');
  const b = asObject(body);
  const prompts = checkPrompts(b['prompts'], false);
  const max = b['maxRecordDurationInSeconds'];
  if (max !== undefined && (typeof max !== 'number' || max < 1 || max > 120)) {
    throw badRequest('maxRecordDurationInSeconds must be between 1 and 120.');
  }
  const stopTones = Array.isArray(b['stopTones']) ? b['stopTones'].filter((t): t is string => typeof t === 'string') : [];
  const op = newOperation(call, 'recordOperation', 'running', { recordingLocation: null }, clientContextOf(b).clientContext);
  op.stopTones = stopTones;
  op.recordMaxSeconds = typeof max === 'number' ? max : 5;
  const duration = ctx.o.timings.promptMs * prompts.length + (typeof max === 'number' ? max : 5) * 1000;
  enqueueMedia(ctx, call, op, duration, () => finishRecording(ctx, call, op, 'maxRecordDurationReached'));
  return operationReply(ctx, call, op, 200);
}

/** A recording ends: completed, with where the recording is and the reason. */
export function finishRecording(
  ctx: ServiceContext,
  call: SimCall,
  op: SimOperation,
  reason: 'maxRecordDurationReached' | 'stopToneDetected',
): void {
  const info =
    reason === 'maxRecordDurationReached'
      ? resultInfo(200, 8515, 'Action completed, max record duration reached.')
      : resultInfo(200, 8514, 'Action completed, stop tone detected.');
  const accessToken = call.rng.hex(40);
  const maxSeconds = op.recordMaxSeconds ?? 5;
  const now = ctx.o.scheduler.now();
  // a stop tone ends it early: as long as it ran (its prompts included, at most the maximum)
  const seconds =
    reason === 'maxRecordDurationReached' || op.startedAt === undefined
      ? maxSeconds
      : Math.min(maxSeconds, Math.max(0, Math.round((now - op.startedAt) / 100) / 10));
  ctx.recordings.set(op.id, {
    id: op.id,
    callId: call.id,
    accessToken,
    expiresAt: now + ctx.o.timings.recordingAccessMs,
    bytes: toneWav(seconds),
  });
  completeOperation(ctx, call, op, 'completed', info, {
    completionReason: reason,
    recordingLocation: `${ctx.o.baseUrl()}/recordings/${op.id}`,
    recordingAccessToken: accessToken,
  });
}

/** A WAV file of `seconds` of a 440 Hz tone: 8 kHz, 16-bit mono PCM (no randomness: the seeded streams stay as they were). */
function toneWav(seconds: number): Buffer {
  const rate = 8_000;
  const samples = Math.round(seconds * rate);
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.write('WAVE', 8, 'ascii');
  wav.write('fmt ', 12, 'ascii');
  wav.writeUInt32LE(16, 16); // fmt chunk size
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(rate, 24);
  wav.writeUInt32LE(rate * 2, 28); // bytes per second
  wav.writeUInt16LE(2, 32); // block align
  wav.writeUInt16LE(16, 34); // bits per sample
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) wav.writeInt16LE(Math.round(8_000 * Math.sin((2 * Math.PI * 440 * i) / rate)), 44 + i * 2);
  return wav;
}

/**
 * GET /recordings/{id}: the recording, to a request bearing its access token until it
 * expires; 401 for a missing, wrong or expired token, 404 for an unknown id.
 */
export function serveRecording(ctx: ServiceContext, id: string, authorization: string | undefined): Reply {
  const recording = ctx.recordings.get(id);
  const bearer = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1];
  const challenge = { 'WWW-Authenticate': 'Bearer error="invalid_token"' };
  if (bearer === undefined)
    return { status: 401, body: { error: { code: 'Unauthorized', message: 'No access token.' } }, headers: challenge };
  if (!recording) return { status: 404, body: { error: { code: 'NotFound', message: `No recording '${id}'.` } } };
  if (bearer !== recording.accessToken)
    return {
      status: 401,
      body: { error: { code: 'Unauthorized', message: 'The access token is not valid for this recording.' } },
      headers: challenge,
    };
  if (ctx.o.scheduler.now() > recording.expiresAt)
    return { status: 401, body: { error: { code: 'Unauthorized', message: 'The access token has expired.' } }, headers: challenge };
  return { status: 200, body: recording.bytes, headers: { 'Content-Type': 'audio/wav' } };
}

/** POST /calls/{id}/subscribeToTone: from now on the caller's tones are notified. */
export function subscribeToTone(ctx: ServiceContext, call: SimCall, body: unknown): Reply {
  requireActive(call, 'subscribe to tones');
  const op = newOperation(call, 'subscribeToToneOperation', 'completed', {}, clientContextOf(asObject(body)).clientContext);
  call.toneSubscribed = true;
  return operationReply(ctx, call, op, 200);
}

/** POST /calls/{id}/sendDtmfTones: completes once every tone was played. */
export function sendDtmfTones(ctx: ServiceContext, call: SimCall, body: unknown): Reply {
  requireActive(call, 'send DTMF tones');
  const b = asObject(body);
  const tones = checkTones(b['tones']);
  const delay = typeof b['delayBetweenTonesMs'] === 'number' ? b['delayBetweenTonesMs'] : 500;
  const op = newOperation(call, 'sendDtmfTonesOperation', 'running', {}, clientContextOf(b).clientContext);
  op.completion = timer(ctx, call, tones.length * delay, () =>
    completeOperation(ctx, call, op, 'completed', undefined, { completionReason: 'completedSuccessfully' }),
  );
  return operationReply(ctx, call, op, 200);
}

/** Cancels the running and queued playPrompt / record operations ("failed", 400/8508). */
export function cancelMediaProcessing(ctx: ServiceContext, call: SimCall, body: unknown): Reply {
  requireActive(call, 'cancel media processing');
  const op = newOperation(call, 'cancelMediaProcessingOperation', 'completed', {}, clientContextOf(asObject(body)).clientContext);
  const queue = ctx.mediaQueues.get(call.id) ?? [];
  ctx.mediaQueues.set(call.id, []);
  for (const cancelled of queue) {
    cancelled.completion?.cancel();
    const reason = cancelled.type === 'recordOperation' ? 'operationCanceled' : 'mediaOperationCanceled';
    const extra: Json =
      cancelled.type === 'recordOperation'
        ? { recordingLocation: '', recordingAccessToken: '', completionReason: reason }
        : { completionReason: reason };
    completeOperation(ctx, call, cancelled, 'failed', RESULTS.operationCancelled(), extra);
  }
  return operationReply(ctx, call, op, 200);
}

/** Media operations run one after another; each completes after its duration (none: loops until cancelled). */
function enqueueMedia(ctx: ServiceContext, call: SimCall, op: SimOperation, duration: number | undefined, complete: () => void): void {
  const queue = ctx.mediaQueues.get(call.id) ?? [];
  ctx.mediaQueues.set(call.id, queue);
  queue.push(op);
  op.start = () => {
    op.startedAt = ctx.o.scheduler.now();
    if (duration === undefined) return;
    op.completion = timer(ctx, call, duration, () => {
      const q = ctx.mediaQueues.get(call.id) ?? [];
      const i = q.indexOf(op);
      if (i >= 0) q.splice(i, 1);
      complete();
      q[0]?.start?.();
    });
  };
  if (queue.length === 1) op.start();
}

/** POST /calls/{id}/mute or /unmute: the bot's own microphone; the roster changes when it did. */
export function muteSelf(ctx: ServiceContext, call: SimCall, body: unknown, mute: boolean): Reply {
  requireActive(call, mute ? 'mute' : 'unmute');
  const op = newOperation(
    call,
    mute ? 'muteParticipantOperation' : 'unmuteParticipantOperation',
    'completed',
    {},
    clientContextOf(asObject(body)).clientContext,
  );
  const bot = call.bot();
  if (bot && bot.isMuted !== mute) {
    bot.isMuted = mute;
    emit(ctx, call, rosterChanged(call));
  }
  return operationReply(ctx, call, op, 200);
}

/** POST /calls/{id}/updateRecordingStatus: notRecording, recording or failed. */
export function updateRecordingStatus(ctx: ServiceContext, call: SimCall, body: unknown): Reply {
  requireActive(call, 'update the recording status');
  const b = asObject(body);
  const status = checkOneOf(b['status'], ['notRecording', 'recording', 'failed'] as const, 'status');
  const op = newOperation(call, 'updateRecordingStatusOperation', 'completed', {}, clientContextOf(b).clientContext);
  call.recordingStatus = status;
  return operationReply(ctx, call, op, 200);
}

/**
 * beta: POST /calls/{id}/startRecording or /stopRecording: the recording status changes at
 * once and the operation is completed in the answer.
 */
export function recording(ctx: ServiceContext, call: SimCall, body: unknown, start: boolean): Reply {
  requireActive(call, start ? 'start recording' : 'stop recording');
  const op = newOperation(
    call,
    start ? 'startRecordingOperation' : 'stopRecordingOperation',
    'completed',
    {},
    clientContextOf(asObject(body)).clientContext,
  );
  call.recordingStatus = start ? 'recording' : 'notRecording';
  return operationReply(ctx, call, op, 200);
}

/**
 * beta: POST /calls/{id}/startTranscription or /stopTranscription: the call's `transcription`
 * (a `callTranscriptionInfo`) turns `active` or `inactive`; the operation is completed in the answer.
 */
export function transcription(ctx: ServiceContext, call: SimCall, body: unknown, start: boolean): Reply {
  requireActive(call, start ? 'start transcription' : 'stop transcription');
  const op = newOperation(
    call,
    start ? 'startTranscriptionOperation' : 'stopTranscriptionOperation',
    'completed',
    {},
    clientContextOf(asObject(body)).clientContext,
  );
  call.transcriptionActive = start;
  call.resource['transcription'] = {
    '@odata.type': '#microsoft.graph.callTranscriptionInfo',
    state: start ? 'active' : 'inactive',
    lastModifiedDateTime: new Date(ctx.o.scheduler.now()).toISOString(),
  };
  return operationReply(ctx, call, op, 200);
}

/** POST /calls/{id}/addLargeGalleryView: the bot's video shows the large gallery; completed in the answer. */
export function addLargeGalleryView(ctx: ServiceContext, call: SimCall, body: unknown): Reply {
  requireActive(call, 'add the large gallery view');
  const op = newOperation(call, 'addLargeGalleryViewOperation', 'completed', {}, clientContextOf(asObject(body)).clientContext);
  return operationReply(ctx, call, op, 200);
}

/** `sharer` starts a content-sharing session for the bot, `viewer` ends it. */
export function changeScreenSharingRole(ctx: ServiceContext, call: SimCall, body: unknown): Reply {
  requireActive(call, 'change the screen sharing role');
  const role = checkOneOf(asObject(body)['role'], ['viewer', 'sharer'] as const, 'role');
  if (role === 'sharer') startSharing(ctx, call, call.myParticipantId);
  else stopSharing(ctx, call, call.myParticipantId);
  return { status: 200 };
}

/** GET /calls/{id}/contentSharingSessions: the sessions not ended. */
export function listSessions(call: SimCall): Json {
  return { value: [...call.sessions.values()].filter((s) => !s.deleted).map(sessionJson) };
}

/** GET /calls/{id}/contentSharingSessions/{sessionId}, 404 once ended. */
export function getSession(call: SimCall, sessionId: string): Json {
  const s = call.sessions.get(sessionId);
  if (!s || s.deleted) throw notFound(`The content sharing session '${sessionId}' was not found.`);
  return sessionJson(s);
}
