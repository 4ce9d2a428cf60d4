# pici — build, test, install. `make demo` and `make test` are the README's quick start.
PREFIX ?= /usr/local
BINDIR = $(DESTDIR)$(PREFIX)/bin
MANDIR = $(DESTDIR)$(PREFIX)/share/man
TOOLS = pici-list pici-group pici-stage pici-publish pici-run pici-status
SCRIPTS = bin/pici bin/pici-monitor
MAN1 = $(wildcard man/*.1)
MAN5 = $(wildcard man/*.5)
MAN7 = $(wildcard man/*.7)
RELEASE = .build/release
SWIFT_RELEASE = swift build -c release --static-swift-stdlib -Xswiftc -static-executable -Xswiftc -gnone

.PHONY: all build debug test unit chaos install-check lint conformance demo install uninstall bench clean

all: build

# Release binaries, statically linked against the Swift runtime so each starts in ~2 ms.
build:
	$(SWIFT_RELEASE)

debug:
	swift build

# The whole suite: what .ci/run calls.
test: lint conformance chaos install-check unit

# kill -9 at random points of 200 monitor passes; nothing lost, nothing said twice.
chaos:
	swift build
	Tests/chaos/kill9 200

unit:
	scripts/test.sh

lint:
	shellcheck bin/* Tests/Support/bin/zmx Tests/chaos/kill9 bench/monitor bench/canned-fixture.sh bench/versus-seed bench/hosts bench/history bench/tail-fidelity bench/follow-start bench/spawn-bound bench/budget scripts/*.sh examples/*.sh examples/*/pico.sh examples/git/post-receive
	mandoc -Tlint -Wwarning man/*.[157]

conformance:
	@if [ -x ../shared/tools/zmx-conformance ]; then \
		../shared/tools/zmx-conformance $(CURDIR)/Tests/Support/bin/zmx; \
	else echo "conformance: ../shared/tools/zmx-conformance not here, skipped"; fi

demo: build
	scripts/demo.sh

bench: build
	bench/monitor

install: build
	install -d $(BINDIR) $(MANDIR)/man1 $(MANDIR)/man5 $(MANDIR)/man7
	for t in $(TOOLS); do install -m 755 -s $(RELEASE)/$$t $(BINDIR)/$$t; done
	install -m 755 $(SCRIPTS) $(BINDIR)/
	install -m 644 $(MAN1) $(MANDIR)/man1/
	install -m 644 $(MAN5) $(MANDIR)/man5/
	$(if $(MAN7),install -m 644 $(MAN7) $(MANDIR)/man7/)

uninstall:
	for t in $(TOOLS) $(notdir $(SCRIPTS)); do rm -f $(BINDIR)/$$t; done
	for m in $(notdir $(MAN1)); do rm -f $(MANDIR)/man1/$$m; done
	for m in $(notdir $(MAN5)); do rm -f $(MANDIR)/man5/$$m; done
	for m in $(notdir $(MAN7)); do rm -f $(MANDIR)/man7/$$m; done

# make install into a scratch prefix, run what it installed, and make uninstall leave nothing.
install-check:
	scripts/install-check.sh

clean:
	rm -rf .build
