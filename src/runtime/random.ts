/**
 * The process's source of randomness in [0, 1), for code that takes one injected (the pure and
 * scheduling layers never call Math.random themselves, so tests can fix it).
 */
export const systemRandom: () => number = Math.random;
