/** Clocks: the system clock, and a manual one that tests and the harness move by hand. */
import type { Clock } from '../ports/index.js';

export const systemClock: Clock = { now: () => new Date() };

export class ManualClock implements Clock {
  #ms: number;

  constructor(start: Date | string = '2026-01-01T00:00:00.000Z') {
    this.#ms = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.#ms);
  }

  advance(ms: number): Date {
    this.#ms += ms;
    return this.now();
  }

  set(time: Date | string): void {
    this.#ms = new Date(time).getTime();
  }
}
