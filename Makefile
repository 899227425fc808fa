# edgeopt — the two commands:
#   make demo   installs what it needs (apt-get), builds, runs the main job on Fashion-MNIST
#   make test   installs what it needs, builds, runs every test
# Other targets: build, asan (sanitizer build + tests), sweep (full robustness sweep),
# fuzz, fuzz-parsers, fuzz-keras, fuzz-tflm (libFuzzer targets), bench, cross (aarch64/armhf builds),
# runtime-for MODEL=m.tflite (a runtime with only that model's kernels), clean.

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
CMAKE_FLAGS ?=

.PHONY: all setup build build-san test demo asan sweep sweep-sample fuzz fuzz-parsers fuzz-keras fuzz-tflm fuzz-configure bench bench-corpus runtime-size cross \
  cross-aarch64 cross-armhf cross-test runtime-for clean format

all: build

setup:
	@sh scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# runtime-size: the whole runtime built for size must stay within its 600 KB (600,000-byte)
# budget (it had slipped past it unnoticed twice); about a minute.
test: build sweep-sample cross-test runtime-size
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900

# Cross builds of the runtime, its runner (edgeopt_run_min) and its kernel tests
# (runtime_tests_min) for 64-bit Arm (aarch64) and 32-bit Arm (armhf: armv7-a, NEON, hard
# float), with Debian's cross compilers; no toolkit (its HDF5 are host-only).
CROSS_FLAGS = -DCMAKE_BUILD_TYPE=Release -DEDGEOPT_BUILD_IMPORTERS=OFF -DEDGEOPT_BUILD_CLI=OFF \
  -DEDGEOPT_BUILD_BENCH=OFF -DEDGEOPT_BUILD_TESTS=ON
CROSS_ARCHS ?= aarch64 armhf
cross: $(addprefix cross-,$(CROSS_ARCHS))
cross-aarch64 cross-armhf: cross-%: setup
	@cmake -S . -B build-$* --no-warn-unused-cli -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-$*.cmake \
	  $(CROSS_FLAGS) >/dev/null
	@cmake --build build-$* -j $(JOBS) --target edgeopt_run_min runtime_tests_min

# Both cross builds under qemu-user, side by side (one core each; outputs shown in turn): kernel
# tests and a conformance subset
# (scripts/cross_test.sh; CROSS_TEST_FILTER=gtest-filter narrows the kernel tests,
# CROSS_ARCHS=aarch64 keeps one architecture).
cross-test: cross
	@for a in $(CROSS_ARCHS); do \
	  (sh scripts/cross_test.sh $$a >build-$$a/cross_test.out 2>&1; echo $$? >build-$$a/cross_test.rc) & \
	done; wait; \
	rc=0; for a in $(CROSS_ARCHS); do \
	  cat build-$$a/cross_test.out; [ "$$(cat build-$$a/cross_test.rc)" = 0 ] || rc=1; \
	done; exit $$rc

# The runtime alone under AddressSanitizer + UBSan, for the robustness sweep.
SAN_FLAGS = -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDGEOPT_SANITIZE_ADDRESS=ON \
  -DEDGEOPT_SANITIZE_UNDEFINED=ON -DEDGEOPT_BUILD_IMPORTERS=OFF -DEDGEOPT_BUILD_TESTS=OFF \
  -DEDGEOPT_BUILD_BENCH=OFF
build-san: setup
	@cmake -S . -B build-san $(SAN_FLAGS) >/dev/null
	@cmake --build build-san -j $(JOBS) --target edgeopt_sweep

# A sample of the sweep (in make test): every corpus model, 8 truncations + 40 flips.
sweep-sample: build-san
	@ASAN_OPTIONS=detect_leaks=1 build-san/edgeopt_sweep --truncations 8 --flips 40 ../shared/corpus \
	  tests/data/fuzz_regressions tests/data/fuzz_seeds/tflite

# The full sweep: every corpus model truncated at 64 points and with 1,000 random byte flips.
sweep: build-san
	@ASAN_OPTIONS=detect_leaks=1 build-san/edgeopt_sweep --truncations 64 --flips 1000 ../shared/corpus \
	  tests/data/fuzz_regressions tests/data/fuzz_seeds/tflite

