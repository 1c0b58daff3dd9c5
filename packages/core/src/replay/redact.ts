/**
 * Secrets out of recorded bodies: what an exchange log, an archive shown to people or an
 * inspector page must not carry. Pure: a copy of a JSON value, nothing read or written.
 */

const SECRET_KEYS =
  /^(token|access_?token|recording_?access_?token|refresh_token|id_token|client_secret|clientsecret|secret|password|passcode|authorization|assertion|client_assertion|private_?key|blob)$/i;
// A whole JWT, or one cut off before its signature (a body recorded as its first characters):
// a base64url JSON header, a dot, and the start of a base64url JSON payload.
const JWT = /ey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]*/g;

/**
 * Copies a JSON value with secrets replaced by "[redacted]": values under keys that name a
 * token, secret, password, passcode, key or media blob (a meeting's join token,
 * `tokenMeetingInfo.token`, and a record operation's `recordingAccessToken` among them), and
 * anything shaped like a JWT wherever it is, inside longer strings too (`Bearer ey...`, a
 * URL's query), cut off before its signature too.
 */
export function redact(value: unknown): unknown {
  if (typeof value === 'string') return value.includes('ey') ? value.replace(JWT, '[redacted]') : value;
  if (Array.isArray(value)) return value.map(redact);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SECRET_KEYS.test(key) && v !== null && v !== undefined ? '[redacted]' : redact(v);
  }
  return out;
}
