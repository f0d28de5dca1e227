/**
 * Whether a JSON value nests deeper than `limit` levels of objects and arrays.
 *
 * Depth counts containers only: a string, number, boolean or null is depth 0;
 * an object or array is one level more than its deepest member. So `{}`, `[]`
 * and `{"a": 1}` are depth 1, `{"a": [1]}` is depth 2, and a value nests
 * deeper than `limit` when some path through it passes more than `limit`
 * objects or arrays, the value itself included.
 *
 * It walks with a stack of its own, never by recursion, and stops at the first
 * container past the limit: a value nested 1,000,000 levels deep costs
 * `limit` steps and cannot overflow the call stack. It reads what
 * JSON.stringify would (array items, an object's own enumerable values), so a
 * cycle counts as nesting without end and answers true. Pure; no Node module.
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (limit < 1) return true;
  // Containers still to read, each with its level (the value itself is level 1).
  const nodes: object[] = [value];
  const levels: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop() as object;
    const level = levels.pop() as number;
    const members: readonly unknown[] = Array.isArray(node) ? node : Object.values(node);
    for (const member of members) {
      if (typeof member !== 'object' || member === null) continue;
      if (level >= limit) return true; // the member would be level + 1
      nodes.push(member);
      levels.push(level + 1);
    }
  }
  return false;
}
