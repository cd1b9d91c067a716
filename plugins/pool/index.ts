/**
 * The pool plugin: the procedure's pool steps — rank tags, PoolHitTag, stacks at each break,
 * retagging call sites, `!poolfind` — one provider per version or architecture where they differ.
 */
import { definePlugin } from '../../src/core/plugin.js';
import { poolErrors } from './errors.js';
import { collectStacksClassic, collectStacksSegmentHeap } from './collect-stacks.js';
import { findLegacy, findModern } from './find.js';
import { hitTag } from './hit-tag.js';
import { rankTags } from './rank-tags.js';
import { retagArm64, retagX64, retagX86 } from './retag-sites.js';

export default definePlugin({
  name: 'pool',
  version: '0.1.0',
  description: 'Pool leak steps: rank tags by growth, PoolHitTag, stacks at each break, retag call sites, !poolfind.',
  errors: poolErrors,
  steps: [rankTags, hitTag, collectStacksClassic, collectStacksSegmentHeap, retagX86, retagX64, retagArm64, findLegacy, findModern],
});
