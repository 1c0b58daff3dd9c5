import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { CommandName } from '@switchboard/core';
import { commandOf } from '@switchboard/core/replay';
import { createGraphClient, type GraphClient, type GraphClientOptions } from './client.js';
import { COMMAND_ROUTES } from './commands.js';
import { RequestValidationError } from './errors.js';
import * as transport from '../index.js';
import { validateCommandBody } from './validate.js';

/*
 * Every command's body validation, table-driven: for each command the request examples of its
 * Graph reference page (v1.0, or beta for beta-only methods) must pass, and broken bodies must
 * report exactly the expected JSON paths. Then the recorded and documented traffic of the
 * fixtures must pass, and the client must refuse an invalid body before any network traffic.
 */

const CB = 'https://bot.contoso.com/api/calls/24701998-1a73-4d42-8085-bf46ed0ae039';
const SERVICE_MEDIA = { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' };
const PROMPT = {
  '@odata.type': '#microsoft.graph.mediaPrompt',
  mediaInfo: {
    '@odata.type': '#microsoft.graph.mediaInfo',
    uri: 'https://cdn.contoso.com/beep.wav',
    resourceId: '1D6DE2D4-CD51-4309-8DAA-70768651088E',
  },
};
const USER_TARGET = {
  '@odata.type': '#microsoft.graph.invitationParticipantInfo',
  identity: {
    '@odata.type': '#microsoft.graph.identitySet',
    user: { '@odata.type': '#microsoft.graph.identity', displayName: 'test user', id: '98da8a1a-1b87-452c-a713-65d3f10b1253' },
  },
};
const LONG = 'x'.repeat(257);

interface Valid {
  readonly name: string;
  readonly body: unknown;
  readonly options?: { readonly allowInsecureCallback?: boolean };
}
interface Invalid extends Valid {
  /** Every violation's path, in any order (duplicates kept). */
  readonly paths: readonly string[];
}
interface Cases {
  readonly valid: readonly Valid[];
  readonly invalid: readonly Invalid[];
}

/** Commands whose whole body is an optional clientContext. */
const clientContextOnly = (example: string): Cases => ({
  valid: [
    { name: 'the page example', body: { clientContext: example } },
    { name: 'an empty body', body: {} },
    { name: 'no body at all (the client sends {})', body: undefined },
  ],
  invalid: [
    { name: 'clientContext not a string', body: { clientContext: 42 }, paths: ['$.clientContext'] },
    { name: 'clientContext over 256 characters', body: { clientContext: LONG }, paths: ['$.clientContext'] },
    { name: 'a body that is not an object', body: ['clientContext'], paths: ['$'] },
  ],
});

const CASES: { readonly [C in CommandName]?: Cases } = {
  // api/call-answer.md (v1.0)
  answer: {
    valid: [
      {
        name: 'example 1: service-hosted media with prefetched prompts',
        body: {
          callbackUri: 'https://bot.contoso.com/api/calls',
          acceptedModalities: ['audio'],
          mediaConfig: {
            '@odata.type': '#microsoft.graph.serviceHostedMediaConfig',
            preFetchMedia: [
              { uri: 'https://cdn.contoso.com/beep.wav', resourceId: '1D6DE2D4-CD51-4309-8DAA-70768651088E' },
              { uri: 'https://cdn.contoso.com/cool.wav', resourceId: '1D6DE2D4-CD51-4309-8DAA-70768651088F' },
            ],
          },
        },
      },
      {
        // the page's first example, with a real URL for its "callbackUri-value" placeholder
        name: 'app-hosted media, incomingCallOptions and participantCapacity',
        body: {
          callbackUri: 'https://bot.contoso.com/api/calls',
          mediaConfig: { '@odata.type': '#microsoft.graph.appHostedMediaConfig', blob: '<Media Session Configuration Blob>' },
          acceptedModalities: ['audio'],
          callOptions: { '@odata.type': '#microsoft.graph.incomingCallOptions', isContentSharingNotificationEnabled: true },
          participantCapacity: 200,
        },
      },
      {
        name: 'no callbackUri: the app registration default is used',
        body: { acceptedModalities: ['audio', 'video', 'videoBasedScreenSharing'], mediaConfig: SERVICE_MEDIA },
      },
      {
        name: 'loopback http with allowInsecureCallback',
        body: { callbackUri: 'http://127.0.0.1:3978/api/calls', acceptedModalities: ['audio'], mediaConfig: SERVICE_MEDIA },
        options: { allowInsecureCallback: true },
      },
    ],
    invalid: [
      { name: 'an empty body', body: {}, paths: ['$.acceptedModalities', '$.mediaConfig'] },
      {
        name: 'plain http, a modality answer does not take, app-hosted media without its blob, a negative capacity',
        body: {
          callbackUri: 'http://bot.contoso.com/cb',
          acceptedModalities: ['audio', 'data'],
          mediaConfig: { '@odata.type': '#microsoft.graph.appHostedMediaConfig' },
          participantCapacity: -1,
        },
        paths: ['$.callbackUri', '$.acceptedModalities[1]', '$.mediaConfig.blob', '$.participantCapacity'],
      },
      {
        name: 'loopback http without allowInsecureCallback',
        body: { callbackUri: 'http://127.0.0.1:3978/api/calls', acceptedModalities: ['audio'], mediaConfig: SERVICE_MEDIA },
        paths: ['$.callbackUri'],
      },
      {
        name: 'an empty modality list and an unknown media config',
        body: { acceptedModalities: [], mediaConfig: { '@odata.type': '#microsoft.graph.mediaConfig' } },
        paths: ['$.acceptedModalities', "$.mediaConfig['@odata.type']"],
      },
      {
        name: 'modalities as a string, callOptions as a string',
        body: { acceptedModalities: 'audio', mediaConfig: SERVICE_MEDIA, callOptions: 'none' },
        paths: ['$.acceptedModalities', '$.callOptions'],
      },
    ],
  },
  // api/call-reject.md (v1.0): the table lists None, Busy, Forbidden; the examples send busy and none
  reject: {
    valid: [
      { name: 'example 1: busy', body: { reason: 'busy' } },
      { name: 'example 2: none', body: { reason: 'none' } },
      { name: 'the table casing, with a callbackUri', body: { reason: 'Forbidden', callbackUri: CB } },
      { name: 'no reason', body: {} },
      { name: 'no body at all', body: undefined },
    ],
    invalid: [
      { name: 'a reason Graph does not know', body: { reason: 'later' }, paths: ['$.reason'] },
      {
        name: 'a number for a reason, an ftp callback',
        body: { reason: 1, callbackUri: 'ftp://bot.contoso.com/cb' },
        paths: ['$.reason', '$.callbackUri'],
      },
      { name: 'a callbackUri that is no URL', body: { reason: 'busy', callbackUri: 'callbackUri-value' }, paths: ['$.callbackUri'] },
    ],
  },
  // api/call-redirect.md (v1.0)
  redirect: {
    valid: [
      {
        name: 'example 1: forward to an application',
        body: {
          targets: [
            {
              '@odata.type': '#microsoft.graph.invitationParticipantInfo',
              identity: {
                '@odata.type': '#microsoft.graph.identitySet',
                application: {
                  '@odata.type': '#microsoft.graph.identity',
                  displayName: 'test bot 2',
                  id: '22bfd41f-550e-477d-8789-f6f7bd2a5e8b',
                },
              },
            },
          ],
          callbackUri: CB,
        },
      },
      {
        name: 'example 2: simultaneous ring, with routingPolicies (not in the table, passed through)',
        body: {
          targets: [
            USER_TARGET,
            {
              ...USER_TARGET,
              identity: {
                ...USER_TARGET.identity,
                user: {
                  '@odata.type': '#microsoft.graph.identity',
                  displayName: 'test user 2',
                  id: 'bf5aae9a-d11d-47a8-93b1-782504c9c3f3',
                },
              },
            },
          ],
          routingPolicies: ['disableForwarding'],
          callbackUri: CB,
        },
      },
      {
        name: 'example 3: forward to a PSTN number',
        body: {
          targets: [
            {
              '@odata.type': '#microsoft.graph.invitationParticipantInfo',
              identity: {
                '@odata.type': '#microsoft.graph.identitySet',
                phone: { '@odata.type': '#microsoft.graph.identity', id: '+12345678901' },
              },
            },
          ],
          callbackUri: CB,
        },
      },
      {
        name: '25 targets and the longest timeout',
        body: { targets: Array.from({ length: 25 }, (_, i) => ({ identity: { user: { id: `u${i}` } } })), timeout: 90 },
      },
      { name: 'the shortest timeout', body: { targets: [USER_TARGET], timeout: 15 } },
    ],
    invalid: [
      { name: 'no targets', body: {}, paths: ['$.targets'] },
      { name: 'an empty target list', body: { targets: [] }, paths: ['$.targets'] },
      {
        name: '26 targets',
        body: { targets: Array.from({ length: 26 }, (_, i) => ({ identity: { user: { id: `u${i}` } } })) },
        paths: ['$.targets'],
      },
      {
        name: 'a target naming nobody, a timeout under 15 s',
        body: { targets: [{ identity: {} }], timeout: 10 },
        paths: ['$.targets[0].identity', '$.timeout'],
      },
      {
        name: 'a phone number not in E.164, a fractional timeout over 90 s, a bad callback',
        body: { targets: [{ identity: { phone: { id: '555-1234' } } }], timeout: 91.5, callbackUri: 'not a url' },
        paths: ['$.targets[0].identity.phone.id', '$.timeout', '$.callbackUri'],
      },
      { name: 'a timeout of 91 s', body: { targets: [USER_TARGET], timeout: 91 }, paths: ['$.timeout'] },
      { name: 'targets that are not objects', body: { targets: [null, 'u1'] }, paths: ['$.targets[0]', '$.targets[1]'] },
      {
        name: 'an unknown endpoint type, a user without an id',
        body: { targets: [{ endpointType: 'pager', identity: { user: { displayName: 'no id' } } }] },
        paths: ['$.targets[0].endpointType', '$.targets[0].identity.user.id'],
      },
    ],
  },
  // api/call-transfer.md (v1.0)
  transfer: {
    valid: [
      {
        name: 'example 1: peer-to-peer',
        body: {
          transferTarget: {
            endpointType: 'default',
            identity: { user: { id: '550fae72-d251-43ec-868c-373732c2704f', displayName: 'Heidi Steen' } },
          },
        },
      },
      {
        name: 'example 2: consultative (replacesCallId)',
        body: {
          transferTarget: {
            '@odata.type': '#microsoft.graph.invitationParticipantInfo',
            endpointType: 'default',
            identity: {
              '@odata.type': '#microsoft.graph.identitySet',
              user: { '@odata.type': '#microsoft.graph.identity', id: '550fae72-d251-43ec-868c-373732c2704f', displayName: 'Heidi Steen' },
            },
            replacesCallId: 'e5d39592-99bd-4db8-bca8-30fb894ec51d',
          },
        },
      },
      {
        name: 'example 3: to a PSTN number, with languageId, region and clientContext',
        body: {
          transferTarget: {
            endpointType: 'default',
            identity: { phone: { '@odata.type': '#microsoft.graph.identity', id: '+12345678901' } },
            languageId: 'languageId-value',
            region: 'region-value',
          },
          clientContext: '9e90d1c1-f61e-43e7-9f75-d420159aae08',
        },
      },
      {
        name: 'example 4: consultative to a PSTN number',
        body: {
          transferTarget: {
            '@odata.type': '#microsoft.graph.invitationParticipantInfo',
            endpointType: 'default',
            identity: {
              '@odata.type': '#microsoft.graph.identitySet',
              phone: { '@odata.type': '#microsoft.graph.identity', id: '+12345678901' },
            },
            languageId: 'en-us',
            region: 'amer',
            replacesCallId: 'e5d39592-99bd-4db8-bca8-30fb894ec51d',
          },
          clientContext: '9e90d1c1-f61e-43e7-9f75-d420159aae08',
        },
      },
      {
        // the page's JSON misses a brace and nests transferee in transferTarget; its note says transferee is a body parameter
        name: 'example 5: from a group call, with the transferee',
        body: {
          transferTarget: {
            endpointType: 'default',
            identity: { user: { id: '550fae72-d251-43ec-868c-373732c2704f', displayName: 'Heidi Steen' } },
          },
          transferee: {
            identity: { user: { id: '751f6800-3180-414d-bd94-333364659951', tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47' } },
            participantId: '909c6581-5130-43e9-88f3-fcb3582cde37',
          },
        },
      },
      { name: 'no endpointType (the demo bot sends this)', body: { transferTarget: USER_TARGET } },
    ],
    invalid: [
      { name: 'no transferTarget', body: {}, paths: ['$.transferTarget'] },
      {
        name: 'an unknown endpoint type, a user without an id',
        body: { transferTarget: { endpointType: 'phone', identity: { user: { displayName: 'x' } } } },
        paths: ['$.transferTarget.endpointType', '$.transferTarget.identity.user.id'],
      },
      {
        name: 'a transferee without identity, an empty participantId',
        body: { transferTarget: USER_TARGET, transferee: { participantId: '' } },
        paths: ['$.transferee.identity', '$.transferee.participantId'],
      },
      { name: 'a transferee given as a bare id', body: { transferTarget: USER_TARGET, transferee: 'p1' }, paths: ['$.transferee'] },
      {
        name: 'a transferTarget without identity, a clientContext over 256 characters',
        body: { transferTarget: { endpointType: 'default' }, clientContext: LONG },
        paths: ['$.transferTarget.identity', '$.clientContext'],
      },
      { name: 'a transfer target list instead of one target', body: { transferTarget: [USER_TARGET] }, paths: ['$.transferTarget'] },
    ],
  },
  // api/participant-invite.md (v1.0); the fixtures' copies are checked below too
  invite: {
    valid: [
      {
        name: 'example 1: one participant replacing a call',
        body: {
          participants: [
            {
              '@odata.type': '#microsoft.graph.invitationParticipantInfo',
              replacesCallId: 'a7ebfb2d-871e-419c-87af-27290b22e8db',
              identity: {
                '@odata.type': '#microsoft.graph.identitySet',
                user: { '@odata.type': '#microsoft.graph.identity', id: '278405a3-f568-4b3e-b684-009193463064', identityProvider: 'AAD' },
              },
            },
          ],
          clientContext: 'f2fa86af-3c51-4bc2-8fc0-475452d9764f',
        },
      },
      {
        name: 'a PSTN participant',
        body: { participants: [{ identity: { phone: { id: '+12345678901' } } }], clientContext: 'f2fa86af-3c51-4bc2-8fc0-475452d9764f' },
      },
      {
        name: 'moving a participant (participantId), hidden',
        body: {
          participants: [
            {
              ...USER_TARGET,
              participantId: '7d501bf1-5ee4-4605-ba92-0ae4513c611c',
              replacesCallId: 'a7ebfb2d-871e-419c-87af-27290b22e8db',
              hidden: false,
            },
          ],
        },
      },
      {
        name: 'the response shape echoed back (null identities and ids)',
        body: {
          participants: [
            {
              endpointType: null,
              id: null,
              replacesCallId: null,
              identity: { user: { id: '278405a3-f568-4b3e-b684-009193463064' }, application: null, device: null, phone: null },
            },
          ],
        },
      },
    ],
    invalid: [
      { name: 'no participants', body: { clientContext: 'c' }, paths: ['$.participants'] },
      { name: 'an empty participant list', body: { participants: [] }, paths: ['$.participants'] },
      { name: 'one participant, not a list', body: { participants: USER_TARGET }, paths: ['$.participants'] },
      {
        name: 'an empty user id, hidden as a string, an empty replacesCallId, a numeric clientContext',
        body: { participants: [{ identity: { user: { id: '' } }, hidden: 'yes', replacesCallId: '' }], clientContext: 5 },
        paths: ['$.participants[0].identity.user.id', '$.participants[0].hidden', '$.participants[0].replacesCallId', '$.clientContext'],
      },
      {
        name: 'a participant without identity',
        body: { participants: [USER_TARGET, { replacesCallId: 'a7ebfb2d' }] },
        paths: ['$.participants[1].identity'],
      },
    ],
  },
  // api/participant-muteall.md (beta)
  muteAll: {
    valid: [
      { name: 'the page example (an empty participant id)', body: { participants: [''], clientContext: 'clientContext-value' } },
      { name: 'an empty body', body: {} },
      { name: 'no body at all', body: undefined },
    ],
    invalid: [
      { name: 'participants as a string', body: { participants: 'p1' }, paths: ['$.participants'] },
      {
        name: 'a participant id that is a number, a long clientContext',
        body: { participants: ['p1', 1], clientContext: LONG },
        paths: ['$.participants[1]', '$.clientContext'],
      },
    ],
  },
  // api/participant-mute.md
  muteParticipant: clientContextOnly('d45324c1-fcb5-430a-902c-f20af696537c'),
  // api/call-post-audioroutinggroups.md (v1.0) and the audioRoutingGroup resource's routing-mode note
  createAudioRoutingGroup: {
    valid: [
      {
        name: 'example 1: one to one',
        body: {
          id: 'oneToOne',
          routingMode: 'oneToOne',
          sources: ['632899f8-2ea1-4604-8413-27bd2892079f'],
          receivers: ['550fae72-d251-43ec-868c-373732c2704f'],
        },
      },
      {
        name: 'example 2: multicast',
        body: {
          id: 'multicast',
          routingMode: 'multicast',
          sources: ['632899f8-2ea1-4604-8413-27bd2892079f'],
          receivers: ['550fae72-d251-43ec-868c-373732c2704f', '72f988bf-86f1-41af-91ab-2d7cd011db47'],
        },
      },
    ],
    invalid: [
      { name: 'an empty body', body: {}, paths: ['$.routingMode', '$.sources', '$.receivers'] },
      { name: 'an unknown routing mode', body: { routingMode: 'broadcast', sources: ['a'], receivers: ['b'] }, paths: ['$.routingMode'] },
      {
        name: 'one to one with two of each',
        body: { routingMode: 'oneToOne', sources: ['a', 'b'], receivers: ['c', 'd'] },
        paths: ['$.sources', '$.receivers'],
      },
      {
        name: 'multicast with an empty source id and no receivers',
        body: { routingMode: 'multicast', sources: [''], receivers: [] },
        paths: ['$.sources[0]', '$.receivers'],
      },
      { name: 'a numeric id', body: { id: 7, routingMode: 'multicast', sources: ['a'], receivers: ['b', 'c'] }, paths: ['$.id'] },
    ],
  },
  // api/call-addlargegalleryview.md (beta)
  addLargeGalleryView: clientContextOnly('785f4929-92ca-497b-863f-c778c77c9758'),
  // api/call-playprompt.md (v1.0): up to 20 prompts
  playPrompt: {
    valid: [
      { name: 'the page example', body: { clientContext: 'd45324c1-fcb5-430a-902c-f20af696537c', prompts: [PROMPT] } },
      {
        name: '20 prompts, no resourceId, an extra loop flag',
        body: { prompts: Array.from({ length: 20 }, (_, i) => ({ mediaInfo: { uri: `https://cdn.contoso.com/${i}.wav` } })), loop: true },
      },
    ],
    invalid: [
      { name: 'no prompts', body: {}, paths: ['$.prompts'] },
      { name: 'an empty prompt list', body: { prompts: [] }, paths: ['$.prompts'] },
      { name: '21 prompts', body: { prompts: Array.from({ length: 21 }, () => PROMPT) }, paths: ['$.prompts'] },
      {
        name: 'a prompt without mediaInfo, one without uri, one with a relative uri',
        body: { prompts: [{}, { mediaInfo: {} }, { mediaInfo: { uri: 'beep.wav', resourceId: 3 } }] },
        paths: ['$.prompts[0].mediaInfo', '$.prompts[1].mediaInfo.uri', '$.prompts[2].mediaInfo.uri', '$.prompts[2].mediaInfo.resourceId'],
      },
      {
        name: 'a prompt given as a URL string, a long clientContext',
        body: { prompts: ['https://cdn.contoso.com/beep.wav'], clientContext: LONG },
        paths: ['$.prompts[0]', '$.clientContext'],
      },
    ],
  },
  // api/call-record.md (v1.0, recordResponse): at most 1 prompt, timeouts 1..120 s
  record: {
    valid: [
      {
        name: 'the page example',
        body: {
          bargeInAllowed: true,
          clientContext: 'd45324c1-fcb5-430a-902c-f20af696537c',
          prompts: [
            {
              '@odata.type': '#microsoft.graph.mediaPrompt',
              mediaInfo: { uri: 'https://cdn.contoso.com/beep.wav', resourceId: '1D6DE2D4-CD51-4309-8DAA-70768651088E' },
            },
          ],
          maxRecordDurationInSeconds: 10,
          initialSilenceTimeoutInSeconds: 5,
          maxSilenceTimeoutInSeconds: 2,
          playBeep: true,
          stopTones: ['#', '1', '*'],
        },
      },
      { name: 'everything left to its default', body: {} },
      {
        name: 'the bounds',
        body: { maxRecordDurationInSeconds: 120, initialSilenceTimeoutInSeconds: 1, maxSilenceTimeoutInSeconds: 120, prompts: [] },
      },
    ],
    invalid: [
      { name: 'two prompts', body: { prompts: [PROMPT, PROMPT] }, paths: ['$.prompts'] },
      {
        name: 'timeouts out of range or fractional',
        body: { maxRecordDurationInSeconds: 121, initialSilenceTimeoutInSeconds: 0, maxSilenceTimeoutInSeconds: 2.5 },
        paths: ['$.maxRecordDurationInSeconds', '$.initialSilenceTimeoutInSeconds', '$.maxSilenceTimeoutInSeconds'],
      },
      {
        name: 'booleans and a list as strings',
        body: { bargeInAllowed: 'true', playBeep: 1, stopTones: '#' },
        paths: ['$.bargeInAllowed', '$.playBeep', '$.stopTones'],
      },
      {
        name: 'an empty stop tone, a timeout as a string',
        body: { stopTones: ['#', ''], maxRecordDurationInSeconds: '10' },
        paths: ['$.stopTones[1]', '$.maxRecordDurationInSeconds'],
      },
    ],
  },
  // api/call-cancelmediaprocessing.md (v1.0)
  cancelMediaProcessing: clientContextOnly('clientContext-value'),
  // api/call-subscribetotone.md (v1.0)
  subscribeToTone: clientContextOnly('fd1c7836-4d84-4e24-b6aa-23188688cc54'),
  // api/call-senddtmftones.md (v1.0); tones from the toneInfo resource
  sendDtmfTones: {
    valid: [
      {
        name: 'the page example',
        body: {
          tones: ['tone1', 'tone2', 'tone3', 'tone4', 'tone5', 'tone6', 'tone7', 'tone8', 'tone9', 'tone0', 'star', 'pound'],
          delayBetweenTonesMs: 1000,
          clientContext: 'e0be71f1-a14f-4cec-b65a-e7aba5db7c53',
        },
      },
      {
        name: 'the rest of the enum, in another casing',
        body: { tones: ['A', 'b', 'c', 'D', 'flash', 'Tone5', 'POUND'], delayBetweenTonesMs: 0 },
      },
    ],
    invalid: [
      { name: 'no tones', body: {}, paths: ['$.tones'] },
      { name: 'digits and symbols instead of tone names', body: { tones: ['1', 'tone1', '#'] }, paths: ['$.tones[0]', '$.tones[2]'] },
      { name: 'a negative delay', body: { tones: ['tone1'], delayBetweenTonesMs: -5 }, paths: ['$.delayBetweenTonesMs'] },
      { name: 'tones as one string', body: { tones: 'tone1tone2' }, paths: ['$.tones'] },
    ],
  },
  // api/call-mute.md, api/call-unmute.md (v1.0)
  mute: clientContextOnly('d45324c1-fcb5-430a-902c-f20af696537c'),
  unmute: clientContextOnly('d45324c1-fcb5-430a-902c-f20af696537c'),
  // api/call-changescreensharingrole.md (beta)
  changeScreenSharingRole: {
    valid: [
      { name: 'the page example', body: { role: 'viewer' } },
      { name: 'sharer', body: { role: 'sharer' } },
    ],
    invalid: [
      { name: 'no role', body: {}, paths: ['$.role'] },
      { name: 'no body at all', body: undefined, paths: ['$.role'] },
      { name: 'a role Graph does not know', body: { role: 'presenter' }, paths: ['$.role'] },
    ],
  },
  // api/call-updaterecordingstatus.md (v1.0); the example's "notRecording | recording | failed" is the list
  updateRecordingStatus: {
    valid: [
      { name: 'recording', body: { clientContext: 'clientContext-value', status: 'recording' } },
      { name: 'notRecording', body: { status: 'notRecording' } },
      { name: 'failed', body: { status: 'failed' } },
    ],
    invalid: [
      { name: 'no status', body: { clientContext: 'c' }, paths: ['$.status'] },
      {
        name: 'the example placeholder taken literally, a numeric clientContext',
        body: { status: 'notRecording | recording | failed', clientContext: 1 },
        paths: ['$.status', '$.clientContext'],
      },
    ],
  },
  startRecording: clientContextOnly('sr'),
  stopRecording: clientContextOnly('sr'),
  startTranscription: clientContextOnly('st'),
  stopTranscription: clientContextOnly('st'),
  // api/call-logteleconferencedevicequality.md (beta)
  logTeleconferenceDeviceQuality: {
    valid: [
      {
        name: 'the page example (one media quality)',
        body: {
          quality: {
            '@odata.type': '#microsoft.graph.teleconferenceDeviceQuality',
            callChainId: '0622673d-9f69-49b3-9d4f-5ec64f42ecce',
            participantId: 'ea078406-b5d4-4d3c-b85e-90103dcec7f6',
            mediaLegId: 'bd9ee398-4b9d-42c7-8b8d-4e8efad9435f',
            deviceName: 'TestAgent',
            deviceDescription: 'TestDescription',
            mediaQualityList: [
              {
                '@odata.type': '#microsoft.graph.teleconferenceDeviceAudioQuality',
                channelIndex: 1,
                mediaDuration: 'PT20M',
                networkLinkSpeedInBytes: 13000,
              },
            ],
          },
        },
      },
    ],
    invalid: [
      { name: 'no quality', body: {}, paths: ['$.quality'] },
      { name: 'quality as a string', body: { quality: 'good' }, paths: ['$.quality'] },
    ],
  },
  // api/participant-startholdmusic.md (v1.0)
  startHoldMusic: {
    valid: [
      {
        name: 'the page example',
        body: {
          customPrompt: {
            '@odata.type': '#microsoft.graph.mediaPrompt',
            mediaInfo: { '@odata.type': '#microsoft.graph.mediaInfo', uri: 'https://bot.contoso.com/onHold.wav' },
          },
          clientContext: 'd45324c1-fcb5-430a-902c-f20af696537c',
        },
      },
      { name: 'the default music', body: {} },
    ],
    invalid: [
      { name: 'a prompt without mediaInfo', body: { customPrompt: {} }, paths: ['$.customPrompt.mediaInfo'] },
      { name: 'an empty uri', body: { customPrompt: { mediaInfo: { uri: '' } } }, paths: ['$.customPrompt.mediaInfo.uri'] },
      {
        name: 'a prompt given as a name, a long clientContext',
        body: { customPrompt: 'music', clientContext: LONG },
        paths: ['$.customPrompt', '$.clientContext'],
      },
    ],
  },
  // api/participant-stopholdmusic.md (v1.0)
  stopHoldMusic: clientContextOnly('d45324c1-fcb5-430a-902c-f20af696537c'),
  // create keeps its own validator (validateCallRequest); here only that send routes to it
  create: {
    valid: [
      {
        name: 'a peer-to-peer call',
        body: { callbackUri: CB, requestedModalities: ['audio'], mediaConfig: SERVICE_MEDIA, targets: [USER_TARGET] },
      },
    ],
    invalid: [
      { name: 'an empty body', body: {}, paths: ['$.callbackUri', '$.requestedModalities', '$.mediaConfig', '$.targets'] },
      { name: 'no body at all', body: undefined, paths: ['$'] },
    ],
  },
};

const BODILESS = (Object.keys(COMMAND_ROUTES) as CommandName[]).filter((c) => !COMMAND_ROUTES[c].hasBody);
const WITH_BODY = (Object.keys(COMMAND_ROUTES) as CommandName[]).filter((c) => COMMAND_ROUTES[c].hasBody);

const validRows = Object.entries(CASES).flatMap(([command, cases]) => cases.valid.map((v) => [command as CommandName, v.name, v] as const));
const invalidRows = Object.entries(CASES).flatMap(([command, cases]) =>
  cases.invalid.map((v) => [command as CommandName, v.name, v] as const),
);

const sorted = (paths: readonly string[]): string[] => [...paths].sort();

describe('validateCommandBody', () => {
  it('has valid and invalid cases for every command that takes a body', () => {
    for (const command of WITH_BODY) {
      expect(CASES[command]?.valid.length ?? 0, command).toBeGreaterThan(0);
      expect(CASES[command]?.invalid.length ?? 0, command).toBeGreaterThan(0);
    }
  });

  it('is exported from the package index', () => {
    expect(transport.validateCommandBody).toBe(validateCommandBody);
  });

  it.each(validRows)('%s accepts %s', (command, _name, c) => {
    expect(validateCommandBody(command, c.body, c.options)).toEqual([]);
  });

  it.each(validRows.filter(([, , c]) => c.body !== undefined))(
    '%s passes unknown properties and unknown @odata.types (%s)',
    (command, _name, c) => {
      const extra = {
        futureProperty: { '@odata.type': '#microsoft.graph.somethingNew', nested: [1, null, 'x'] },
        ...(command === 'create' ? {} : { '@odata.type': '#microsoft.graph.somethingNew' }),
      };
      expect(validateCommandBody(command, { ...(c.body as object), ...extra }, c.options)).toEqual([]);
    },
  );

  it.each(invalidRows)('%s refuses %s', (command, _name, c) => {
    const violations = validateCommandBody(command, c.body, c.options);
    expect(sorted(violations.map((v) => v.path))).toEqual(sorted(c.paths));
    for (const v of violations) expect(v.message).toMatch(/\S/);
  });

  it('says what is wrong', () => {
    expect(validateCommandBody('reject', { reason: 'later' })).toEqual([
      { path: '$.reason', message: '"later" is not one of none, busy, forbidden' },
    ]);
    expect(validateCommandBody('changeScreenSharingRole', {})).toEqual([{ path: '$.role', message: 'is required: one of viewer, sharer' }]);
    expect(validateCommandBody('updateRecordingStatus', { status: 'paused' })).toEqual([
      { path: '$.status', message: '"paused" is not one of notRecording, recording, failed' },
    ]);
    expect(validateCommandBody('answer', { acceptedModalities: ['audio', 'data'], mediaConfig: SERVICE_MEDIA })).toEqual([
      { path: '$.acceptedModalities[1]', message: '"data" is not one of audio, video, videoBasedScreenSharing' },
    ]);
    expect(validateCommandBody('record', { maxRecordDurationInSeconds: 121 })).toEqual([
      { path: '$.maxRecordDurationInSeconds', message: 'must be an integer from 1 to 120' },
    ]);
    expect(validateCommandBody('redirect', { targets: [USER_TARGET], timeout: 10 })).toEqual([
      { path: '$.timeout', message: 'must be an integer from 15 to 90' },
    ]);
    expect(validateCommandBody('playPrompt', { prompts: [] })).toEqual([
      { path: '$.prompts', message: 'must hold at least 1 mediaPrompt' },
    ]);
    expect(
      validateCommandBody('answer', { callbackUri: 'http://localhost:3978/cb', acceptedModalities: ['audio'], mediaConfig: SERVICE_MEDIA }),
    ).toEqual([{ path: '$.callbackUri', message: 'must be https (http to loopback needs allowInsecureCallback, for the simulator only)' }]);
    expect(
      validateCommandBody(
        'answer',
        { callbackUri: 'http://bot.example.com/cb', acceptedModalities: ['audio'], mediaConfig: SERVICE_MEDIA },
        { allowInsecureCallback: true },
      ),
    ).toEqual([{ path: '$.callbackUri', message: 'must be https' }]);
  });

  it.each(BODILESS)('%s takes no body', (command) => {
    expect(validateCommandBody(command, undefined)).toEqual([]);
    expect(validateCommandBody(command, null)).toEqual([]);
    expect(validateCommandBody(command, {})).toEqual([{ path: '$', message: `${command} takes no body` }]);
  });

  it('refuses a command it does not know', () => {
    expect(() => validateCommandBody('fly' as CommandName, {})).toThrow(expect.objectContaining({ code: 'SWB_INVALID_ARGUMENT' }));
  });
});

// ---------------------------------------------------------------------------------------------
// Recorded and documented traffic: every request body in the fixtures must pass.

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
// the repository's own copy of the recorded and documented traffic (nothing outside the
// checkout: where a clone sits must not change which tests run)
const FIXTURE_DIRS = [`${REPO}test/fixtures/graph`];

function jsonlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = `${dir}/${name}`;
    if (statSync(path).isDirectory()) return jsonlFiles(path);
    return name.endsWith('.jsonl') ? [path] : [];
  });
}

