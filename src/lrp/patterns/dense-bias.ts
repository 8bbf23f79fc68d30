/**
 * `MatMul(x, W) → Add(·, b)` with a constant 2-D W and a constant bias along the last axis, where the
 * canonizer could not make a Gemm of it (x of rank > 2 with a dynamic inner dimension, e.g. the
 * sequence-first [T, B, E] of an attention block): one dense layer with its bias, so a rule's
 * denominator z = Wx + b includes the bias as it does for nn.Linear. Stand-in `xai.tools:Dense(x, W, b)`.
 */
import type { Node } from '../../onnx/ir.js';
import { MARKER_DOMAIN } from '../canonize/types.js';
import type { Group, PatternPass } from './types.js';

export const denseBiasPass: PatternPass = {
  name: 'dense-bias',
  find(ctx, claimed) {
    const groups: Group[] = [];
    for (const matmul of ctx.graph.nodes) {
      if (matmul.opType !== 'MatMul' || matmul.domain !== '' || claimed.has(matmul)) continue;
      const [x, w] = matmul.inputs as [string, string];
      const weight = ctx.constant(w);
      if (!ctx.dependent(x) || !weight || weight.dims.length !== 2 || !ctx.graph.initializers.has(w)) continue;
      const users = ctx.consumers(matmul.outputs[0]!);
      const add: Node | undefined = users.length === 1 && users[0]!.opType === 'Add' && users[0]!.domain === '' ? users[0] : undefined;
      const b = add?.inputs.find((i) => i !== matmul.outputs[0]);
      const bias = b ? ctx.constant(b) : undefined;
      if (!add || !b || !bias || !ctx.graph.initializers.has(b) || claimed.has(add)) continue;
      const out = weight.dims[1]!;
      if (bias.data.length !== out || bias.dims.at(-1) !== out) continue;
      groups.push({
        node: { name: `${matmul.name}/dense`, opType: 'Dense', domain: MARKER_DOMAIN, inputs: [x, w, b], outputs: [add.outputs[0]!], attributes: {} },
        members: [matmul, add],
      });
    }
    return groups;
  },
};
