# The PyDevice tutorial with tsdev: run from this directory with
#   SIM_PORT=<port of simulator.ts> deno task softioc st.cmd
# Modules resolve relative to this file; their exports become global.
tsdevImport("./mydevice.ts")
tsdevImport("./analysis.ts")
tsdev("var device1 = new MyDevice('127.0.0.1', $(SIM_PORT=4011))")
tsdev("var myarray = []")
dbLoadRecords("tutorial.db")
iocInit
