import { foldConstantsInPlace } from '../../onnx/fold.js';
import type { CanonizePass } from './types.js';

/**
 * Folds constant subgraphs (weight transposes, casts, shape arithmetic) into initializers first, so
 * later passes see weights and biases as plain initializers.
 */
export const foldConstantsPass: CanonizePass = {
  name: 'fold-constants',
  run(model, options) {
    const names = foldConstantsInPlace(model, { inputShape: options.inputShape });
    return names.length > 0 ? [`folded ${names.length} constant node${names.length === 1 ? '' : 's'} into initializers (${abbreviate(names)})`] : [];
  },
};

function abbreviate(names: string[]): string {
  return names.length <= 6 ? names.join(', ') : `${names.slice(0, 6).join(', ')}, …`;
}
