/**
 * The PV Access server: UDP search responder with local multicast forwarding, beacons,
 * and TCP connections serving GET, PUT, MONITOR, GET_FIELD and RPC over the shared PV
 * model.
 * @module
 */
export * from "./server.ts";
export * from "./connection.ts";
export * from "./search.ts";
export * from "./server_pv.ts";
