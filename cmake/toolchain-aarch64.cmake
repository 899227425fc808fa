# Cross build for 64-bit Arm Linux (Raspberry Pi OS 64-bit, phones): Debian's
# g++-aarch64-linux-gnu. Only the runtime, its runner and its tests build here
# (EDGEOPT_BUILD_IMPORTERS=OFF: the toolkit's HDF5/libzip are not installed for arm64).
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake \
#         -DEDGEOPT_BUILD_IMPORTERS=OFF
# Binaries run here under qemu-user (CMAKE_CROSSCOMPILING_EMULATOR; ctest and GoogleTest
# discovery use it).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(EDGEOPT_CROSS_TRIPLE aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${EDGEOPT_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${EDGEOPT_CROSS_TRIPLE}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${EDGEOPT_CROSS_TRIPLE})
set(EDGEOPT_CROSS_QEMU qemu-aarch64)

include(${CMAKE_CURRENT_LIST_DIR}/CrossCommon.cmake)
