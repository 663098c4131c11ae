# softioc examples/ioc/st_subs.cmd   (run from examples/ioc/): sim.db, and records whose
# sub/aSub SNAM names a function of subs.ts.
tsdevImport("./subs.ts")
epicsEnvSet("P", "demo:")
dbLoadRecords("sim.db", "P=$(P)")
dbLoadRecords("subs.db", "P=$(P)")
iocInit
