# The two commands of the README, and a few more for developers.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps build test demo package asan fuzz valgrind format \
	format-check bench clean

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) \
	    --repeat until-pass:2

demo: build
	deploy/demo.sh $(BUILD)

# The Debian package, from the build folder: $(BUILD)/itl-recovery_*.deb
package: build
	cd $(BUILD) && cpack -G DEB

asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DITL_SANITIZE=ON \
	    >/dev/null
	@cmake --build build-asan -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan \
	    --repeat until-pass:2 --output-on-failure -j $(JOBS)

FUZZ_SECONDS ?= 60
fuzz: deps
	@CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DITL_FUZZ=ON \
	    >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

valgrind: build
	tests/valgrind.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

bench: build
	bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-asan build-fuzz
