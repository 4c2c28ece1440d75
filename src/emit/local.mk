# emit: the standalone C classifier written from a trained model.
libnetspec_a_SOURCES += src/emit/emit.h src/emit/emit.c src/emit/emit_nsk.h
# The emitted C carries kernels/nsk.h verbatim: its bytes become a C array at build time
# (od and sed, both POSIX), read from $(srcdir) so out-of-tree and distcheck builds work.
nodist_libnetspec_a_SOURCES = src/emit/emit_nsk_text.c
BUILT_SOURCES += src/emit/emit_nsk_text.c
CLEANFILES += src/emit/emit_nsk_text.c
src/emit/emit_nsk_text.c: $(srcdir)/src/kernels/nsk.h $(srcdir)/src/emit/local.mk
	$(AM_V_GEN)$(MKDIR_P) src/emit && { \
	  echo '/* Generated from src/kernels/nsk.h by src/emit/local.mk; do not edit. */'; \
	  echo '#include "emit/emit_nsk.h"'; \
	  echo 'const char emit_nsk_text[] = {'; \
	  od -An -v -tx1 $(srcdir)/src/kernels/nsk.h | sed -e 's/[0-9a-f][0-9a-f]/0x&,/g'; \
	  echo '0x00};'; \
	} >$@.tmp && mv $@.tmp $@
