import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseExchangeLog } from '../replay/exchange.js';
import { decodeNotifications } from './decode.js';

// Entry ids of notifications that decoded before quarantine, GUID identity and the other
// decode changes, pinned: a redelivery across an upgrade must get the id it had the first
// time, or the store takes it for a new entry. Computed with the decoder as it was before
// those changes; any change to how a content id is hashed breaks this test.

const FIXTURES = join(import.meta.dirname, '..', '..', '..', '..', 'test', 'fixtures', 'graph');

function idsOf(file: string): string[] {
  const records = parseExchangeLog(readFileSync(join(FIXTURES, file), 'utf8'));
  return records.filter((r) => r.kind === 'notification').flatMap((r) => decodeNotifications(r.body, { receivedAt: 0 }).map((e) => e.id));
}

describe('content-derived entry ids stay as they were', () => {
  it.each([
    [
      'recorded/sambetts-graph-calling-bots--p2p-simpletest.jsonl',
      ['n:199b64a799f239', 'n:10700831696181', 'n:07ef572267608b', 'n:1b4b2bd0313b36', 'n:01f96d92598737', 'n:1f67b8b2cf1ecc'],
    ],
    [
      'recorded/sambetts-graph-calling-bots--groupcall.jsonl',
      ['n:1cce660b841d08', 'n:138ae385143c1a', 'n:0090bcd5aad3c4', 'n:1aa1db927fa520', 'n:080108651951ac'],
    ],
    ['recorded/sambetts-graph-calling-bots--failed-p2p.jsonl', ['n:0267ba3dd17f36', 'n:004c9470d4fdba']],
    [
      'docs/v1.0-participant-invite-zhcn2022--example-1-invite-one-participant-to-an-existing-call.jsonl',
      ['n:1e67b65bfc24e7', 'n:17d5200d8d8404'],
    ],
    [
      'docs/beta-application-post-calls--example-5-join-scheduled-meeting-with-service-hosted-media.jsonl',
      ['n:1cac6a108e8751', 'n:1a0cd6301d3ab3', 'n:1addf8018ed963'],
    ],
  ])('%s', (file, ids) => {
    expect(idsOf(file)).toEqual(ids);
  });

  it('a call id spelled without hyphens in upper case keeps the id hashed from that spelling', () => {
    // https://learn.microsoft.com/en-us/graph/api/call-playprompt?view=graph-rest-1.0, the
    // "operation completed" notification; and the incoming call of the call: answer page.
    const completed = {
      '@odata.type': '#microsoft.graph.commsNotifications',
      value: [
        {
          '@odata.type': '#microsoft.graph.commsNotification',
          changeType: 'deleted',
          resourceUrl: '/communications/calls/57DAB8B1894C409AB240BD8BEAE78896/operations/0FE0623FD62842EDB4BD8AC290072CC5',
          resourceData: {
            '@odata.type': '#microsoft.graph.playPromptOperation',
            '@odata.id': '/communications/calls/57DAB8B1894C409AB240BD8BEAE78896/operations/0FE0623FD62842EDB4BD8AC290072CC5',
            '@odata.etag': 'W/"54451"',
            resultInfo: { '@odata.type': '#microsoft.graph.resultInfo', code: 200, subcode: 0, message: 'Action completed successfully.' },
            clientContext: 'd45324c1-fcb5-430a-902c-f20af696537c',
            status: 'completed',
          },
        },
      ],
    };
    const incoming = {
      value: [
        {
          changeType: 'created',
          resourceUrl: '/communications/calls/57DAB8B1894C409AB240BD8BEAE78896',
          resourceData: { '@odata.type': '#microsoft.graph.call', state: 'incoming', direction: 'incoming' },
        },
      ],
    };
    expect(decodeNotifications(completed, { receivedAt: 0 }).map((e) => e.id)).toEqual(['n:06b3703dd49fe7']);
    expect(decodeNotifications(incoming, { receivedAt: 0 }).map((e) => e.id)).toEqual(['n:16fa090f6c5ecd']);
    expect(decodeNotifications(incoming, { receivedAt: 0, messageId: 'msg-7' }).map((e) => e.id)).toEqual(['m:msg-7:0']);
  });
});
