# Shared by cmake/toolchain-*.cmake, which set EDGEOPT_CROSS_TRIPLE and EDGEOPT_CROSS_QEMU.
# Debian multiarch cross setup: target libraries come from /usr/<triple> (the cross libc and
# libstdc++); headers may also come from /usr/include (arch-independent ones such as the
# flatbuffers headers, which the cross g++ searches last); programs (flatc) are the host's.
set(CMAKE_FIND_ROOT_PATH /usr/${EDGEOPT_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Target binaries run here under qemu-user with the target's libc (package qemu-user): ctest and
# GoogleTest discovery prefix their commands with this.
set(CMAKE_CROSSCOMPILING_EMULATOR ${EDGEOPT_CROSS_QEMU} -L /usr/${EDGEOPT_CROSS_TRIPLE})
