import { describe, expect, it } from 'vitest';
import { redact } from './redact.js';

describe('redact', () => {
  it('redacts a JWT cut off before its signature (header and claims), and leaves look-alikes alone', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJhcHBJZCI6ImQyYTM1NzI2IiwiY29udmVyc2F0aW9uIjoiMTkifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
    expect(redact({ unparsed: `{"meetingInfo":{"token":"${jwt.slice(0, 60)}` })).toEqual({
      unparsed: '{"meetingInfo":{"token":"[redacted]',
    });
    expect(redact({ note: `Bearer ${jwt}` })).toEqual({ note: 'Bearer [redacted]' });
    expect(redact({ version: 'eyJabcdefgh.v2', id: 'eyJ-not-a-token' })).toEqual({ version: 'eyJabcdefgh.v2', id: 'eyJ-not-a-token' });
  });

  it('replaces the values of keys that name a secret, at any depth, and copies the rest', () => {
    const value = { a: 1, meetingInfo: { tokenMeetingInfo: { token: 'abc' } }, list: [{ client_secret: 's', keep: 'k' }], passcode: null };
    expect(redact(value)).toEqual({
      a: 1,
      meetingInfo: { tokenMeetingInfo: { token: '[redacted]' } },
      list: [{ client_secret: '[redacted]', keep: 'k' }],
      passcode: null,
    });
    expect(value.meetingInfo.tokenMeetingInfo.token).toBe('abc');
  });

  it("replaces a record operation's recordingAccessToken, keeps its recordingLocation", () => {
    const op = {
      '@odata.type': '#microsoft.graph.recordOperation',
      recordingLocation: 'https://r.example/1',
      recordingAccessToken: '9f3c',
    };
    expect(redact({ resourceData: op })).toEqual({ resourceData: { ...op, recordingAccessToken: '[redacted]' } });
  });
});
