import assert from "node:assert/strict";
import { castDouble, type IntegerDbf } from "./_cast.ts";

Deno.test({ permissions: "none", name: "castDouble: base's double to integer casts" }, () => {
  // dbgf of records reading an ao through a DB link in softIoc 7.0.8.1 (x86-64): longin
  // (LONG), mbbiDirect (ULONG, shown as its LONG VAL here as unsigned), int64in (INT64),
  // a waveform of SHORT, bo (USHORT, its RVAL).
  const rows: [number, number, number, number, number, number][] = [
    // value, LONG, ULONG, INT64, SHORT, USHORT
    [1e12, -2147483648, 3567587328, 1e12, 0, 0],
    [-1e12, -2147483648, 727379968, -1e12, 0, 0],
    [NaN, -2147483648, 0, -(2 ** 63), 0, 0],
    [70000, 70000, 70000, 70000, 4464, 4464],
    [-1, -1, 4294967295, -1, -1, 65535],
    [4e9, -2147483648, 4e9, 4e9, 0, 0],
    [1e19, -2147483648, 0, -(2 ** 63), 0, 0],
    [-2.7, -2, 4294967294, -2, -2, 65534],
    [3.9e9, -2147483648, 3.9e9, 3.9e9, 0, 0],
  ];
  const types: IntegerDbf[] = ["LONG", "ULONG", "INT64", "SHORT", "USHORT"];
  for (const [v, ...want] of rows) {
    assert.deepStrictEqual(types.map((t) => castDouble(v, t)), want, String(v));
  }
  assert.deepStrictEqual(
    [castDouble(300, "UCHAR"), castDouble(200, "CHAR"), castDouble(-0.5, "ULONG")],
    [44, -56, 0],
  );
});
