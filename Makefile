# moonstat - nightly analytics pipeline for the MoonSdk game SDK.
#
#   make            build bin/moonstat (and the test/data tools)
#   make test       install missing Debian packages, build, run the whole suite
#   make demo       install missing packages, build, generate sample data, run the nightly job
#   make bench      the benchmark (tests/bench)
#   make install PREFIX=/usr/local DESTDIR=
#   make SANITIZE=1 an ASan+UBSan build (into build-asan/, bin-asan/)
#   make WERROR=1   warnings are errors (CI)

CC       ?= gcc
PREFIX   ?= /usr/local
DESTDIR  ?=
PKGS     := jansson zlib sqlite3 libcurl libpq gmp libcrypto libxxhash libdeflate
# Debian packages the build and the tests need (`make deps` installs the missing ones).
DEB_PKGS := gcc make pkg-config libjansson-dev zlib1g-dev libsqlite3-dev \
            libcurl4-openssl-dev libpq-dev libgmp-dev libssl-dev libcsv-dev libxxhash-dev \
            libdeflate-dev \
            libmariadb-dev tzdata sqlite3 python3 valgrind gzip strace

ifeq ($(SANITIZE),1)
BUILD    := build-asan
BIN      := bin-asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT      := -O1 -g
else
BUILD    := build
BIN      := bin
SANFLAGS :=
OPT      := -O2 -g
endif

WARN     := -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Wstrict-prototypes \
            -Wmissing-prototypes
ifeq ($(WERROR),1)
WARN     += -Werror
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS   ?= $(OPT)
ALL_CFLAGS  = -std=c17 -D_GNU_SOURCE $(WARN) $(SANFLAGS) -Ietl -Ireports $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)
LIBS        = $(PKG_LIBS) -lcsv -lpthread -lm

MAIN_SRC := etl/moonstat.c
LIB_SRC  := $(filter-out $(MAIN_SRC),$(wildcard etl/*.c reports/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/schemas_embedded.o
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC := $(wildcard tests/gen/*.c)
TOOL_BIN := $(TOOL_SRC:tests/gen/%.c=$(BIN)/%)

.PHONY: all deps test check demo bench install clean unit

all: $(BIN)/moonstat $(TOOL_BIN) $(UNIT_BIN) $(BUILD)/tests/killer.so

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# The list of migration files, rewritten only when it changes: a removed or
# renamed file then rebuilds the embedded schemas too (a file's absence
# alone changes no prerequisite's time).
SCHEMA_FILES := $(sort $(wildcard schemas/*/*.sql))
$(BUILD)/schemas.list: FORCE
	@mkdir -p $(dir $@)
	@echo '$(SCHEMA_FILES)' | cmp -s - $@ || echo '$(SCHEMA_FILES)' > $@

$(BUILD)/schemas_embedded.c: schemas/embed.sh $(SCHEMA_FILES) $(BUILD)/schemas.list
	@mkdir -p $(dir $@)
	sh schemas/embed.sh > $@.tmp && mv $@.tmp $@

$(BUILD)/schemas_embedded.o: $(BUILD)/schemas_embedded.c
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libmoonstat.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/moonstat: $(BUILD)/etl/moonstat.o $(BUILD)/libmoonstat.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BIN)/%: $(BUILD)/tests/gen/%.o $(BUILD)/libmoonstat.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libmoonstat.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# Failure injection for the end-to-end tests (LD_PRELOAD; see tests/e2e/killer.c).
$(BUILD)/tests/killer.so: tests/e2e/killer.c
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -D_GNU_SOURCE $(WARN) -O1 -g -fPIC -shared -o $@ $< -ldl

# Installs whatever Debian package is missing; a no-op when all are there.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "deps: run as root (or: sudo apt-get install$$missing)" >&2; exit 2; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

test: deps
	$(MAKE) all
	SANITIZE=$(SANITIZE) BIN=$(BIN) BUILD=$(BUILD) tests/run.sh

check: test

demo: deps
	$(MAKE) all
	BIN=$(BIN) tests/demo.sh

bench: deps
	$(MAKE) all
	BIN=$(BIN) tests/bench/run.sh

install: $(BIN)/moonstat
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/moonstat/schemas/sqlite \
	  $(DESTDIR)$(PREFIX)/share/moonstat/cron
	install -m 0755 $(BIN)/moonstat $(DESTDIR)$(PREFIX)/bin/moonstat
	install -m 0644 schemas/sqlite/*.sql $(DESTDIR)$(PREFIX)/share/moonstat/schemas/sqlite/
	install -m 0755 cron/moonstat-cron $(DESTDIR)$(PREFIX)/bin/moonstat-cron
	install -m 0644 cron/moonstat.crontab $(DESTDIR)$(PREFIX)/share/moonstat/cron/

clean:
	rm -rf build build-asan bin bin-asan

-include $(LIB_OBJ:.o=.d) $(BUILD)/etl/moonstat.d $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%.d) \
         $(TOOL_SRC:tests/gen/%.c=$(BUILD)/tests/gen/%.d)

# ---- BEGIN tests/fuzz + tests/bench (event parser fast path) ----------------
# test_fuzz_event_parser: the differential fuzz test of the event parser (fast
# path vs. jansson), run by tests/run.sh with the unit tests
# (MOONSTAT_FUZZ_ITERATIONS overrides its 200000 iterations).
# parse_bench: run by hand, $(BUILD)/tests/parse_bench FILE.jsonl
PARSER_TEST_BIN := $(BUILD)/tests/test_fuzz_event_parser $(BUILD)/tests/parse_bench

all: $(PARSER_TEST_BIN)

$(BUILD)/tests/test_fuzz_event_parser: $(BUILD)/tests/fuzz/fuzz_event_parser.o $(BUILD)/libmoonstat.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/parse_bench: $(BUILD)/tests/bench/parse_bench.o $(BUILD)/libmoonstat.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

-include $(BUILD)/tests/fuzz/fuzz_event_parser.d $(BUILD)/tests/bench/parse_bench.d
# ---- END tests/fuzz + tests/bench -------------------------------------------

FORCE:
