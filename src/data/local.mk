# data: files are added here
libnetspec_a_SOURCES += \
	src/data/dataset.c src/data/dataset.h \
	src/data/data_error.c src/data/data_error.h \
	src/data/data_idx.c src/data/data_idx.h \
	src/data/data_csv.c src/data/data_csv.h \
	src/data/data_folder.c src/data/data_folder.h \
	src/data/data_split.c src/data/data_split.h \
	src/data/data_prep.c src/data/data_prep.h \
	src/data/data_load.c src/data/data_load.h
# stb_image's decoders, in an archive of their own to be compiled with their locals zeroed
# (src/data/data_stb.c); linked after libnetspec.a.
noinst_LIBRARIES += libnetspec_stb.a
libnetspec_stb_a_CFLAGS = $(AM_CFLAGS) $(STB_ZERO_CFLAGS)
libnetspec_stb_a_SOURCES = src/data/data_stb.c src/data/data_stb.h
