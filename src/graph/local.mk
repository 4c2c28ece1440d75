libnetspec_a_SOURCES += src/graph/graph.c src/graph/graph.h
