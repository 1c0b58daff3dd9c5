import { CALL_STATES, DOCUMENTED_TRANSITIONS, STATE_RANK, type MachineState } from '../deps.js';
import { escapeHtml } from './escape.js';
import type { Transition } from './path.js';

/**
 * The call machine as a picture (inline SVG), with one call's path through it drawn over it.
 *
 * Everything in the picture comes from the machine's own tables: a column per `STATE_RANK`
 * (states of equal rank stacked), one faint arrow per `DOCUMENTED_TRANSITIONS` edge, and
 * `pending` (no `callState` seen yet) as the start. The path is drawn on top: the states the
 * call visited are filled, the final one outlined, and every edge it took is bold, labelled
 * with the timeline steps that took it; a move the table has no direct edge for (a state
 * skipped because its notification was lost, a resync) is bold and dashed.
 *
 * No scripts, fonts or external references; classes only, so the page's stylesheet colours
 * it. Text from the log never enters the picture except as escaped `<title>` text.
 */

const NODE_W = 116;
const NODE_H = 30;
const COL = 128;
const LANE = 92;
const MARGIN = 14;

interface Node {
  readonly state: MachineState;
  readonly col: number;
  readonly lane: number;
  readonly x: number;
  readonly y: number;
}

interface Layout {
  readonly nodes: ReadonlyMap<MachineState, Node>;
  readonly lanes: number;
  readonly width: number;
  readonly top: number;
}

/** Above the top lane: room for the highest arc; below the last: room for the deepest U. */
const rise = (span: number) => 12 + 8 * span;

function computeLayout(): Layout {
  const byRank = new Map<number, MachineState[]>();
  for (const state of CALL_STATES) {
    const rank = STATE_RANK[state];
    byRank.set(rank, [...(byRank.get(rank) ?? []), state]);
  }
  const ranks = [...byRank.keys()].sort((a, b) => a - b);
  const lanes = Math.max(...[...byRank.values()].map((s) => s.length));
  const cols = ranks.length + 1;
  const top = MARGIN + rise(cols) + NODE_H / 2;
  const nodes = new Map<MachineState, Node>();
  const place = (state: MachineState, col: number, lane: number) =>
    nodes.set(state, { state, col, lane, x: MARGIN + col * COL + NODE_W / 2, y: top + lane * LANE });
  place('pending', 0, 0);
  ranks.forEach((rank, i) => byRank.get(rank)!.forEach((state, lane) => place(state, i + 1, lane)));
  const width = MARGIN * 2 + (cols - 1) * COL + NODE_W;
  return { nodes, lanes, width, top };
}

let layoutCache: Layout | undefined;
const layout = (): Layout => (layoutCache ??= computeLayout());

interface Route {
  /** SVG path data. */
  readonly d: string;
  /** Where a label goes (the curve's middle). */
  readonly mid: readonly [number, number];
  /** The end point, and the direction the curve arrives from there (for the arrowhead). */
  readonly end: readonly [number, number];
  readonly from: readonly [number, number];
  /** The highest and lowest y the curve reaches. */
  readonly yMin: number;
  readonly yMax: number;
}

const r1 = (n: number) => Math.round(n * 10) / 10;

function cubic(
  p0: readonly [number, number],
  c1: readonly [number, number],
  c2: readonly [number, number],
  p3: readonly [number, number],
): Route {
  const mid: [number, number] = [(p0[0] + 3 * c1[0] + 3 * c2[0] + p3[0]) / 8, (p0[1] + 3 * c1[1] + 3 * c2[1] + p3[1]) / 8];
  const pts = [p0, c1, c2, p3].map(([x, y]) => `${r1(x)},${r1(y)}`);
  let yMin = Infinity;
  let yMax = -Infinity;
  for (let i = 0; i <= 20; i++) {
    const t = i / 20;
    const u = 1 - t;
    const y = u * u * u * p0[1] + 3 * u * u * t * c1[1] + 3 * u * t * t * c2[1] + t * t * t * p3[1];
    yMin = Math.min(yMin, y);
    yMax = Math.max(yMax, y);
  }
  return { d: `M${pts[0]} C${pts[1]} ${pts[2]} ${pts[3]}`, mid, end: p3, from: c2, yMin, yMax };
}

