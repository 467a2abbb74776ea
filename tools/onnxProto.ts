/**
 * A minimal writer for the subset of ONNX's protobuf schema (onnx.proto3)
 * that a small inference graph needs: one ModelProto holding one GraphProto
 * of nodes, initializers and typed inputs/outputs. Field numbers follow
 * onnx.proto; the output is deterministic for the same description.
 */

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;

/** ONNX TensorProto.DataType values this writer supports. */
export const onnxDataType = { float: 1, uint8: 2, int8: 3, int64: 7 } as const;
export type OnnxDataTypeName = keyof typeof onnxDataType;

/** ONNX AttributeProto.AttributeType values. */
const attributeType = { float: 1, int: 2, string: 3, ints: 7 } as const;

class ProtoWriter {
  private readonly chunks: number[] = [];

  bytes(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }

  private varint(value: bigint): void {
    // Negative int64 values are encoded as their 64-bit two's complement.
    let rest = BigInt.asUintN(64, value);
    while (rest >= 0x80n) {
      this.chunks.push(Number((rest & 0x7fn) | 0x80n));
      rest >>= 7n;
    }
    this.chunks.push(Number(rest));
  }

  private tag(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }

  int(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.varint(BigInt(value));
    return this;
  }

  raw(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.varint(BigInt(value.length));
    for (const byte of value) this.chunks.push(byte);
    return this;
  }

  string(field: number, value: string): this {
    return this.raw(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (writer: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.raw(field, inner.bytes());
  }

  float(field: number, value: number): this {
    this.tag(field, 5);
    const buffer = new DataView(new ArrayBuffer(4));
    buffer.setFloat32(0, value, true);
    for (let i = 0; i < 4; i++) this.chunks.push(buffer.getUint8(i));
    return this;
  }

  packedInts(field: number, values: readonly number[]): this {
    const inner = new ProtoWriter();
    for (const value of values) inner.varint(BigInt(value));
    return this.raw(field, inner.bytes());
  }
}

export type OnnxAttribute =
  | { name: string; int: number }
  | { name: string; float: number }
  | { name: string; string: string }
  | { name: string; ints: readonly number[] };

export interface OnnxNode {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name: string;
  attributes?: readonly OnnxAttribute[];
}

/** A constant tensor; `data` holds the little-endian bytes of the values. */
export interface OnnxInitializer {
  name: string;
  dataType: OnnxDataTypeName;
  dims: readonly number[];
  data: Uint8Array;
}

/** A dimension is a fixed size or a symbolic name such as "batch". */
export interface OnnxValueInfo {
  name: string;
  elemType: OnnxDataTypeName;
  shape: ReadonlyArray<number | string>;
}

export interface OnnxModel {
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  graphName: string;
  docString?: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxInitializer[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
}

function writeAttribute(writer: ProtoWriter, attribute: OnnxAttribute): void {
  writer.string(1, attribute.name);
  if ("int" in attribute) writer.int(3, attribute.int).int(20, attributeType.int);
  else if ("float" in attribute) writer.float(2, attribute.float).int(20, attributeType.float);
  else if ("string" in attribute) writer.string(4, attribute.string).int(20, attributeType.string);
  else writer.packedInts(8, attribute.ints).int(20, attributeType.ints);
}

function writeValueInfo(writer: ProtoWriter, info: OnnxValueInfo): void {
  writer.string(1, info.name);
  writer.message(2, (type) =>
    type.message(1, (tensorType) => {
      tensorType.int(1, onnxDataType[info.elemType]);
      tensorType.message(2, (shape) => {
        for (const dim of info.shape) {
          shape.message(1, (d) => (typeof dim === "number" ? d.int(1, dim) : d.string(2, dim)));
        }
      });
    }),
  );
}

/** Serialises a model to the bytes of an `.onnx` file. */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  const writer = new ProtoWriter();
  writer.int(1, model.irVersion);
  writer.string(2, model.producerName);
  if (model.docString) writer.string(6, model.docString);
  writer.message(7, (graph) => {
    for (const node of model.nodes) {
      graph.message(1, (n) => {
        for (const input of node.inputs) n.string(1, input);
        for (const output of node.outputs) n.string(2, output);
        n.string(3, node.name);
        n.string(4, node.opType);
        for (const attribute of node.attributes ?? []) n.message(5, (a) => writeAttribute(a, attribute));
      });
    }
    graph.string(2, model.graphName);
    for (const initializer of model.initializers) {
      graph.message(5, (t) => {
        t.packedInts(1, initializer.dims);
        t.int(2, onnxDataType[initializer.dataType]);
        t.string(8, initializer.name);
        t.raw(9, initializer.data);
      });
    }
    for (const input of model.inputs) graph.message(11, (v) => writeValueInfo(v, input));
    for (const output of model.outputs) graph.message(12, (v) => writeValueInfo(v, output));
  });
  writer.message(8, (opset) => opset.string(1, "").int(2, model.opsetVersion));
  return writer.bytes();
}