# libFuzzer on the model loader (clang), seeded with the corpus; FUZZ_SECONDS=600 by default.
FUZZ_SECONDS ?= 600
fuzz: fuzz-configure
	@cmake --build build-fuzz -j $(JOBS) --target model_loader_fuzz
	@mkdir -p build-fuzz/corpus && find ../shared/corpus -name '*.tflite' -size -600k \
	  -exec cp {} build-fuzz/corpus/ \; && cp tests/data/fuzz_regressions/*.tflite \
	  tests/data/fuzz_seeds/tflite/*.tflite build-fuzz/corpus/
	@build-fuzz/model_loader_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=700000 -timeout=20 \
	  -rss_limit_mb=4096 build-fuzz/corpus

# The clang build with ASan + UBSan that the fuzz targets use.
fuzz-configure:
	@sh scripts/setup.sh --fuzz
	@CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DEDGEOPT_FUZZ=ON -DEDGEOPT_SANITIZE_ADDRESS=ON -DEDGEOPT_SANITIZE_UNDEFINED=ON \
	  -DEDGEOPT_BUILD_IMPORTERS=ON -DEDGEOPT_BUILD_TESTS=OFF -DEDGEOPT_BUILD_BENCH=OFF >/dev/null

# libFuzzer on the Keras model config importer (fuzz/keras_config_fuzz.cc): JSON to model, IR,
# export pipeline, .tflite and the runtime; seeded from tests/data/fuzz_seeds/keras_config.
# A 60 s timeout: a recurrent layer of a few hundred units is a legal config whose Orthogonal
# initializer (a QR of its [3n, n] kernel, under ASan + UBSan + coverage) takes 10-20 s.
fuzz-keras: fuzz-configure
	@cmake --build build-fuzz -j $(JOBS) --target keras_config_fuzz
	@mkdir -p build-fuzz/keras_corpus && cp tests/data/fuzz_seeds/keras_config/* build-fuzz/keras_corpus/
	@build-fuzz/keras_config_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=60 \
	  -rss_limit_mb=4096 -dict=fuzz/keras_config.dict build-fuzz/keras_corpus

# libFuzzer on `edgeopt export-c` (fuzz/tflm_export_fuzz.cc): the TFLM analysis and LUT
# compression, the runtime on the compressed result; seeded like `make fuzz`.
fuzz-tflm: fuzz-configure
	@cmake --build build-fuzz -j $(JOBS) --target tflm_export_fuzz
	@mkdir -p build-fuzz/tflm_corpus && find ../shared/corpus -name '*.tflite' -size -600k \
	  -exec cp {} build-fuzz/tflm_corpus/ \; && cp tests/data/fuzz_regressions/*.tflite \
	  tests/data/fuzz_seeds/tflite/*.tflite build-fuzz/tflm_corpus/
	@build-fuzz/tflm_export_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=700000 -timeout=20 \
	  -rss_limit_mb=4096 build-fuzz/tflm_corpus

# libFuzzer on the .npy, IDX and zip parsers (fuzz/parsers_fuzz.cc), seeded from
# tests/data/fuzz_seeds/parsers; FUZZ_SECONDS as above.
fuzz-parsers: fuzz-configure
	@cmake --build build-fuzz -j $(JOBS) --target parsers_fuzz
	@mkdir -p build-fuzz/parsers_corpus && cp tests/data/fuzz_seeds/parsers/* build-fuzz/parsers_corpus/
	@build-fuzz/parsers_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=20 \
	  -rss_limit_mb=4096 build-fuzz/parsers_corpus

demo: build
	@sh scripts/demo.sh

asan: setup
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDGEOPT_SANITIZE_ADDRESS=ON \
	  -DEDGEOPT_SANITIZE_UNDEFINED=ON -DEDGEOPT_BUILD_BENCH=OFF >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ctest --output-on-failure -j $(JOBS) --timeout 1800

bench: build
	@sh scripts/bench.sh

# Every .tflite of the corpus against TFLite, one thread (THREADS="1 2" for both).
bench-corpus: build
	@CONV_BENCH=0 THREADS="$${THREADS:-1}" sh scripts/bench.sh --corpus

# The whole runtime built for size (build-size/edgeopt_run_min): its stripped size against the
# 600 KB (600,000-byte) budget, conformance on the corpus, invoke times beside the default build's.
runtime-size: build
	@sh scripts/runtime_size.sh

# A selective runtime runner with only MODEL's ops (build-select/edgeopt_run_min), its stripped
# size against the full runner's, conformance on MODEL and the refusal of a left-out op.
runtime-for: build
	@sh scripts/runtime_for.sh "$(MODEL)"

clean:
	rm -rf build build-asan build-san build-fuzz build-aarch64 build-armhf build-select

format:
	@sh scripts/format.sh
