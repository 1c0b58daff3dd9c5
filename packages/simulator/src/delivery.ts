import type { Logger } from '@switchboard/core';
import * as http from 'node:http';
import * as https from 'node:https';
import type { Identity, WebhookTokenVariant } from './identity.js';
import { planDelivery, planSplit, type DeliveryPlan, type Faults } from './faults.js';
import { commsNotifications } from './notifications.js';
import { stream, type Rng } from './random.js';
import type { Scheduler, TaskHandle } from './scheduler.js';
import type { DeliveryFault, DeliveryRecord, Json } from './types.js';

/**
 * Webhook delivery: signs and POSTs notification batches to callback URLs, the way Graph
 * does, with seeded faults on the way (reorder, duplicate, delay, drop-and-redeliver, split,
 * merge) and retries when the bot does not answer 2xx.
 *
 * Each callback URL has one queue, ordered by (due time, enqueue order), and by default one
 * POST in flight: the order the bot sees is then the queue's order, which depends only on
 * the seed and the order notifications were emitted, not on socket timing.
 */

/** A notification as emitted, with what became of it. */
export interface NotificationRec {
  readonly seq: number;
  readonly callId: string;
  readonly appId: string;
  readonly chainId: string;
  readonly emittedAt: number;
  readonly notification: Json;
  acknowledged: boolean;
  attempts: number;
}

export interface DispatcherOptions {
  readonly scheduler: Scheduler;
  readonly identity: Identity;
  readonly faults: Faults;
  readonly seed: number;
  readonly logger: Logger;
  readonly maxAttempts: number;
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly latencyMs: readonly [number, number];
  readonly retryBackoffMs: number;
}

interface Unit {
  readonly seq: number;
  messageId: string;
  readonly appId: string;
  readonly callbackUri: string;
  records: NotificationRec[];
  /** The call whose later deliveries count towards a reorder hold. */
  readonly callId: string;
  due: number;
  attempt: number;
  readonly faults: Set<DeliveryFault>;
  held?: { remaining: number; flush: TaskHandle };
  mergeHold?: TaskHandle | undefined;
  dropFirstMs?: number;
}

interface Queue {
  readonly callbackUri: string;
  /** Sorted by (due, seq). Held units stay here and are skipped. */
  readonly units: Unit[];
  inFlight: number;
  pumpAt: number;
  pumpTask?: TaskHandle;
  mergeWaiting?: Unit | undefined;
}

export class Dispatcher {
  private readonly queues = new Map<string, Queue>();
  private readonly callRngs = new Map<string, Rng>();
  private readonly log: DeliveryRecord[] = [];
  private readonly requests = new Set<http.ClientRequest>();
  private readonly httpAgent = new http.Agent({ keepAlive: true });
  private readonly httpsAgent = new https.Agent({ keepAlive: true });
  private unitSeq = 0;
  private stopped = false;

  constructor(private readonly o: DispatcherOptions) {}

  /** Every POST attempt so far, in the order they started. */
  deliveries(): readonly DeliveryRecord[] {
    return this.log;
  }

  /** Batches not yet acknowledged or given up on, plus POSTs in flight. */
  pending(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.units.length + q.inFlight;
    return n;
  }

  /**
   * Queues one natural batch (the notifications one event produced) for a call's callback.
   * The fault plan is drawn here, from the call's own stream.
   */
  enqueue(callId: string, appId: string, callbackUri: string, records: NotificationRec[]): void {
    if (this.stopped || records.length === 0) return;
    const rng = this.rngFor(callId);
    const split = planSplit(rng, this.o.faults, records.length);
    const groups = split ? records.map((r) => [r]) : [records];
    const q = this.queueFor(callbackUri);
    for (const group of groups) {
      const plan = planDelivery(rng, this.o.faults);
      const messageId = rng.uuid();
      const latency = rng.between(this.o.latencyMs[0], this.o.latencyMs[1]);
      const unit = this.newUnit(messageId, appId, callbackUri, callId, group, this.o.scheduler.now() + latency + plan.extraDelayMs);
      if (split) unit.faults.add('split');
      if (plan.extraDelayMs > 0) unit.faults.add('delayed');
      if (plan.redeliverAfterMs !== undefined) unit.dropFirstMs = plan.redeliverAfterMs;
      this.place(q, unit, plan, rng);
    }
  }

  /** A POST outside the queue, with a chosen token: for testing a receiver's checks. */
  async postRaw(
    callbackUri: string,
    appId: string,
    body: unknown,
    token: 'none' | WebhookTokenVariant,
    headers: { readonly [name: string]: string } = {},
  ): Promise<{ status: number } | { error: string }> {
    const auth = token === 'none' ? undefined : `Bearer ${await this.o.identity.webhookToken(appId, token)}`;
    return this.post(callbackUri, JSON.stringify(body), { ...(auth ? { Authorization: auth } : {}), ...headers });
  }

