# edgeopt — the two commands:
#   make demo   installs what it needs (apt-get), builds, runs the main job on Fashion-MNIST
#   make test   installs what it needs, builds, runs every test
# Other targets: build, asan (sanitizer build + tests), sweep (full robustness sweep),
# fuzz (libFuzzer target for the model loader), bench, cross (aarch64/armhf builds), clean.

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
CMAKE_FLAGS ?=

.PHONY: all setup build test demo asan sweep fuzz bench cross clean format

all: build

setup:
	@sh scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900

demo: build
	@sh scripts/demo.sh

asan: setup
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDGEOPT_SANITIZE_ADDRESS=ON \
	  -DEDGEOPT_SANITIZE_UNDEFINED=ON -DEDGEOPT_BUILD_BENCH=OFF >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ctest --output-on-failure -j $(JOBS) --timeout 1800

bench: build
	@sh scripts/bench.sh

clean:
	rm -rf build build-asan build-fuzz build-aarch64 build-armhf

format:
	@find src tools tests bench fuzz include -name '*.cc' -o -name '*.h' | xargs clang-format -i
