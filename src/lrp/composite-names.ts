/**
 * The names of the built-in composites, apart from their definitions (src/lrp/composites.ts) so the
 * command line can list them in --help without loading the rule engine. composites.ts is typed
 * against this list, so the two cannot drift apart.
 */
const NAMES = [
  'attn-lrp',
  'cp-lrp',
  'epsilon-gamma-box',
  'epsilon-plus',
  'epsilon-plus-flat',
  'epsilon-alpha2-beta1',
  'epsilon-alpha2-beta1-flat',
  'excitation-backprop',
  'guided-backprop',
  'deconvnet',
  'beta-smooth',
] as const;
export type CompositeName = (typeof NAMES)[number];
export const COMPOSITE_NAMES: string[] = [...NAMES];
