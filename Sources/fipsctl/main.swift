import FIPSCrypto
print(try FIPSModule.load())
