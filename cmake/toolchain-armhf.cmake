# Cross build for 32-bit Arm Linux with NEON (Raspberry Pi OS 32-bit, armv7-a hard-float):
# Debian's g++-arm-linux-gnueabihf. Only the runtime, its runner and its tests build here
# (EDGEOPT_BUILD_IMPORTERS=OFF: the toolkit's HDF5/libzip are not installed for armhf).
#   cmake -S . -B build-armhf -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-armhf.cmake \
#         -DEDGEOPT_BUILD_IMPORTERS=OFF
# Binaries run here under qemu-user (CMAKE_CROSSCOMPILING_EMULATOR; ctest and GoogleTest
# discovery use it).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(EDGEOPT_CROSS_TRIPLE arm-linux-gnueabihf)

set(CMAKE_C_COMPILER ${EDGEOPT_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${EDGEOPT_CROSS_TRIPLE}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${EDGEOPT_CROSS_TRIPLE})
set(EDGEOPT_CROSS_QEMU qemu-arm)
# Every file, not only the NEON microkernels: Debian's armhf default is armv7-a + VFPv3-D16
# without NEON. neon-vfpv4 (fused multiply-add) is what a Raspberry Pi 2 and later have.
set(CMAKE_C_FLAGS_INIT "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard")
# -Wno-psabi: silences GCC's notes that passing some structs by value changed in GCC 7.1
# (nothing here links code from older compilers).
set(CMAKE_CXX_FLAGS_INIT "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard -Wno-psabi")

include(${CMAKE_CURRENT_LIST_DIR}/CrossCommon.cmake)
