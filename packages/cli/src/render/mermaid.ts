import type { MachineState } from '@switchboard/core';
import type { ReplayResult } from '@switchboard/core/replay';
import { callPaths, type CallPath, type Transition } from '@switchboard/inspector';

/**
 * Mermaid `stateDiagram-v2` output for `switchboard replay --mermaid`.
 *
 * One diagram per call, each starting at its own `stateDiagram-v2` line; diagrams are
 * separated by a blank line. Every line is one of (after four spaces of indentation):
 *
 * ```text
 * %% <comment>                      call id, final state, counts (sanitised, one line)
 * classDef final <css>              how the final state is highlighted
 * <state>                           a state declaration: one per visited state
 * [*] --> <state> : <label>         the start: the first state the call reached
 * <state> --> <state> : <label>     a transition taken, once per distinct (from, to) pair
 * terminated --> [*]                only when the call ended terminated
 * class <state> final               marks the final state
 * ```
 *
 * State ids are the machine's camelCase state names (`transferAccepted`), never anything
 * from the log. Labels list the timeline steps that took the transition, in order, with the
 * triggering entry's summary: `2. updated call state=established`; a transition taken more
 * than once lists every step and ends in its count, `3, 5. updated call state=hold (x2)`.
 * Label text comes from an untrusted log, so everything outside a small safe character set
 * is written as a Mermaid entity code (`:` is `#58;`, `;` is `#59;`, `#` is `#35;`): the
 * label can neither end early nor start a new statement, and renders as the original text.
 *
 * The call starts in `pending` (no `callState` seen yet); that is the `[*]` start. A call that
 * never left `pending` is drawn as `[*] --> pending`.
 */
export function renderMermaid(result: ReplayResult): string {
  return callPaths(result).map(callDiagram).join('\n\n');
}

const INDENT = '    ';
/** How the final state is highlighted. */
const FINAL_CLASS = 'classDef final font-weight:bold,stroke-width:3px';
/** Labels longer than this (before escaping) are cut, with `...`. */
const MAX_LABEL = 160;

/** One call's diagram. */
export function callDiagram(path: CallPath): string {
  const lines: string[] = ['stateDiagram-v2'];
  const body: string[] = [];
  const stale = path.staleCount > 0 ? `, ${path.staleCount} stale` : '';
  const dup = path.duplicateCount > 0 ? `, ${path.duplicateCount} duplicate` : '';
  body.push(
    mermaidComment(
      `call ${path.callId}: final state ${path.final}, ${path.rows.length} ${path.rows.length === 1 ? 'entry' : 'entries'}${stale}${dup}`,
    ),
  );
  body.push(FINAL_CLASS);

  // Declare every visited state, in the order first reached.
  const declared: string[] = [];
  const declare = (state: MachineState) => {
    const id = mermaidStateId(state);
    if (!declared.includes(id)) declared.push(id);
  };
  if (path.transitions.length === 0) declare(path.final);
  path.transitions.forEach((t, i) => {
    if (!(i === 0 && t.from === 'pending')) declare(t.from);
    declare(t.to);
  });
  declare(path.final);
  body.push(...declared);

  if (path.transitions.length === 0) body.push(`[*] --> ${mermaidStateId(path.final)}`);
  // Group transitions by (from, to), in order of first occurrence; the first one leaves `[*]`.
  const edges = new Map<string, { from: string; to: string; taken: Transition[] }>();
  path.transitions.forEach((t, i) => {
    const from = i === 0 && t.from === 'pending' ? '[*]' : mermaidStateId(t.from);
    const to = mermaidStateId(t.to);
    const key = `${from} ${to}`;
    const edge = edges.get(key);
    if (edge) edge.taken.push(t);
    else edges.set(key, { from, to, taken: [t] });
  });
  for (const edge of edges.values()) body.push(`${edge.from} --> ${edge.to} : ${mermaidLabel(edgeLabel(edge.taken))}`);
  if (path.final === 'terminated') body.push(`${mermaidStateId(path.final)} --> [*]`);
  body.push(`class ${mermaidStateId(path.final)} final`);
  lines.push(...body.map((l) => INDENT + l));
  return lines.join('\n');
}

/** `2. summary`; repeats: `3, 5. summary (x2)`, or `3. a / 5. b (x2)` when the summaries differ. */
function edgeLabel(taken: readonly Transition[]): string {
  const groups: { summary: string; steps: number[] }[] = [];
  for (const t of taken) {
    const group = groups.find((g) => g.summary === t.summary);
    if (group) group.steps.push(t.step);
    else groups.push({ summary: t.summary, steps: [t.step] });
  }
  const text = groups.map((g) => `${g.steps.join(', ')}. ${g.summary}`).join(' / ');
  return taken.length > 1 ? `${text} (x${taken.length})` : text;
}

/**
 * A Mermaid state id for a machine state. Machine states are camelCase identifiers already;
 * anything else (never expected) is reduced to `[A-Za-z0-9_]` with an `s_` prefix.
 */
export function mermaidStateId(state: MachineState): string {
  if (/^[A-Za-z][A-Za-z0-9_]*$/.test(state)) return state;
  return `s_${state.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** Characters a label keeps as they are; everything else becomes a Mermaid entity code. */
const SAFE_LABEL = /^[A-Za-z0-9 _.,=/()+'!?*@-]$/;

/**
 * Escapes untrusted text for a transition label: control characters become spaces, the text
 * is cut to a sane length, and every character outside a small safe set becomes `#<code>;`
 * (Mermaid's entity codes, which render as the character).
 */
export function mermaidLabel(text: string): string {
  let flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').trim();
  if ([...flat].length > MAX_LABEL) flat = `${[...flat].slice(0, MAX_LABEL - 3).join('')}...`;
  let out = '';
  for (const ch of flat) out += SAFE_LABEL.test(ch) ? ch : `#${ch.codePointAt(0)!};`;
  return out === '' ? '#32;' : out;
}

/** A `%%` comment line: printable, one line, and never a `%%{` directive. */
export function mermaidComment(text: string): string {
  return `%% ${text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029{}]/g, '?')}`;
}
