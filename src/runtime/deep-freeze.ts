/**
 * Freezes a value and everything it holds, so that a value shared between readers (a parsed job
 * document, a rendered answer) cannot be changed by one of them under the others. A part already
 * frozen is taken as frozen through (it was frozen here: nothing else in cronmesh freezes).
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return value;
  for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}