function line(p0: readonly [number, number], p1: readonly [number, number]): Route {
  return {
    d: `M${r1(p0[0])},${r1(p0[1])} L${r1(p1[0])},${r1(p1[1])}`,
    mid: [(p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2],
    end: p1,
    from: p0,
    yMin: Math.min(p0[1], p1[1]),
    yMax: Math.max(p0[1], p1[1]),
  };
}

/** A filled triangle at the end of a route, pointing along it (no markers: nothing to reference by id). */
function arrowhead(r: Route, size: number): string {
  const [x, y] = r.end;
  let dx = x - r.from[0];
  let dy = y - r.from[1];
  const len = Math.hypot(dx, dy) || 1;
  dx /= len;
  dy /= len;
  const bx = x - dx * size;
  const by = y - dy * size;
  const w = size * 0.45;
  return `M${r1(x)},${r1(y)} L${r1(bx - dy * w)},${r1(by + dx * w)} L${r1(bx + dy * w)},${r1(by - dx * w)} z`;
}

/** How an edge between two placed states is drawn, so that it passes no other state's box. */
function route(a: Node, b: Node, lay: Layout): Route {
  const h = NODE_H / 2;
  const w = NODE_W / 2;
  const span = Math.abs(b.col - a.col);
  const bottom = lay.top + (lay.lanes - 1) * LANE + h;
  if (a.col === b.col) {
    // stacked states (established <-> hold): straight, one line each way
    const down = a.lane < b.lane;
    const x = a.x + (down ? -8 : 8);
    const y1 = down ? a.y + h : a.y - h;
    const y2 = down ? b.y - h : b.y + h;
    return line([x, y1], [x, y2]);
  }
  if (b.col > a.col) {
    if (a.lane === b.lane && span === 1) {
      return line([a.x + w, a.y], [b.x - w, b.y]);
    }
    if (a.lane === 0 && b.lane === 0) {
      // over the top lane
      const yt = lay.top - h - rise(span);
      return cubic([a.x + 10, a.y - h], [a.x + 10, yt], [b.x - 10, yt], [b.x - 10, b.y - h]);
    }
    // under the last lane, into the target from below
    const yb = bottom + rise(span);
    return cubic([a.x + 10, a.y + h], [a.x + 10, yb], [b.x - 10, yb], [b.x - 10, b.y + h]);
  }
  // backward (a failed transfer returns to established): a shallow dip under the source lane
  if (a.lane === b.lane) {
    const yd = a.y + h + 12 + 6 * span;
    return cubic([a.x - 12, a.y + h], [a.x - 12, yd], [b.x + 12, yd], [b.x + 12, b.y + h]);
  }
  const yb = bottom + rise(span);
  return cubic([a.x - 10, a.y + h], [a.x - 10, yb], [b.x + 10, yb], [b.x + 10, b.y + h]);
}

/** The steps that took an edge, short: `2`, `3, 5`, `4 ... 90 (x12)`. */
function stepsLabel(steps: readonly number[]): string {
  if (steps.length <= 3) return steps.join(', ');
  return `${steps[0]} ... ${steps.at(-1)} (x${steps.length})`;
}

export interface MachineSvgOptions {
  /** Makes the picture's ids unique on a page holding several (its title's id). Letters, digits, `-`. */
  readonly idPrefix?: string;
  /** The accessible name (escaped here). */
  readonly title?: string;
}

/**
 * The call machine with a call's path drawn over it, as an `<svg>` element. Deterministic:
 * the same path gives the same bytes. Its size does not grow with the call's length: an edge
 * taken many times is drawn once, labelled with how many times.
 */
export function renderMachineSvg(
  path: { readonly transitions: readonly Transition[]; readonly final: MachineState },
  options: MachineSvgOptions = {},
): string {
  const lay = layout();
  const prefix = (options.idPrefix ?? 'm').replace(/[^A-Za-z0-9-]/g, '-');
  const visited = new Map<MachineState, number[]>();
  const taken = new Map<string, { from: MachineState; to: MachineState; steps: number[] }>();
  if (path.transitions.length === 0) visited.set(path.final, []);
  else visited.set('pending', []);
  for (const t of path.transitions) {
    if (!lay.nodes.has(t.from) || !lay.nodes.has(t.to)) continue;
    visited.set(t.to, [...(visited.get(t.to) ?? []), t.step]);
    const key = `${t.from}>${t.to}`;
    const edge = taken.get(key);
    if (edge) edge.steps.push(t.step);
    else taken.set(key, { from: t.from, to: t.to, steps: [t.step] });
  }

  const out: string[] = [];
  let yMin = lay.top - NODE_H / 2;
  let yMax = lay.top + (lay.lanes - 1) * LANE + NODE_H / 2;
  const bound = (r: Route) => {
    yMin = Math.min(yMin, r.yMin);
    yMax = Math.max(yMax, r.yMax);
  };

  // the table's edges, faint
  out.push('<g class="m-table">');
  for (const from of CALL_STATES) {
    for (const to of DOCUMENTED_TRANSITIONS[from]) {
      if (taken.has(`${from}>${to}`)) continue;
      const r = route(lay.nodes.get(from)!, lay.nodes.get(to)!, lay);
      bound(r);
      out.push(`<path class="m-edge" data-from="${from}" data-to="${to}" d="${r.d}"/><path class="m-head" d="${arrowhead(r, 7)}"/>`);
    }
  }
  out.push('</g>');

  // the states
  out.push('<g class="m-nodes">');
  for (const node of lay.nodes.values()) {
    const steps = visited.get(node.state);
    const classes = ['m-node', node.state === 'pending' ? 'start' : '', steps ? 'visited' : '', node.state === path.final ? 'final' : '']
      .filter((c) => c !== '')
      .join(' ');
    const tip = steps && steps.length > 0 ? `${node.state}: reached at step ${stepsLabel(steps)}` : node.state;
    out.push(
      `<g class="${classes}" data-state="${node.state}"><title>${escapeHtml(tip)}</title>` +
        `<rect x="${r1(node.x - NODE_W / 2)}" y="${r1(node.y - NODE_H / 2)}" width="${NODE_W}" height="${NODE_H}" rx="${node.state === 'pending' ? 15 : 7}"/>` +
        `<text x="${r1(node.x)}" y="${r1(node.y + 4.5)}">${node.state}</text></g>`,
    );
  }
  out.push('</g>');

  // the path, on top
  out.push('<g class="m-path">');
  // a call's first state is where calls start (incoming, or establishing for one the bot placed or joined)
  const documented = (from: MachineState, to: MachineState) =>
    from === 'pending'
      ? to !== 'pending' && STATE_RANK[to] <= STATE_RANK.establishing
      : (DOCUMENTED_TRANSITIONS[from] as readonly string[]).includes(to);
  for (const edge of taken.values()) {
    const r = route(lay.nodes.get(edge.from)!, lay.nodes.get(edge.to)!, lay);
    bound(r);
    const extra = documented(edge.from, edge.to) ? '' : ' skipped';
    const label = stepsLabel(edge.steps);
    out.push(
      `<g class="m-taken${extra}" data-from="${edge.from}" data-to="${edge.to}" data-count="${edge.steps.length}">` +
        `<title>${escapeHtml(`${edge.from} -> ${edge.to} at step ${label}${extra ? ' (no direct edge in the table)' : ''}`)}</title>` +
        `<path class="m-edge taken${extra}" d="${r.d}"/><path class="m-head taken" d="${arrowhead(r, 10)}"/>` +
        `<text class="m-label" x="${r1(r.mid[0])}" y="${r1(r.mid[1] - 6)}">${escapeHtml(label)}</text></g>`,
    );
  }
  out.push('</g>', '</svg>');
  const titleId = `${prefix}-title`;
  // the picture's height is what its curves reach, labels included
  const y0 = Math.floor(yMin - 18);
  const height = Math.ceil(yMax + 12) - y0;
  return (
    `<svg class="machine" viewBox="0 ${y0} ${lay.width} ${height}" role="img" aria-labelledby="${titleId}">` +
    `<title id="${titleId}">${escapeHtml(options.title ?? "the call machine and this call's path through it")}</title>` +
    out.join('')
  );
}
