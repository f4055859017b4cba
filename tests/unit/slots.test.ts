/** Slots: at most so many at once, first come first served (shared/slots.ts): the local runtime's Advances, a claim check's blob requests. */
import { describe, expect, it } from 'vitest';
import { Slots } from '../../shared/slots.js';

/** A piece of work that ends when told to. */
function pending() {
  let finish!: (value: string) => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<string>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  return { promise, finish, fail };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('Slots', () => {
  it('runs at most its limit at once, the rest in the order they came, each as soon as a slot frees', async () => {
    const slots = new Slots(2);
    const works = Array.from({ length: 5 }, () => pending());
    const started: number[] = [];
    const results = works.map((work, index) =>
      slots.run(() => {
        started.push(index);
        return work.promise;
      }),
    );
    await turn();
    expect(started).toEqual([0, 1]);
    expect([slots.busy, slots.waiting]).toEqual([2, 3]);
    works[1]!.finish('one');
    await turn();
    expect(started).toEqual([0, 1, 2]);
    works[0]!.finish('zero');
    works[2]!.finish('two');
    await turn();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    works[3]!.finish('three');
    works[4]!.finish('four');
    expect(await Promise.all(results)).toEqual(['zero', 'one', 'two', 'three', 'four']);
    expect([slots.busy, slots.waiting, slots.peak]).toEqual([0, 0, 2]);
  });

  it('frees the slot of work that fails, and hands its failure back', async () => {
    const slots = new Slots(1);
    const first = pending();
    const failed = slots.run(() => first.promise);
    const next = slots.run(async () => 'next');
    first.fail(new Error('store down'));
    await expect(failed).rejects.toThrow('store down');
    expect(await next).toBe('next');
    expect(slots.busy).toBe(0);
  });

  it('refuses a limit that is not a whole number of at least one', () => {
    for (const limit of [0, -1, 1.5, Number.NaN]) expect(() => new Slots(limit)).toThrow(RangeError);
  });
});
