import { describe, expect, it } from 'vitest';
import { buildCreateCall, parseTeamsJoinUrl, requiredPermissions, validateCallRequest } from './builders.js';
import { RequestValidationError } from './errors.js';

const CB = 'https://bot.contoso.com/callback';
// the call resource page's example (https://learn.microsoft.com/en-us/graph/api/resources/call)
const JOIN_URL =
  'https://teams.microsoft.com/l/meetup-join/19%3ameeting_NTg0NmQ3NTctZDVkZC00YzRhLThmNmEtOGQ3M2E0ODdmZDZk%40thread.v2/0?context=%7b%22Tid%22%3a%2272f988bf-86f1-41af-91ab-2d7cd011db47%22%2c%22Oid%22%3a%224b444206-207c-42f8-92a6-e332b41c88a2%22%7d';

function violationsOf(f: () => unknown): { path: string; message: string }[] {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(RequestValidationError);
    expect((error as RequestValidationError).code).toBe('SWB_INVALID_ARGUMENT');
    return [...(error as RequestValidationError).violations];
  }
  throw new Error('expected a RequestValidationError');
}

describe('Teams join URL', () => {
  it('decodes the documented example', () => {
    expect(parseTeamsJoinUrl(JOIN_URL)).toEqual({
      threadId: '19:meeting_NTg0NmQ3NTctZDVkZC00YzRhLThmNmEtOGQ3M2E0ODdmZDZk@thread.v2',
      messageId: '0',
      tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      organizerId: '4b444206-207c-42f8-92a6-e332b41c88a2',
    });
  });

  it('a channel meeting URL carries the reply-chain message id', () => {
    const url = `https://teams.microsoft.com/l/meetup-join/19%3a0123abcd%40thread.skype/1600000000000?context=${encodeURIComponent(JSON.stringify({ Tid: 't1', Oid: 'o1', MessageId: '1599999999999' }))}`;
    expect(parseTeamsJoinUrl(url)).toEqual({
      threadId: '19:0123abcd@thread.skype',
      messageId: '1600000000000',
      tenantId: 't1',
      organizerId: 'o1',
      replyChainMessageId: '1599999999999',
    });
  });

  it('reports every problem of a bad URL', () => {
    const v = violationsOf(() => parseTeamsJoinUrl('http://evil.example.com/l/meetup-join/abc/0?context=%7B%22Tid%22%3A%22%22%7D'));
    expect(v).toEqual([
      { path: '$.joinUrl', message: 'must be https' },
      { path: '$.joinUrl', message: "host 'evil.example.com' is not a Teams host" },
      { path: '$.joinUrl', message: "thread id 'abc' is not a Teams thread (19:...@thread.v2)" },
      { path: '$.joinUrl?context.Tid', message: 'is required (the organizer tenant)' },
      { path: '$.joinUrl?context.Oid', message: 'is required (the organizer id)' },
    ]);
    expect(violationsOf(() => parseTeamsJoinUrl('not a url'))).toEqual([{ path: '$.joinUrl', message: 'is not a URL' }]);
  });
});

