/** The ranking of pool tags by growth lives with the rest of the hunt's reasoning: src/evidence/ranking.ts. */
export * from '../../src/evidence/ranking.js';
