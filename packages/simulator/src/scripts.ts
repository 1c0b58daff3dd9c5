import type { Logger } from '@switchboard/core';
import type { SimCall } from './call.js';
import type { Rng } from './random.js';
import type { Scheduler, TaskHandle } from './scheduler.js';
import type { AttendeeSpec, GraphTimings, RemoteScript, Script, ScriptStep } from './types.js';

/**
 * Remote parties: what the people (and meetings) on the far side of a call do. A script is a
 * list of timed steps; a runner plays it against one call in Graph time. Unscripted parties
 * answer, or, with `remoteBehaviour: 'random'`, draw a behaviour from the seed.
 */

/** What a runner needs from the call service. */
export interface ScriptHost {
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  /** Performs one step now; returns why it could not, or undefined when it was applied. */
  act(call: SimCall, step: ScriptStep, participant: string | undefined): string | undefined;
}

export function normalizeScript(script: Script): RemoteScript {
  return isStepList(script) ? { steps: script } : script;
}

function isStepList(script: Script): script is readonly ScriptStep[] {
  return Array.isArray(script);
}

/** Scripts registered for remote parties, by identity id, phone number, thread id or join meeting id. */
export class ScriptRegistry {
  private readonly scripts = new Map<string, { script: RemoteScript; once: boolean }>();

  set(key: string, script: Script, once = false): void {
    this.scripts.set(key, { script: normalizeScript(script), once });
  }

  /** The script of the first key that has one (a `once` script is used up), else the `wildcard`'s. */
  take(keys: readonly string[], wildcard: string | undefined = '*'): RemoteScript | undefined {
    for (const key of wildcard === undefined ? keys : [...keys, wildcard]) {
      const entry = this.scripts.get(key);
      if (!entry) continue;
      if (entry.once) this.scripts.delete(key);
      return entry.script;
    }
    return undefined;
  }

  peek(keys: readonly string[]): RemoteScript | undefined {
    for (const key of [...keys, '*']) {
      const entry = this.scripts.get(key);
      if (entry) return entry.script;
    }
    return undefined;
  }
}

/** `dtmf '12#'` becomes one step per digit, `intervalMs` apart, so each press is its own event. */
function expandSteps(steps: readonly ScriptStep[]): ScriptStep[] {
  const out: ScriptStep[] = [];
  for (const step of steps) {
    if (step.do !== 'dtmf' || step.digits.length <= 1) {
      out.push(step);
      continue;
    }
    const interval = step.intervalMs ?? 300;
    [...step.digits].forEach((digit, i) => {
      out.push({ do: 'dtmf', digits: digit, after: i === 0 ? (step.after ?? 0) : interval });
    });
  }
  return out;
}

/**
 * Plays a script against a call, one step after another, in Graph time. Stops when the call
 * ends or the steps run out; a step that does not apply (the call is not in a state for it)
 * is skipped and logged, as a real party's action would have no effect.
 */
export class ScriptRunner {
  private index = 0;
  private task: TaskHandle | undefined;
  private listener: ((state: SimCall['state']) => void) | undefined;
  private promptListener: (() => void) | undefined;
  private stopped = false;
  private readonly steps: ScriptStep[];

  constructor(
    private readonly host: ScriptHost,
    readonly call: SimCall,
    steps: readonly ScriptStep[],
    /** The party steps without `participant` concern. */
    private readonly participant: string | undefined,
  ) {
    this.steps = expandSteps(steps);
  }

  start(): void {
    this.next();
  }

  stop(): void {
    this.stopped = true;
    this.task?.cancel();
    if (this.listener) this.call.stateListeners.delete(this.listener);
    if (this.promptListener) this.call.promptListeners.delete(this.promptListener);
  }

  private next(): void {
    if (this.stopped) return;
    const step = this.steps[this.index];
    if (!step) return this.stop();
    if (this.call.terminated && step.do !== 'wait') return this.stop();
    if (step.do === 'waitFor') {
      if (this.call.state === step.state) return this.advance(0);
      if (this.call.terminated) return this.stop();
      this.listener = (state) => {
        if (state !== step.state && state !== 'terminated') return;
        this.call.stateListeners.delete(this.listener!);
        this.listener = undefined;
        if (state === step.state) this.advance(0);
        else this.stop();
      };
      this.call.stateListeners.add(this.listener);
      return;
    }
    if (step.do === 'waitForPrompt') {
      if (this.call.prompted) return this.advance(0);
      const heard = () => {
        this.call.promptListeners.delete(heard);
        this.promptListener = undefined;
        this.advance(0);
      };
      this.promptListener = heard;
      this.call.promptListeners.add(heard);
      return;
    }
    const delay = step.do === 'wait' ? step.ms : 'after' in step ? (step.after ?? 0) : 0;
    this.task = this.host.scheduler.after(
      delay,
      () => {
        if (this.stopped) return;
        if (step.do !== 'wait') {
          const problem = this.host.act(this.call, step, this.participant);
          if (problem) this.host.logger.debug({ callId: this.call.id, step: step.do, problem }, 'script step skipped');
        }
        this.index++;
        this.next();
      },
      { tracked: true },
    );
    this.call.timers.add(this.task);
  }

  private advance(delay: number): void {
    this.index++;
    this.task = this.host.scheduler.after(delay, () => this.next(), { tracked: true });
    this.call.timers.add(this.task);
  }
}

/** The decisive reaction of a script to being called: its first answer/reject/noAnswer step. */
export function decisionOf(script: RemoteScript | undefined): 'answer' | 'reject' | 'noAnswer' | undefined {
  for (const step of script?.steps ?? []) {
    if (step.do === 'answer' || step.do === 'reject' || step.do === 'noAnswer') return step.do;
  }
  return undefined;
}

