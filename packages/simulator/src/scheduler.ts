import { performance } from 'node:perf_hooks';

/**
 * Graph's clock, scaled. Every delay the simulator knows (a remote party answering after a
 * second, the 15 s answer deadline, the 45 min keep-alive, a delayed webhook) is written in
 * Graph milliseconds and runs `timeScale` times as long in real time.
 *
 * Tasks run in order of (due time, scheduling order), and a task scheduled from inside
 * another task is placed relative to that task's due time, not to the wall clock. So a
 * chain of scheduled work unfolds in the same order on every run, however late the event
 * loop fires a timer: that is what makes a seeded run reproducible. Only work triggered from
 * outside (an HTTP request) starts from the wall clock.
 */
export class Scheduler {
  private readonly heap: Task[] = [];
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;
  private current: number | undefined;
  private seq = 0;
  private stopped = false;
  private readonly realStart = performance.now();
  private readonly graphStart = Date.now();
  private tracked = 0;

  constructor(
    readonly timeScale: number,
    private readonly onError: (error: unknown) => void = () => {},
  ) {
    if (!(timeScale > 0) || !Number.isFinite(timeScale)) throw new RangeError(`timeScale must be a positive number, got ${timeScale}`);
  }

  /** Graph time now, in ms since the epoch: the running task's due time, else the scaled wall clock. */
  now(): number {
    return this.current ?? this.wallNow();
  }

  /** Graph time by the scaled wall clock. */
  wallNow(): number {
    return this.graphStart + (performance.now() - this.realStart) / this.timeScale;
  }

  /**
   * Runs `run` after `delayMs` Graph milliseconds. A `tracked` task counts as pending work
   * for {@link Scheduler.trackedPending} (short, consequential work such as an operation
   * completing); long Graph timers (keep-alive, answer deadline) are left untracked.
   */
  after(delayMs: number, run: () => void, options: { tracked?: boolean } = {}): TaskHandle {
    return this.at(this.now() + Math.max(0, delayMs), run, options);
  }

  /** Runs `run` at Graph time `due`. */
  at(due: number, run: () => void, options: { tracked?: boolean } = {}): TaskHandle {
    const task: Task = { due, seq: this.seq++, run, tracked: options.tracked === true, done: false };
    if (this.stopped) {
      task.done = true;
      return new TaskHandle(task, this);
    }
    if (task.tracked) this.tracked++;
    push(this.heap, task);
    this.arm();
    return new TaskHandle(task, this);
  }

  /** How many tracked tasks are still waiting to run; with `horizonMs`, only those due within it. */
  trackedPending(horizonMs = Infinity): number {
    if (horizonMs === Infinity) return this.tracked;
    const until = this.now() + horizonMs;
    let n = 0;
    for (const task of this.heap) if (task.tracked && !task.done && task.due <= until) n++;
    return n;
  }

  /** Cancels every task and timer. Nothing scheduled afterwards runs. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const task of this.heap) task.done = true;
    this.heap.length = 0;
    this.tracked = 0;
  }

  /** @internal */
  cancelTask(task: Task): void {
    if (task.done) return;
    task.done = true;
    if (task.tracked) this.tracked--;
    // left in the heap and skipped when popped: cheaper than a removal
  }

  private arm(): void {
    while (this.heap.length > 0 && this.heap[0]!.done) pop(this.heap);
    const next = this.heap[0];
    if (!next) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.armedFor = Infinity;
      return;
    }
    if (this.timer && next.due >= this.armedFor) return;
    if (this.timer) clearTimeout(this.timer);
    const realDelay = Math.max(0, (next.due - this.wallNow()) * this.timeScale);
    this.armedFor = next.due;
    this.timer = setTimeout(() => this.fire(), Math.ceil(realDelay));
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const until = this.wallNow();
    // Tasks due by now run in (due, seq) order, including ones the running tasks add.
    while (!this.stopped && this.heap.length > 0 && this.heap[0]!.due <= until) {
      const task = pop(this.heap)!;
      if (task.done) continue;
      task.done = true;
      if (task.tracked) this.tracked--;
      this.current = task.due;
      try {
        task.run();
      } catch (error) {
        this.onError(error);
      } finally {
        this.current = undefined;
      }
    }
    if (this.stopped) return;
    this.arm();
  }
}

/** Cancels a scheduled task; cancelling a task that ran is a no-op. */
export class TaskHandle {
  constructor(
    private readonly task: Task,
    private readonly scheduler: Scheduler,
  ) {}

  cancel(): void {
    this.scheduler.cancelTask(this.task);
  }

  get done(): boolean {
    return this.task.done;
  }
}

interface Task {
  readonly due: number;
  readonly seq: number;
  readonly run: () => void;
  readonly tracked: boolean;
  done: boolean;
}

function before(a: Task, b: Task): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

function push(heap: Task[], task: Task): void {
  heap.push(task);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(heap[i]!, heap[parent]!)) break;
    [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
    i = parent;
  }
}

function pop(heap: Task[]): Task | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length > 0 && last) {
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  }
  return top;
}
