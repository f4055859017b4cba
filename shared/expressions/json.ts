/** Small helpers for JSON-like values shared by the sandbox, the renderer and the redactor. */

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Sets a key on a fresh object; `__proto__` becomes an own property instead of replacing the prototype. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/**
 * The text a value contributes to a template, as JSONata's `$string` writes it (numbers to 15
 * significant digits, so `0.1 + 0.2` reads `0.3`), except that undefined and null give ''.
 */
export function templateText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  // Integers below 10^15 have no more than 15 significant digits: String() writes them as $string does.
  if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  return JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'number' && Number.isFinite(item) ? Number(item.toPrecision(15)) : item,
  );
}

/**
 * Calls `visit` with every string and number inside a JSON-like value (plain objects and arrays),
 * without recursion (no depth makes it overflow); stops when `visit` answers false.
 */
export function eachLeaf(value: unknown, visit: (leaf: string | number) => boolean | undefined): void {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string' || typeof item === 'number') {
      if (visit(item) === false) return;
    } else if (Array.isArray(item)) {
      for (const element of item) stack.push(element);
    } else if (item !== null && typeof item === 'object') {
      for (const element of Object.values(item)) stack.push(element);
    }
  }
}

/** Whether a JSON-like value nests arrays and objects more than `max` levels deep, found without recursion. */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth >= max) return true;
    for (const element of Array.isArray(item) ? item : Object.values(item)) stack.push([element, depth + 1]);
  }
  return false;
}