const DIGITS = '0123456789*#';

function randomDigits(rng: Rng): string {
  let out = '';
  const n = rng.int(1, 4);
  for (let i = 0; i < n; i++) out += DIGITS[rng.int(0, DIGITS.length - 1)];
  return out;
}

/** A behaviour for a party being called (callee, group target or invitee), drawn from the seed. */
export function randomCalleeScript(rng: Rng, role: 'callee' | 'target' | 'invitee'): RemoteScript {
  const steps: ScriptStep[] = [];
  const r = rng.next();
  if (r < 0.1) return { steps: [{ do: 'reject', after: rng.between(300, 3000) }] };
  if (r < 0.15) return { steps: [{ do: 'noAnswer' }] };
  steps.push({ do: 'answer', after: rng.between(300, 4000) });
  if (rng.chance(0.35))
    steps.push({ do: 'dtmf', digits: randomDigits(rng), intervalMs: rng.between(200, 1200), after: rng.between(500, 5000) });
  if (role === 'callee' && rng.chance(0.1)) {
    steps.push({ do: 'shareScreen', after: rng.between(500, 3000) }, { do: 'stopSharing', after: rng.between(1000, 8000) });
  }
  if (role === 'callee' && rng.chance(0.05))
    steps.push({ do: 'hold', after: rng.between(500, 3000) }, { do: 'resume', after: rng.between(500, 3000) });
  if (rng.chance(0.3)) steps.push({ do: 'hangUp', after: rng.between(5000, 60000) });
  const transfer = rng.next();
  return {
    steps,
    onTransfer: transfer < 0.8 ? 'accept' : { fail: transfer < 0.9 ? 7000 : 7700 },
  };
}

/** A caller's behaviour for an incoming call, drawn from the seed. */
export function randomCallerScript(rng: Rng): RemoteScript {
  if (rng.chance(0.08)) return { steps: [{ do: 'hangUp', after: rng.between(1000, 12000) }] };
  const steps: ScriptStep[] = [{ do: 'waitFor', state: 'established' }];
  if (rng.chance(0.4))
    steps.push({ do: 'dtmf', digits: randomDigits(rng), intervalMs: rng.between(200, 1200), after: rng.between(500, 5000) });
  if (rng.chance(0.5)) steps.push({ do: 'hangUp', after: rng.between(3000, 40000) });
  return { steps };
}

/** A meeting's life around the bot, drawn from the seed. */
export function randomMeetingScript(rng: Rng): RemoteScript {
  const attendees: AttendeeSpec[] = [];
  const count = rng.int(0, 3);
  for (let i = 0; i < count; i++) attendees.push({ participant: `attendee${i + 1}`, muted: rng.chance(0.3) });
  const steps: ScriptStep[] = [{ do: 'waitFor', state: 'established' }];
  if (rng.chance(0.4)) {
    steps.push({ do: 'join', participant: 'lateGuest', identity: 'guest', lobby: true, after: rng.between(500, 4000) });
    steps.push(
      rng.chance(0.8)
        ? { do: 'admit', participant: 'lateGuest', after: rng.between(500, 4000) }
        : { do: 'remove', participant: 'lateGuest', after: rng.between(500, 4000) },
    );
  }
  if (count > 0 && rng.chance(0.3))
    steps.push(
      { do: 'shareScreen', participant: 'attendee1', after: rng.between(500, 4000) },
      { do: 'stopSharing', after: rng.between(1000, 6000) },
    );
  if (count > 0 && rng.chance(0.3)) steps.push({ do: 'hangUp', participant: `attendee${count}`, after: rng.between(1000, 10000) });
  return { steps, attendees };
}

/**
 * What a party does when the bot invites it. Its script's `onInvite` decides and replaces the
 * script's own answer / reject / noAnswer steps: `accept` answers (where the script answered,
 * else after `inviteAnswerMs`) and then plays the script's other steps; `decline` rejects
 * after `inviteAnswerMs` (the invitation fails); `noAnswer` does nothing, and the ringing
 * timeout fails the invitation. Without `onInvite`, the script's steps as they are; without a
 * script, undefined.
 */
export function inviteeScript(script: RemoteScript | undefined, timings: GraphTimings): RemoteScript | undefined {
  if (!script?.onInvite) return script;
  const steps = script.steps ?? [];
  const decisive = steps.findIndex((s) => s.do === 'answer' || s.do === 'reject' || s.do === 'noAnswer');
  switch (script.onInvite) {
    case 'accept': {
      const at = steps[decisive];
      const answer: ScriptStep = { do: 'answer', after: at && 'after' in at && at.after !== undefined ? at.after : timings.inviteAnswerMs };
      const rest = steps.filter((s) => s.do !== 'answer' && s.do !== 'reject' && s.do !== 'noAnswer');
      return { ...script, steps: decisive < 0 ? [answer, ...rest] : [...rest.slice(0, decisive), answer, ...rest.slice(decisive)] };
    }
    case 'decline':
      return { ...script, steps: [{ do: 'reject', after: timings.inviteAnswerMs }] };
    case 'noAnswer':
      return { ...script, steps: [] };
  }
}

/** The behaviour of an unscripted callee when `remoteBehaviour` is 'answer'. */
export function answeringScript(timings: GraphTimings, role: 'callee' | 'target' | 'invitee'): RemoteScript {
  return { steps: [{ do: 'answer', after: role === 'invitee' ? timings.inviteAnswerMs : timings.answerDelayMs }] };
}
