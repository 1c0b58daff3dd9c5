import { describe, expect, it } from 'vitest';
import { buildView } from '../project/view.js';
import { CONTEXT_FIELD_NAMES, CONTEXT_FIELDS, initialContext } from './context.js';
import { ContextEdit, ID_RECORD_FIELDS } from './draft.js';

describe('the call context comes from CONTEXT_FIELDS', () => {
  it('a new context has exactly its fields, in order, with their initial values', () => {
    const context = initialContext('c', 'delta');
    expect(Object.keys(context)).toEqual(CONTEXT_FIELD_NAMES);
    expect(context.id).toBe('c');
    expect(context.rosterMode).toBe('delta');
    expect(context.participants).toBe(CONTEXT_FIELDS.participants.initial);
  });

  it("an edit's copy keeps the fields in order (the copy's fast path is taken)", () => {
    const edit = new ContextEdit(initialContext('c'));
    expect(Object.keys(edit.next)).toEqual(CONTEXT_FIELD_NAMES);
    edit.setRoot('position', 1);
    expect(Object.keys(edit.finish())).toEqual(CONTEXT_FIELD_NAMES);
  });

  it('the id-keyed records and the view fields are the ones it marks', () => {
    expect(ID_RECORD_FIELDS).toEqual(CONTEXT_FIELD_NAMES.filter((f) => CONTEXT_FIELDS[f].kind === 'idRecord'));
    const view = buildView('pending', initialContext('c'));
    const shown = CONTEXT_FIELD_NAMES.filter((f) => CONTEXT_FIELDS[f].inView);
    expect(Object.keys(view)).toEqual(['id', 'graphId', 'state', ...shown, 'version']);
  });
});
