# softioc examples/ioc/st.cmd   (run from examples/ioc/)
epicsEnvSet("P", "demo:")
dbLoadRecords("sim.db", "P=$(P)")
iocInit
dbl