describe('create-call builders', () => {
  it('peer-to-peer VoIP with service-hosted media (create-call example 1 shape)', () => {
    const body = buildCreateCall({
      kind: 'peerToPeer',
      callbackUri: CB,
      target: { id: '8b081ef6-4792-4def-b2c9-c363a1bf41d5', displayName: 'John' },
      source: { id: 'dd3885da', displayName: 'TestBot' },
      subject: 'hi',
      ringingTimeoutInSeconds: 115,
    });
    expect(body).toEqual({
      '@odata.type': '#microsoft.graph.call',
      callbackUri: CB,
      subject: 'hi',
      direction: 'outgoing',
      requestedModalities: ['audio'],
      mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
      ringingTimeoutInSeconds: 115,
      source: {
        '@odata.type': '#microsoft.graph.participantInfo',
        identity: {
          '@odata.type': '#microsoft.graph.identitySet',
          application: { '@odata.type': '#microsoft.graph.identity', displayName: 'TestBot', id: 'dd3885da' },
        },
      },
      targets: [
        {
          '@odata.type': '#microsoft.graph.invitationParticipantInfo',
          identity: {
            '@odata.type': '#microsoft.graph.identitySet',
            user: { '@odata.type': '#microsoft.graph.identity', displayName: 'John', id: '8b081ef6-4792-4def-b2c9-c363a1bf41d5' },
          },
        },
      ],
    });
    expect(requiredPermissions(body)).toEqual({ scenario: 'peerToPeer', application: ['Calls.Initiate.All'], appHostedMedia: false });
  });

  it('group call: 2..5 VoIP users, Calls.InitiateGroupCall.All; app-hosted adds Calls.AccessMedia.All', () => {
    const body = buildCreateCall({
      kind: 'group',
      callbackUri: CB,
      targets: [{ id: 'u1' }, { id: 'u2' }],
      media: { kind: 'appHosted', blob: '<media config blob>', removeFromDefaultAudioGroup: false },
    });
    expect(body.mediaConfig).toEqual({
      '@odata.type': '#microsoft.graph.appHostedMediaConfig',
      blob: '<media config blob>',
      removeFromDefaultAudioGroup: false,
    });
    expect(requiredPermissions(body)).toEqual({
      scenario: 'group',
      application: ['Calls.InitiateGroupCall.All', 'Calls.AccessMedia.All'],
      appHostedMedia: true,
    });
    const six = Array.from({ length: 6 }, (_, i) => ({ id: `u${i}` }));
    expect(violationsOf(() => buildCreateCall({ kind: 'group', callbackUri: CB, targets: six }))).toEqual([
      { path: '$.targets', message: 'a group call takes at most 5 VoIP targets, got 6' },
    ]);
    expect(violationsOf(() => buildCreateCall({ kind: 'group', callbackUri: CB, targets: [{ id: 'u1' }, { id: 'U1' }] }))).toEqual([
      { path: '$.targets[1].identity.user.id', message: 'duplicates $.targets[0]' },
    ]);
  });

  it('join a scheduled meeting from a Teams join URL', () => {
    const body = buildCreateCall({
      kind: 'joinMeeting',
      callbackUri: CB,
      meeting: { joinUrl: JOIN_URL, allowConversationWithoutHost: true },
      media: {
        kind: 'serviceHosted',
        preFetchMedia: [{ uri: 'https://cdn.contoso.com/beep.wav', resourceId: 'f8971b04-b53e-418c-9222-c82ce681a582' }],
      },
    });
    expect(body.chatInfo).toEqual({
      '@odata.type': '#microsoft.graph.chatInfo',
      threadId: '19:meeting_NTg0NmQ3NTctZDVkZC00YzRhLThmNmEtOGQ3M2E0ODdmZDZk@thread.v2',
      messageId: '0',
    });
    expect(body.meetingInfo).toEqual({
      '@odata.type': '#microsoft.graph.organizerMeetingInfo',
      organizer: {
        '@odata.type': '#microsoft.graph.identitySet',
        user: {
          '@odata.type': '#microsoft.graph.identity',
          id: '4b444206-207c-42f8-92a6-e332b41c88a2',
          tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
        },
      },
      allowConversationWithoutHost: true,
    });
    expect(body.tenantId).toBe('72f988bf-86f1-41af-91ab-2d7cd011db47');
    expect(body.targets).toBeUndefined();
    expect(requiredPermissions(body)).toEqual({
      scenario: 'joinMeeting',
      application: ['Calls.JoinGroupCall.All'],
      rscAlternative: ['Calls.JoinGroupCalls.Chat'],
      appHostedMedia: false,
    });
  });

  it('join with organizer + chatInfo: both are required', () => {
    const ok = buildCreateCall({
      kind: 'joinMeeting',
      callbackUri: CB,
      tenantId: 't',
      meeting: { organizer: { id: 'o', tenantId: 't' }, chatInfo: { threadId: '19:meeting_x@thread.v2', messageId: '0' } },
    });
    expect(ok.chatInfo?.threadId).toBe('19:meeting_x@thread.v2');
    const v = violationsOf(() =>
      buildCreateCall({
        kind: 'joinMeeting',
        callbackUri: CB,
        meeting: { organizer: { id: '' }, chatInfo: { threadId: '', messageId: '' } },
      }),
    );
    expect(v.map((x) => x.path)).toEqual(['$.meetingInfo.organizer.user.id', '$.chatInfo.threadId', '$.chatInfo.messageId']);
  });

  it('join with joinMeetingId, with and without passcode', () => {
    const withPass = buildCreateCall({
      kind: 'joinMeeting',
      callbackUri: CB,
      tenantId: 't',
      meeting: { joinMeetingId: '1234567', passcode: 'psw123' },
    });
    expect(withPass.meetingInfo).toEqual({
      '@odata.type': '#microsoft.graph.joinMeetingIdMeetingInfo',
      joinMeetingId: '1234567',
      passcode: 'psw123',
    });
    const without = buildCreateCall({ kind: 'joinMeeting', callbackUri: CB, meeting: { joinMeetingId: '1234567' } });
    expect(without.meetingInfo).toEqual({ '@odata.type': '#microsoft.graph.joinMeetingIdMeetingInfo', joinMeetingId: '1234567' });
    expect(without.chatInfo).toBeUndefined();
    expect(violationsOf(() => buildCreateCall({ kind: 'joinMeeting', callbackUri: CB, meeting: { joinMeetingId: '' } }))).toEqual([
      { path: '$.meetingInfo.joinMeetingId', message: 'is required' },
    ]);
  });

  it('guest join: source.identity.guest and Calls.JoinGroupCallAsGuest.All', () => {
    const body = buildCreateCall({
      kind: 'joinMeeting',
      callbackUri: CB,
      guest: { id: 'd7a3b999', displayName: 'Guest User' },
      meeting: { joinUrl: JOIN_URL },
    });
    expect(body.source).toEqual({
      '@odata.type': '#microsoft.graph.participantInfo',
      identity: {
        '@odata.type': '#microsoft.graph.identitySet',
        guest: { '@odata.type': '#microsoft.graph.identity', displayName: 'Guest User', id: 'd7a3b999' },
      },
    });
    expect(requiredPermissions(body)).toEqual({
      scenario: 'joinMeetingAsGuest',
      application: ['Calls.JoinGroupCallAsGuest.All'],
      appHostedMedia: false,
    });
    // a guest can only join a meeting
    const raw = { ...body, meetingInfo: undefined, chatInfo: undefined, targets: [{ identity: { user: { id: 'u' } } }] };
    expect(validateCallRequest(raw)).toEqual([
      { path: '$.source.identity.guest', message: 'a guest identity can only join a meeting (meetingInfo is missing)' },
    ]);
  });

  it('PSTN: application instance source, E.164 target, tenant id', () => {
    const body = buildCreateCall({
      kind: 'pstn',
      callbackUri: CB,
      source: { id: '3d913abb', displayName: 'Calling Bot' },
      phone: '+12345678901',
      tenantId: 'aa67bd4c',
    });
    expect(body.source?.identity).toEqual({
      '@odata.type': '#microsoft.graph.identitySet',
      applicationInstance: { '@odata.type': '#microsoft.graph.identity', displayName: 'Calling Bot', id: '3d913abb' },
    });
    expect(body.targets?.[0]?.identity).toEqual({
      '@odata.type': '#microsoft.graph.identitySet',
      phone: { '@odata.type': '#microsoft.graph.identity', id: '+12345678901' },
    });
    expect(body.tenantId).toBe('aa67bd4c');
    expect(requiredPermissions(body)).toEqual({ scenario: 'pstn', application: ['Calls.Initiate.All'], appHostedMedia: false });
    // every PSTN problem at once
    const raw = {
      callbackUri: CB,
      requestedModalities: ['audio'],
      mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
      source: { identity: { application: { id: 'app' } } },
      targets: [{ identity: { phone: { id: '12345' } } }],
    };
    expect(validateCallRequest(raw)).toEqual([
      { path: '$.targets[0].identity.phone.id', message: "'12345' is not an E.164 phone number (+12345678901)" },
      {
        path: '$.source.identity.applicationInstance',
        message: 'a PSTN call needs an application instance (with a phone number) as its source',
      },
      { path: '$.tenantId', message: 'is required for a PSTN call' },
    ]);
  });

  it('reports every violation of a body at once, with paths', () => {
    const raw = {
      callbackUri: 'http://bot.contoso.com/cb',
      requestedModalities: ['audio', 'smell'],
      mediaConfig: {
        '@odata.type': '#microsoft.graph.serviceHostedMediaConfig',
        preFetchMedia: [{ uri: 'http://cdn/beep.wav' }],
        removeFromDefaultAudioGroup: 'no',
      },
      ringingTimeoutInSeconds: 116,
      chatInfo: { threadId: 'x', messageId: '0' },
      targets: [{ identity: { user: { id: 'u1' }, phone: { id: '+1555' } } }, { identity: {} }],
    };
    expect(validateCallRequest(raw)).toEqual([
      { path: '$.callbackUri', message: 'must be https' },
      { path: '$.requestedModalities[1]', message: "'smell' is not one of audio, video, videoBasedScreenSharing, data" },
      { path: '$.mediaConfig.removeFromDefaultAudioGroup', message: 'must be a boolean' },
      { path: '$.mediaConfig.preFetchMedia[0].uri', message: 'must be an https URL' },
      { path: '$.mediaConfig.preFetchMedia[0].resourceId', message: 'is required (the cache key of the prefetched media)' },
      { path: '$.ringingTimeoutInSeconds', message: 'must be an integer from 1 to 115' },
      { path: '$.chatInfo', message: 'only a meeting join (with meetingInfo) takes chatInfo' },
      { path: '$.targets[0].identity', message: 'holds user and phone; give exactly one identity' },
      { path: '$.targets[1].identity', message: 'must hold one of user, application, applicationInstance, phone, guest' },
    ]);
    expect(validateCallRequest(null)).toEqual([{ path: '$', message: 'must be a call object' }]);
    const appHosted = {
      callbackUri: CB,
      requestedModalities: ['audio'],
      mediaConfig: { '@odata.type': '#microsoft.graph.appHostedMediaConfig' },
      targets: [{ identity: { user: { id: 'u' } } }],
    };
    expect(validateCallRequest(appHosted)).toEqual([
      { path: '$.mediaConfig.blob', message: 'is required (the media session blob from the media platform)' },
    ]);
  });

  it('http callback URIs only to loopback and only with allowInsecureCallback', () => {
    const spec = { kind: 'peerToPeer', callbackUri: 'http://127.0.0.1:3978/api/calls', target: { id: 'u' } } as const;
    expect(violationsOf(() => buildCreateCall(spec))).toEqual([
      { path: '$.callbackUri', message: 'must be https (http to loopback needs allowInsecureCallback, for the simulator only)' },
    ]);
    expect(buildCreateCall(spec, { allowInsecureCallback: true }).callbackUri).toBe('http://127.0.0.1:3978/api/calls');
    expect(buildCreateCall({ ...spec, callbackUri: 'http://localhost:3978/api/calls' }, { allowInsecureCallback: true }).callbackUri).toBe(
      'http://localhost:3978/api/calls',
    );
    expect(
      violationsOf(() => buildCreateCall({ ...spec, callbackUri: 'http://bot.example.com/cb' }, { allowInsecureCallback: true })),
    ).toEqual([{ path: '$.callbackUri', message: 'must be https' }]);
  });

  it('a bad join URL is reported with the spec path, next to the body violations', () => {
    const v = violationsOf(() =>
      buildCreateCall({
        kind: 'joinMeeting',
        callbackUri: 'ftp://x',
        meeting: { joinUrl: 'https://teams.microsoft.com/l/meetup-join/19%3ameeting_a%40thread.v2/0' },
      }),
    );
    expect(v).toEqual([
      { path: '$.meeting.joinUrl?context', message: 'is missing (it carries Tid and Oid)' },
      { path: '$.callbackUri', message: 'must be https' },
    ]);
  });
});
