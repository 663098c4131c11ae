/**
 * Normative Types: builders and by-name readers for NTScalar, NTScalarArray, NTEnum,
 * NTNDArray and NTTable, and the mapping between them and the shared PV model.
 * @module
 */
export * from "./common.ts";
export * from "./scalar.ts";
export * from "./enum.ts";
export * from "./ndarray.ts";
export * from "./ndarray_fast.ts";
export * from "./table.ts";
export * from "./pv_map.ts";
