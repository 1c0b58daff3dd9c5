/**
 * The identity key of a Graph id. A GUID-shaped id (32 hexadecimal digits, either bare or
 * hyphenated 8-4-4-4-12, in any case) becomes its lower-case hyphenated spelling; any other
 * id is returned exactly as given.
 *
 * Graph spells one GUID several ways: the call: playPrompt page answers for call
 * `57dab8b1-894c-409a-b240-bd8beae78896` and then notifies about
 * `57DAB8B1894C409AB240BD8BEAE78896` (operations too). GUIDs are case-insensitive, so ids
 * are compared by this key; Graph's own spelling is what a view shows and a command sends.
 *
 * Pure and cheap: an id already in the key's spelling is returned as it is, without copying.
 */
export function canonicalId(id: string): string {
  const n = id.length;
  if (n === 36) {
    if (isLowerHyphenated(id)) return id;
    return isHyphenatedGuid(id) ? id.toLowerCase() : id;
  }
  if (n === 32 && isHex(id, 0, 32)) {
    const lower = id.toLowerCase();
    return `${lower.slice(0, 8)}-${lower.slice(8, 12)}-${lower.slice(12, 16)}-${lower.slice(16, 20)}-${lower.slice(20)}`;
  }
  return id;
}

/** Whether two Graph ids name the same thing (`canonicalId` of each is equal). */
export function sameId(a: string, b: string): boolean {
  return a === b || canonicalId(a) === canonicalId(b);
}

const HYPHENS = [8, 13, 18, 23];

/** `0-9a-f` in every place but the four hyphens of the 8-4-4-4-12 form. */
function isLowerHyphenated(id: string): boolean {
  for (let i = 0; i < 36; i++) {
    const c = id.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
    } else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

function isHyphenatedGuid(id: string): boolean {
  for (const at of HYPHENS) if (id.charCodeAt(at) !== 45) return false;
  return isHex(id, 0, 8) && isHex(id, 9, 13) && isHex(id, 14, 18) && isHex(id, 19, 23) && isHex(id, 24, 36);
}

function isHex(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70))) return false;
  }
  return true;
}
