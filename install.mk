# make install / uninstall / deb (included by the Makefile).
#
# The layout under PREFIX is fixed, so that the binaries find each other without configuration:
# mitogend looks for agents beside itself and then in ../lib/mitogend (internal/layout), fakessh
# for mitogend beside itself. Only PREFIX and DESTDIR (a staging root) move it.
PREFIX   ?= /usr/local
DESTDIR  ?=
LIBDIR   := $(PREFIX)/lib/mitogend
MANDIR   := $(PREFIX)/share/man
DOCDIR   := $(PREFIX)/share/doc/mitogend
DEB_ARCH ?= $(shell dpkg --print-architecture 2>/dev/null || $(GO) env GOARCH)

# A Debian version must start with a digit: v1.2-3-gabc -> 1.2+3+gabc, abc1234-dirty -> 0~gitabc1234+dirty.
DEB_VERSION := $(shell echo '$(VERSION)' | sed -E -e '/^v?[0-9]+\./!s/^/0~git/' -e 's/^v//' -e 's/-/+/g')

install: build man
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR)/shim $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DOCDIR)
	install -m 0755 $(BIN)/fakessh $(BIN)/mitogend $(DESTDIR)$(PREFIX)/bin/
	for p in $(AGENTS); do \
		install -m 0644 $(BIN)/mitogen-agent.$$p $(BIN)/mitogen-agent.$$p.gz $(DESTDIR)$(LIBDIR)/ || exit 1; \
	done
	ln -sfn ../../../bin/fakessh $(DESTDIR)$(LIBDIR)/shim/ssh
	for m in fakessh mitogend; do \
		gzip -9 -n -c $(BIN)/man/$$m.1 >$(DESTDIR)$(MANDIR)/man1/$$m.1.gz || exit 1; \
	done
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/fakessh $(DESTDIR)$(PREFIX)/bin/mitogend
	rm -f $(DESTDIR)$(LIBDIR)/mitogen-agent.* $(DESTDIR)$(LIBDIR)/shim/ssh
	rm -f $(DESTDIR)$(MANDIR)/man1/fakessh.1.gz $(DESTDIR)$(MANDIR)/man1/mitogend.1.gz
	rm -f $(DESTDIR)$(DOCDIR)/README.md
	-rmdir $(DESTDIR)$(LIBDIR)/shim $(DESTDIR)$(LIBDIR) $(DESTDIR)$(DOCDIR) 2>/dev/null

# mitogend_VERSION_ARCH.deb in $(BIN), for `apt install ./mitogend_*.deb`: make install into a
# staging root under /usr, then dist/deb/build.sh (dpkg-deb) adds the package's metadata.
# DEB_ARCH=arm64 cross-builds; DEB_MAINTAINER="Name <mail>" names the maintainer.
deb:
	rm -rf $(BIN)/deb
	$(MAKE) install DESTDIR=$(abspath $(BIN))/deb/root PREFIX=/usr GOARCH=$(DEB_ARCH)
	dist/deb/build.sh $(BIN)/deb/root $(DEB_VERSION) $(DEB_ARCH) $(BIN)
