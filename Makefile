# The two set-up commands of the README: `make run` and `make test`.
PRESET_TEST ?= ci
PRESET_RUN  ?= release
JOBS        ?= $(shell nproc)
ARGS        ?=

.PHONY: all run test lint lint-all build build-test bench deps-build deps-run deps-test api-docs web-app format clean

all: build

deps-build: api-docs web-app
	@scripts/install-deps.sh build

# The API reference's files (Swagger UI, npm, committed lockfile), embedded into the binary; install scripts
# are not run (the package's only one is a telemetry ping).
api-docs: docs/api-ui/node_modules/.package-lock.json
docs/api-ui/node_modules/.package-lock.json: docs/api-ui/package-lock.json
	@command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq npm >/dev/null)
	@cd docs/api-ui && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
# The web app (web/: TypeScript, Vite, npm with its committed lockfile, install scripts off), built into
# web/dist, which `netpraxis serve` serves when server.static_dir is not set.
web-app: web/dist/index.html
web/node_modules/.package-lock.json: web/package-lock.json
	@command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq npm >/dev/null)
	@cd web && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
web/dist/index.html: web/node_modules/.package-lock.json web/index.html web/vite.config.ts web/tsconfig.json \
		$(shell find web/src web/scripts -type f 2>/dev/null)
	@cd web && npm run --silent build >/dev/null
deps-run: deps-build
	@scripts/install-deps.sh run
deps-test: deps-build
	@scripts/install-deps.sh test

build/$(PRESET_RUN)/build.ninja: | deps-build
	@cmake --preset $(PRESET_RUN) >/dev/null
build/$(PRESET_TEST)/build.ninja: | deps-build
	@cmake --preset $(PRESET_TEST) >/dev/null

build: deps-build build/$(PRESET_RUN)/build.ninja
	@cmake --build build/$(PRESET_RUN) -j $(JOBS) --target netpraxis

# Builds and starts the server on the embedded defaults (SQLite in ./var, 127.0.0.1:8080, local labs).
run: deps-run build
	./build/$(PRESET_RUN)/src/cmd/netpraxis serve $(ARGS)

build-test: deps-test build/$(PRESET_TEST)/build.ninja
	@cmake --build build/$(PRESET_TEST) -j $(JOBS)

# Installs what is missing, builds, starts the services the tests need, and runs every test through CTest.
test: build-test
	@scripts/test.sh build/$(PRESET_TEST)

# clang-tidy (.clang-tidy) on the test build's compile database; fails on any finding. `lint`: the src/ files
# changed against LINT_BASE (default main; CI passes .ci/lint-base, the commit its last lint covered, since a
# clean clone of main compared with main checks nothing; all of src/ takes minutes); `lint-all`: all of src/.
LINT_BASE ?= main
lint: deps-test build/$(PRESET_TEST)/build.ninja
	@JOBS=$(JOBS) scripts/lint.sh build/$(PRESET_TEST) --changed $(LINT_BASE)
lint-all: deps-test build/$(PRESET_TEST)/build.ninja
	@JOBS=$(JOBS) scripts/lint.sh build/$(PRESET_TEST)

# Every benchmark, then one summary table (scripts/bench.sh); `make bench-NAME` runs one (api, api-ir, settle,
# store, eval, pve, lab, class, class-grade, web).
bench: deps-test build
	@scripts/bench.sh build/$(PRESET_RUN)
bench-%: deps-test build
	@scripts/bench.sh build/$(PRESET_RUN) $*

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf build
