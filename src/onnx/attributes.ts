/**
 * Typed reads of ONNX node attributes with the operator's default, shared by the JS kernels, shape
 * inference and the relevance compiler (one place that knows how attributes are tagged).
 */
import type { Node } from './ir.js';

export function attrInt(node: Node, name: string, fallback: number): number {
  const a = node.attributes[name];
  return a?.type === 'int' ? a.value : fallback;
}

export function attrInts(node: Node, name: string): number[] | undefined {
  const a = node.attributes[name];
  return a?.type === 'ints' ? a.value : undefined;
}

export function attrFloat(node: Node, name: string, fallback: number): number {
  const a = node.attributes[name];
  return a?.type === 'float' ? a.value : fallback;
}

export function attrString(node: Node, name: string, fallback: string): string {
  const a = node.attributes[name];
  return a?.type === 'string' ? a.value : fallback;
}