  stop(): void {
    this.stopped = true;
    for (const req of this.requests) req.destroy();
    this.requests.clear();
    for (const q of this.queues.values()) {
      q.pumpTask?.cancel();
      for (const u of q.units) {
        u.held?.flush.cancel();
        u.mergeHold?.cancel();
      }
      q.units.length = 0;
    }
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private place(q: Queue, unit: Unit, plan: DeliveryPlan, rng: Rng): void {
    const s = this.o.scheduler;
    // A batch waiting for a merge partner found one: they leave as one POST.
    const partner = q.mergeWaiting;
    if (partner && partner !== unit) {
      q.mergeWaiting = undefined;
      partner.mergeHold?.cancel();
      remove(q.units, partner);
      unit.records = [...partner.records, ...unit.records];
      unit.messageId = rng.uuid();
      unit.faults.add('merged');
      for (const f of partner.faults) if (f !== 'merged') unit.faults.add(f);
    }
    if (plan.holdFor > 0) {
      unit.faults.add('reordered');
      unit.held = { remaining: plan.holdFor, flush: s.after(this.o.faults.reorderMaxHoldMs, () => this.release(q, unit, s.now())) };
    } else if (plan.merge) {
      q.mergeWaiting = unit;
      unit.faults.add('merged');
      unit.mergeHold = s.after(this.o.faults.mergeMaxHoldMs, () => {
        if (q.mergeWaiting !== unit) return;
        q.mergeWaiting = undefined;
        unit.mergeHold = undefined;
        unit.faults.delete('merged');
        unit.due = Math.max(unit.due, s.now());
        reinsert(q.units, unit);
        this.schedulePump(q, s.now());
      });
    }
    insert(q.units, unit);
    if (plan.duplicateAfterMs !== undefined) {
      const copy = this.newUnit(unit.messageId, unit.appId, unit.callbackUri, unit.callId, unit.records, unit.due + plan.duplicateAfterMs);
      copy.faults.add('duplicate');
      insert(q.units, copy);
      this.schedulePump(q, copy.due);
    }
    this.schedulePump(q, unit.due);
  }

  private newUnit(messageId: string, appId: string, callbackUri: string, callId: string, records: NotificationRec[], due: number): Unit {
    return { seq: ++this.unitSeq, messageId, appId, callbackUri, callId, records, due, attempt: 0, faults: new Set() };
  }

  /**
   * A held batch becomes due at `at`: the Graph time of the flush, or the due time of the
   * batch that overtook it last. Never the wall clock, which would make the order depend on
   * how fast the bot answered.
   */
  private release(q: Queue, unit: Unit, at: number): void {
    if (!unit.held) return;
    unit.held.flush.cancel();
    delete unit.held;
    unit.due = Math.max(unit.due, at);
    reinsert(q.units, unit);
    this.schedulePump(q, unit.due);
  }

  /** Pumps run as scheduler tasks so that dispatch order follows Graph time, not socket timing. */
  private schedulePump(q: Queue, at: number): void {
    if (this.stopped) return;
    const when = Math.max(at, this.o.scheduler.now());
    if (q.pumpTask && !q.pumpTask.done && q.pumpAt <= when) return;
    q.pumpTask?.cancel();
    q.pumpAt = when;
    q.pumpTask = this.o.scheduler.at(when, () => this.pump(q), { tracked: true });
  }

  private pump(q: Queue): void {
    const s = this.o.scheduler;
    while (!this.stopped && q.inFlight < this.o.concurrency) {
      const next = q.units.find((u) => !u.held && q.mergeWaiting !== u);
      if (!next) return;
      if (next.due > s.now()) {
        this.schedulePump(q, next.due);
        return;
      }
      remove(q.units, next);
      next.attempt++;
      if (next.dropFirstMs !== undefined && next.attempt === 1) {
        // Lost on the way: the bot never sees this attempt; Graph tries again later.
        this.record(next, { outcome: 'dropped' }, [...next.faults, 'dropped']);
        next.due += next.dropFirstMs;
        delete next.dropFirstMs;
        next.faults.add('redelivery');
        insert(q.units, next);
        this.schedulePump(q, next.due);
        continue;
      }
      this.countTowardsHolds(q, next);
      q.inFlight++;
      void this.send(q, next);
    }
  }

  /** A reordered batch goes out once enough later batches of its call have overtaken it. */
  private countTowardsHolds(q: Queue, sent: Unit): void {
    for (const u of [...q.units]) {
      // only batches enqueued after the held one overtake it (a copy of itself does not count)
      if (!u.held || u.callId !== sent.callId || sent.seq < u.seq || u.messageId === sent.messageId) continue;
      u.held.remaining--;
      if (u.held.remaining <= 0) this.release(q, u, sent.due);
    }
  }

  private async send(q: Queue, unit: Unit): Promise<void> {
    const s = this.o.scheduler;
    const at = s.now();
    const faults = [...unit.faults];
    const index = this.log.length + 1;
    // Reserve the log slot now so the log is in dispatch order, whatever the sockets do.
    this.log.push(this.makeRecord(index, unit, at, faults, { outcome: 'error', error: 'in flight' }));
    for (const r of unit.records) r.attempts++;
    let result: { status: number } | { error: string };
    try {
      const token = await this.o.identity.webhookToken(unit.appId);
      const chainId = unit.records[0]?.chainId ?? unit.messageId;
      const clientRequestId = stream(this.o.seed, `attempt:${unit.messageId}:${unit.attempt}`).uuid();
      result = await this.post(unit.callbackUri, JSON.stringify(commsNotifications(unit.records.map((r) => r.notification))), {
        Authorization: `Bearer ${token}`,
        'Client-Request-Id': clientRequestId,
        'X-Microsoft-Skype-Message-ID': unit.messageId,
        'X-Microsoft-Skype-Chain-ID': chainId,
        'Scenario-Id': chainId,
      });
    } catch (error) {
      result = { error: (error as Error).message };
    }
    if (this.stopped) return;
    // Back into Graph time: the outcome is handled as a scheduler task, in order.
    s.after(
      0,
      () => {
        q.inFlight--;
        const ok = 'status' in result && result.status >= 200 && result.status < 300;
        const outcome = ok ? 'acknowledged' : 'status' in result ? 'rejected' : 'error';
        this.log[index - 1] = this.makeRecord(index, unit, at, faults, {
          outcome,
          ...('status' in result ? { status: result.status } : { error: result.error }),
        });
        if (ok) {
          for (const r of unit.records) r.acknowledged = true;
        } else if (unit.attempt < this.o.maxAttempts) {
          // from the attempt's due time, not from when the answer came: keeps the order reproducible
          unit.due += this.o.retryBackoffMs * 2 ** (unit.attempt - 1);
          unit.faults.add('retry');
          insert(q.units, unit);
          this.schedulePump(q, unit.due);
        } else {
          this.o.logger.warn(
            {
              callbackUri: unit.callbackUri,
              attempts: unit.attempt,
              messageId: unit.messageId,
              notifications: unit.records.map((r) => r.seq),
            },
            'webhook delivery given up',
          );
        }
        this.pump(q);
      },
      { tracked: true },
    );
  }

  private record(unit: Unit, result: { outcome: DeliveryRecord['outcome'] }, faults: DeliveryFault[]): void {
    this.log.push(this.makeRecord(this.log.length + 1, unit, this.o.scheduler.now(), faults, result));
  }

  private makeRecord(
    index: number,
    unit: Unit,
    at: number,
    faults: readonly DeliveryFault[],
    result: { outcome: DeliveryRecord['outcome']; status?: number; error?: string },
  ): DeliveryRecord {
    return {
      index,
      messageId: unit.messageId,
      callbackUri: unit.callbackUri,
      appId: unit.appId,
      attempt: unit.attempt,
      notificationSeqs: unit.records.map((r) => r.seq),
      callIds: [...new Set(unit.records.map((r) => r.callId))],
      faults: [...new Set(faults)],
      outcome: result.outcome,
      ...(result.status !== undefined ? { status: result.status } : {}),
      ...(result.error !== undefined ? { error: result.error } : {}),
      at,
    };
  }

  private post(url: string, body: string, headers: { readonly [name: string]: string }): Promise<{ status: number } | { error: string }> {
    return new Promise((resolve) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        resolve({ error: `invalid callback URL ${url}` });
        return;
      }
      const isHttps = target.protocol === 'https:';
      const req = (isHttps ? https : http).request(
        target,
        {
          method: 'POST',
          agent: isHttps ? this.httpsAgent : this.httpAgent,
          headers: {
            'Content-Type': 'application/json; charset=utf-8',
            'Content-Length': Buffer.byteLength(body),
            'User-Agent': 'Switchboard-Simulator/0.1 (Microsoft Graph calls stand-in)',
            ...headers,
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            this.requests.delete(req);
            resolve({ status: res.statusCode ?? 0 });
          });
          res.on('error', (error) => {
            this.requests.delete(req);
            resolve({ error: error.message });
          });
        },
      );
      this.requests.add(req);
      req.setTimeout(this.o.timeoutMs, () => req.destroy(new Error(`no answer within ${this.o.timeoutMs} ms`)));
      req.on('error', (error) => {
        this.requests.delete(req);
        resolve({ error: error.message });
      });
      req.end(body);
    });
  }

  private rngFor(callId: string): Rng {
    let rng = this.callRngs.get(callId);
    if (!rng) {
      rng = stream(this.o.seed, `faults:${callId}`);
      this.callRngs.set(callId, rng);
    }
    return rng;
  }

  private queueFor(callbackUri: string): Queue {
    let q = this.queues.get(callbackUri);
    if (!q) {
      q = { callbackUri, units: [], inFlight: 0, pumpAt: Infinity };
      this.queues.set(callbackUri, q);
    }
    return q;
  }
}

function before(a: Unit, b: Unit): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

function insert(units: Unit[], unit: Unit): void {
  let lo = 0;
  let hi = units.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (before(units[mid]!, unit)) lo = mid + 1;
    else hi = mid;
  }
  units.splice(lo, 0, unit);
}

function remove(units: Unit[], unit: Unit): void {
  const i = units.indexOf(unit);
  if (i >= 0) units.splice(i, 1);
}

function reinsert(units: Unit[], unit: Unit): void {
  remove(units, unit);
  insert(units, unit);
}