interface RequestLine {
  readonly file: string;
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
}

const requests: RequestLine[] = FIXTURE_DIRS.flatMap(jsonlFiles).flatMap((file) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { kind?: unknown; method?: unknown; path?: unknown; body?: unknown })
    .filter((r) => r.kind === 'request' && typeof r.method === 'string' && typeof r.path === 'string')
    .map((r) => ({ file: file.slice(REPO.length), method: r.method as string, path: r.path as string, body: r.body ?? undefined })),
);

describe('the fixtures traffic', () => {
  it('holds requests to check (the documented create calls and invites at least)', () => {
    const commands = new Set(requests.map((r) => commandOf(r.method, r.path)?.command));
    expect(commands).toContain('create');
    expect(commands).toContain('invite');
    expect(requests.length).toBeGreaterThanOrEqual(17);
  });

  it.each(requests.map((r) => [`${r.method} ${r.path}`, r.file, r] as const))('%s (%s) passes', (_what, _file, r) => {
    const parsed = commandOf(r.method, r.path);
    expect(parsed).toBeDefined();
    expect(validateCommandBody(parsed!.command, r.body)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// The client: on by default, before any network traffic, with the create-style opt-out.

interface Loopback {
  readonly url: string;
  readonly bodies: unknown[];
  close(): Promise<void>;
}

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});

async function loopback(): Promise<Loopback> {
  const bodies: unknown[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      bodies.push(text === '' ? undefined : (JSON.parse(text) as unknown));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'op-1', status: 'running' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const l: Loopback = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  open.push(l);
  return l;
}

function clientFor(url: string, extra: Partial<GraphClientOptions> = {}): { graph: GraphClient; tokens: () => number } {
  let tokens = 0;
  const graph = createGraphClient({
    baseUrl: url,
    getToken: async () => {
      tokens++;
      return 'token';
    },
    retry: { maxAttempts: 1 },
    ...extra,
  });
  open.push(graph);
  return { graph, tokens: () => tokens };
}

async function rejection(p: Promise<unknown>): Promise<RequestValidationError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RequestValidationError);
  return e as RequestValidationError;
}

const IDS = { callId: 'c1', participantId: 'p1' };

describe('the client validates before sending', () => {
  it.each(invalidRows)('%s with %s: refused with every path, nothing sent, no token fetched', async (command, _name, c) => {
    const server = await loopback();
    const { graph, tokens } = clientFor(server.url, c.options);
    const e = await rejection(graph.send(command, { ...IDS, ...(c.body !== undefined ? { body: c.body } : {}) }));
    expect(e.code).toBe('SWB_INVALID_ARGUMENT');
    expect(sorted(e.violations.map((v) => v.path))).toEqual(sorted(c.paths));
    expect(e.message).toMatch(command === 'create' ? /^invalid create-call request: / : new RegExp(`^invalid ${command} request: `));
    expect(server.bodies).toHaveLength(0);
    expect(tokens()).toBe(0);
  });

  it('sends every valid body untouched, unknown properties included', async () => {
    const server = await loopback();
    const { graph } = clientFor(server.url, { allowInsecureCallback: true });
    for (const [command, , c] of validRows) {
      const body = c.body === undefined ? undefined : { ...(c.body as object), futureProperty: { kept: [1, null] } };
      await graph.send(command, { ...IDS, ...(body !== undefined ? { body } : {}) });
      expect(server.bodies.at(-1), `${command}: ${c.name}`).toEqual(body ?? {});
    }
    expect(server.bodies).toHaveLength(validRows.length);
  });

  it('the typed shorthands are validated too', async () => {
    const server = await loopback();
    const { graph } = clientFor(server.url);
    const paths = async (p: Promise<unknown>) => (await rejection(p)).violations.map((v) => v.path);
    expect(
      await paths(
        graph.answer('c1', { callbackUri: 'http://bot.contoso.com/cb', acceptedModalities: [], mediaConfig: SERVICE_MEDIA } as never),
      ),
    ).toEqual(['$.callbackUri', '$.acceptedModalities']);
    expect(await paths(graph.reject('c1', { reason: 'later' } as never))).toEqual(['$.reason']);
    expect(await paths(graph.redirect('c1', { targets: [] }))).toEqual(['$.targets']);
    expect(await paths(graph.transfer('c1', {} as never))).toEqual(['$.transferTarget']);
    expect(await paths(graph.invite('c1', { participants: [] }))).toEqual(['$.participants']);
    expect(await paths(graph.playPrompt('c1', { prompts: [] }))).toEqual(['$.prompts']);
    expect(await paths(graph.record('c1', { maxRecordDurationInSeconds: 600 }))).toEqual(['$.maxRecordDurationInSeconds']);
    expect(await paths(graph.recordResponse('c1', { prompts: [PROMPT, PROMPT] }))).toEqual(['$.prompts']);
    expect(await paths(graph.sendDtmfTones('c1', { tones: ['1'] } as never))).toEqual(['$.tones[0]']);
    expect(await paths(graph.changeScreenSharingRole('c1', { role: 'boss' } as never))).toEqual(['$.role']);
    expect(await paths(graph.updateRecordingStatus('c1', { status: 'paused' } as never))).toEqual(['$.status']);
    expect(await paths(graph.mute('c1', { clientContext: LONG }))).toEqual(['$.clientContext']);
    expect(await paths(graph.startHoldMusic('c1', 'p1', { customPrompt: {} as never }))).toEqual(['$.customPrompt.mediaInfo']);
    expect(await paths(graph.createAudioRoutingGroup('c1', { routingMode: 'oneToOne', sources: ['a', 'b'], receivers: ['c'] }))).toEqual([
      '$.sources',
    ]);
    expect(await paths(graph.logTeleconferenceDeviceQuality({} as never))).toEqual(['$.quality']);
    expect(await paths(graph.createCall({ callbackUri: CB, requestedModalities: ['audio'], mediaConfig: SERVICE_MEDIA } as never))).toEqual(
      ['$.targets'],
    );
    expect(server.bodies).toHaveLength(0);
  });

  it('validateRequests: false sends invalid bodies as they are', async () => {
    const server = await loopback();
    const { graph } = clientFor(server.url, { validateRequests: false });
    await graph.playPrompt('c1', { prompts: [] });
    await graph.send('reject', { callId: 'c1', body: { reason: 'later' } });
    await graph.createCall({ callbackUri: 'http://bot.example/cb', requestedModalities: ['audio'], mediaConfig: SERVICE_MEDIA } as never);
    expect(server.bodies).toEqual([
      { prompts: [] },
      { reason: 'later' },
      { callbackUri: 'http://bot.example/cb', requestedModalities: ['audio'], mediaConfig: SERVICE_MEDIA },
    ]);
  });

  it('validateCreateCall is a deprecated alias of validateRequests, which wins when both are given', async () => {
    const server = await loopback();
    const legacy = clientFor(server.url, { validateCreateCall: false }).graph;
    await legacy.playPrompt('c1', { prompts: [] });
    expect(server.bodies).toEqual([{ prompts: [] }]);
    const both = clientFor(server.url, { validateCreateCall: false, validateRequests: true }).graph;
    await rejection(both.playPrompt('c1', { prompts: [] }));
    const onByName = clientFor(server.url, { validateCreateCall: true, validateRequests: false }).graph;
    await onByName.playPrompt('c1', { prompts: [] });
    expect(server.bodies).toHaveLength(2);
  });

  it('bodies built from a create-call spec are validated whatever the option says', async () => {
    const server = await loopback();
    const { graph } = clientFor(server.url, { validateRequests: false });
    expect(() => graph.createCall({ kind: 'peerToPeer', callbackUri: 'http://bot.example/cb', target: { id: 'u1' } })).toThrow(
      RequestValidationError,
    );
    expect(server.bodies).toHaveLength(0);
  });

  it('an absent body is checked as the {} the client would send', async () => {
    const server = await loopback();
    const { graph } = clientFor(server.url);
    expect((await rejection(graph.send('sendDtmfTones', { callId: 'c1' }))).violations).toEqual([
      { path: '$.tones', message: expect.stringMatching(/^is required/) as unknown },
    ]);
    await graph.send('subscribeToTone', { callId: 'c1' });
    expect(server.bodies).toEqual([{}]);
  });
});
