import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalId, sameId } from './ids.js';

describe('canonicalId', () => {
  it('gives both of Graph spellings of one GUID one key (the call: playPrompt page)', () => {
    expect(canonicalId('57DAB8B1894C409AB240BD8BEAE78896')).toBe('57dab8b1-894c-409a-b240-bd8beae78896');
    expect(canonicalId('57dab8b1-894c-409a-b240-bd8beae78896')).toBe('57dab8b1-894c-409a-b240-bd8beae78896');
    expect(canonicalId('0FE0623FD62842EDB4BD8AC290072CC5')).toBe(canonicalId('0fe0623f-d628-42ed-b4bd-8ac290072cc5'));
    expect(canonicalId('57DAB8B1-894C-409A-B240-BD8BEAE78896')).toBe('57dab8b1-894c-409a-b240-bd8beae78896');
    expect(sameId('57DAB8B1894C409AB240BD8BEAE78896', '57dab8b1-894c-409a-b240-bd8beae78896')).toBe(true);
  });

  it('returns an id already in the key spelling as it is', () => {
    const id = '6f1f5c00-8c1b-47f1-be9d-660c501041a9';
    expect(canonicalId(id)).toBe(id);
  });

  it('leaves every id that is not GUID-shaped exactly as it is, case included', () => {
    for (const id of [
      'evil-1',
      'ABC',
      '',
      '57DAB8B1894C409AB240BD8BEAE7889', // 31 digits
      '57DAB8B1894C409AB240BD8BEAE788960', // 33
      '57DAB8B1894C409AB240BD8BEAE7889G', // not hex
      '57dab8b1894c-409a-b240-bd8beae78896', // hyphens in the wrong places
      '57dab8b1-894c-409a-b240-bd8beae7889g',
      '{57dab8b1-894c-409a-b240-bd8beae78896}',
      'identity:user:8A34A46B-3D17-4ADC-8DCE-DC4E7D572698',
      '0zzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz',
    ]) {
      expect(canonicalId(id)).toBe(id);
    }
    expect(sameId('ABC', 'abc')).toBe(false);
  });

  it('is idempotent and agrees with a plain reading of the GUID grammar', () => {
    const hex = fc.constantFrom(...'0123456789abcdefABCDEF');
    const digits = (n: number) => fc.array(hex, { minLength: n, maxLength: n }).map((a) => a.join(''));
    const guid = fc
      .tuple(digits(8), digits(4), digits(4), digits(4), digits(12), fc.boolean())
      .map(([a, b, c, d, e, hyphens]) => (hyphens ? [a, b, c, d, e].join('-') : a + b + c + d + e));
    fc.assert(
      fc.property(fc.oneof(guid, fc.string(), fc.string({ minLength: 32, maxLength: 36 })), (id) => {
        const key = canonicalId(id);
        expect(canonicalId(key)).toBe(key);
        const isGuid = /^[0-9a-f]{32}$/i.test(id) || /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
        if (isGuid) {
          expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
          expect(key.replaceAll('-', '')).toBe(id.replaceAll('-', '').toLowerCase());
        } else {
          expect(key).toBe(id);
        }
      }),
    );
  });
});
